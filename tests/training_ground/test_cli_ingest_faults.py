"""`tg ingest` under faults: killed mid-run, run again, full disk, folders holding what is not a bag."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import episodes
from tests.collectors.bagfixtures import write_kuavo_bag
from tests.processes import descendants, wait_gone
from tg_config import load_profile

REPO = Path(__file__).resolve().parents[2]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"}


def _bags(folder: Path, count: int, duration_s: float = 4.0) -> list[Path]:
    """``count`` different small Kuavo bags (different seeds: different contents)."""
    folder.mkdir(parents=True, exist_ok=True)
    profile = load_profile("kuavo4pro")
    return [
        write_kuavo_bag(
            folder / f"take{i:02d}.bag", profile, duration_s=duration_s, camera_hz=10, size=(64, 48), seed=i
        ).path
        for i in range(count)
    ]


def _wait_for_episode(out: Path, proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if out.is_dir() and episodes.list_episodes(out):
            return
        assert proc.poll() is None, "tg ingest ended before its first episode"
        time.sleep(0.05)
    pytest.fail(f"no episode in {out} after {timeout_s} s")


def test_kill_9_of_ingest_ends_its_workers_and_nothing_is_written_after(tmp_path):
    _bags(tmp_path / "bags", 10)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "training_ground", "ingest", str(tmp_path / "bags")]
    proc = subprocess.Popen(
        [*command, "--profile", "kuavo4pro", "--out", str(out), "-j", "2"],
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_episode(out, proc, timeout_s=90)
        workers = descendants(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        written = set(episodes.list_episodes(out))
    finally:
        proc.kill()
    assert workers, "tg ingest -j 2 started no worker process"
    assert not wait_gone(workers, timeout_s=5), "worker processes outlived a kill -9 of tg ingest"
    time.sleep(0.5)
    assert set(episodes.list_episodes(out)) == written, "episodes appeared after tg ingest was killed"
    assert not list(out.glob("*.partial")), "the killed workers left partial episodes behind"
