"""Stand-ins for node processes in the process-management tests (run with ``python -m``)."""

from __future__ import annotations

import signal
import sys
import time

if __name__ == "__main__":
    # A test run started in a script's background inherits SIGINT ignored; rclpy installs its
    # own handler in the real nodes, so this stand-in does the same.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    mode = next((a.split(":=", 1)[1] for a in sys.argv if a.startswith("mode:=")), "")
    print(f"child started: {mode}", flush=True)
    if mode == "exit3":
        print("something went wrong here", flush=True)
        sys.exit(3)
    if mode == "stubborn":
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        while True:
            time.sleep(0.05)
    except KeyboardInterrupt:
        print("interrupted, closing cleanly", flush=True)
        sys.exit(0)
