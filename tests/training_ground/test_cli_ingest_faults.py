"""`tg ingest` under faults: killed mid-run, run again, full disk, folders holding what is not a bag."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import episodes
from tests.collectors.bagfixtures import write_kuavo_bag, write_walker_bag
from tests.processes import descendants, wait_gone
from tg_config import load_profile

REPO = Path(__file__).resolve().parents[2]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"}


def _bags(folder: Path, count: int, duration_s: float = 2.0) -> list[Path]:
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


def _ingest(bags: Path, out: Path, *extra: str, profile: str = "kuavo4pro") -> list[str]:
    return [
        sys.executable,
        "-m",
        "training_ground",
        "ingest",
        str(bags),
        "--profile",
        profile,
        "--out",
        str(out),
        *extra,
    ]


def _kill_9_after_first_episode(bags: Path, out: Path) -> tuple[set[int], set[Path]]:
    """Start `tg ingest -j 2`, kill -9 it once an episode is written: (its processes then, episodes then)."""
    proc = subprocess.Popen(
        _ingest(bags, out, "-j", "2"), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait_for_episode(out, proc, timeout_s=90)
        workers = descendants(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return workers, set(episodes.list_episodes(out))
    finally:
        proc.kill()


@pytest.fixture(scope="module")
def ten_bags(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("ten") / "bags"
    _bags(folder, 10)
    return folder


def test_kill_9_of_ingest_ends_its_workers_and_nothing_is_written_after(tmp_path, ten_bags):
    out = tmp_path / "out"
    workers, written = _kill_9_after_first_episode(ten_bags, out)
    assert workers, "tg ingest -j 2 started no worker process"
    assert not wait_gone(workers, timeout_s=5), "worker processes outlived a kill -9 of tg ingest"
    time.sleep(0.5)
    # A bag whose last episode was closing when the kill came removes it (all or nothing): fewer is fine.
    assert set(episodes.list_episodes(out)) <= written, "episodes appeared after tg ingest was killed"
    assert not list(out.glob("*.partial")), "the killed workers left partial episodes behind"


def test_an_interrupted_ingest_run_again_writes_each_bag_once(tmp_path, ten_bags):
    out = tmp_path / "out"
    workers, _ = _kill_9_after_first_episode(ten_bags, out)
    wait_gone(workers, timeout_s=5)
    before = len(episodes.list_episodes(out))
    again = subprocess.run(_ingest(ten_bags, out), env=_env(), capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"{10 - before} episode(s) written" in again.stdout
    # None kept when the killed bag's only episode was still closing (all or nothing): then none skipped.
    skipped = f"{before} bag(s) skipped, already ingested (--reingest ingests them again)"
    assert (skipped in again.stdout) == (before > 0), again.stdout
    sources = []
    for path in episodes.list_episodes(out):
        with episodes.open(path) as ep:
            sources.append(ep.metadata.extra["bag_name"])
    assert sorted(sources) == [f"take{i:02d}.bag" for i in range(10)]


def test_a_folder_names_each_path_it_skips_and_ingests_bare_mcap_files(tmp_path):
    profile = load_profile("walker_tienkung")
    bag = write_walker_bag(
        tmp_path / "w", profile, duration_s=0.5, status_hz=50, camera_hz=10, imu_hz=50
    ).path
    folder = tmp_path / "site"
    (folder / "interrupted").mkdir(parents=True)
    shutil.copy(bag / "w.mcap", folder / "interrupted" / "interrupted_0.mcap")
    shutil.copy(bag / "w.mcap", folder / "bare.mcap")
    (folder / "take.bag.active").write_bytes(b"#ROSBAG V2.0\n")
    command = _ingest(folder, tmp_path / "out", profile="walker_tienkung")
    result = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"skipped: {folder / 'interrupted'}: a ROS 2 bag directory without metadata.yaml" in result.stderr
    assert f"skipped: {folder / 'take.bag.active'}: a ROS 1 bag still being recorded" in result.stderr
    assert (
        "1 episode(s) written" in result.stdout and "2 path(s) skipped, not readable as bags" in result.stdout
    )
    (episode,) = episodes.list_episodes(tmp_path / "out")
    with episodes.open(episode) as ep:
        assert ep.metadata.extra["bag_name"] == "bare.mcap"
