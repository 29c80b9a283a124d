"""The process pool of validate and annotate: its workers end with the process that started them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.processes import descendants, wait_gone

REPO = Path(__file__).resolve().parents[2]

_POOL = """
import sys
from pathlib import Path
from episodes._qa._parallel import run_parallel
from tests.processes import slow_touch
paths = [Path(sys.argv[1]) / f"done{i:02d}" for i in range(40)]
run_parallel(slow_touch, paths, workers=2, on_result=None, on_crash=lambda p, why: p)
"""


def test_kill_9_of_the_parent_ends_the_pool_workers_and_their_work(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", _POOL, str(tmp_path)], env=env)
    try:
        deadline = time.monotonic() + 60
        while not list(tmp_path.iterdir()) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        workers = descendants(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        done = set(tmp_path.iterdir())
    finally:
        proc.kill()
    assert done, "no work item finished before the kill"
    assert workers, "run_parallel started no worker process"
    assert not wait_gone(workers, timeout_s=5), "pool workers outlived a kill -9 of their parent"
    time.sleep(0.5)
    assert set(tmp_path.iterdir()) == done, "work went on after the parent was killed"
