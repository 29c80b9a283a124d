"""The local executor's workers end with the process that started them (kill -9 too)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.processes import descendants, running, wait_gone

REPO = Path(__file__).resolve().parents[2]

_POOL = """
import sys
from pathlib import Path
from tests.processes import slow_touch
from tg_exec import LocalExecutor
paths = [Path(sys.argv[1]) / f"done{i:02d}" for i in range(40)]
with LocalExecutor(2) as run:
    run.map(slow_touch, paths, on_failure=lambda p, why: p)
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
    assert workers, "the executor started no worker process"
    assert not wait_gone(workers, timeout_s=5), "pool workers outlived a kill -9 of their parent"
    time.sleep(0.5)
    assert set(tmp_path.iterdir()) == done, "work went on after the parent was killed"


_FALLBACK = """
import multiprocessing, os, sys, time
from tests.processes import watch_parent_without_prctl
if __name__ == "__main__":
    spawn = multiprocessing.get_context("spawn")
    child = spawn.Process(target=watch_parent_without_prctl, args=(os.getpid(),))
    child.start()
    print(child.pid, flush=True)
    time.sleep(120)
"""


def test_without_prctl_a_thread_ends_the_worker_with_its_parent(tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(_FALLBACK, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        child = int(proc.stdout.readline())
        time.sleep(1.0)  # the child is up and watching
        assert running({child}), "the child ended before its parent"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        proc.kill()
    assert not wait_gone({child}, timeout_s=5), "the child outlived its parent"
