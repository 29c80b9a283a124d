"""A single-process `tg ingest` killed with SIGKILL (issue 13, faults brief item 5): it cannot remove
the partial episode it was writing; the next run removes it (and any episodes of the same bag it
had finished) and ingests that bag again, so each bag is written once and whole."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import episodes
from collectors import ingest_bags, interrupted_ingests
from collectors._resume import ingesting
from tests.collectors.bagfixtures import write_kuavo_bag
from tests.disks import CRASH_MARKS, REPO, read_only
from tg_config import load_profile
from training_ground.cli import app


@pytest.fixture(scope="module")
def bags(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("killed") / "bags"
    folder.mkdir()
    profile = load_profile("kuavo4pro")
    for i in range(3):
        write_kuavo_bag(folder / f"take{i}.bag", profile, duration_s=2.0, camera_hz=10, size=(64, 48), seed=i)
    return folder


def _ingest(bags: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "training_ground", "ingest", str(bags), "--profile", "kuavo4pro",
            "--out", str(out), "--workers", "1"]  # fmt: skip


def _kill_while_writing(bags: Path, out: Path) -> Path:
    """Start `tg ingest` (one process) and kill -9 it while a partial episode is on disk; that partial."""
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    proc = subprocess.Popen(
        _ingest(bags, out),
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            partials = list(out.glob("*.h5.partial")) if out.is_dir() else []
            # After the first finished episode, so the kill lands mid-run, not at its start.
            if partials and episodes.list_episodes(out):
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=30)
                return partials[0]
            time.sleep(0.005)
        pytest.fail("tg ingest ended (or ran past 120 s) before a partial episode was seen")
    finally:
        proc.kill()
        proc.wait(timeout=30)


def test_a_rerun_removes_the_partial_of_a_killed_ingest_and_writes_each_bag_once(
    bags: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    partial = _kill_while_writing(bags, out)
    assert partial.exists(), "a single-process ingest killed with SIGKILL leaves its partial episode"
    (left,) = interrupted_ingests(out)
    assert left.partials == (partial,) and left.bag_name.startswith("take")
    again = subprocess.run(
        _ingest(bags, out), env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "COLUMNS": "2000"},
        capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    output = again.stdout + again.stderr
    assert again.returncode == 0 and not [m for m in CRASH_MARKS if m in output], output
    assert f"{left.bag_name}: its ingest into {out} was killed; removed {partial.name}" in output, output
    assert not list(out.glob("*.partial")) and not list(out.glob(".*"))
    sources = []
    for path in episodes.list_episodes(out):
        with episodes.open(path) as ep:
            sources.append(ep.metadata.extra["bag_name"])
    assert sorted(sources) == ["take0.bag", "take1.bag", "take2.bag"]


def test_a_bag_being_ingested_now_is_left_alone(tmp_path: Path) -> None:
    bag = tmp_path / "take.bag"
    partial = tmp_path / "01ABC.h5.partial"
    with ingesting(tmp_path, bag, "sha256-ends:x") as started:
        started(partial)
        partial.write_bytes(b"")
        assert interrupted_ingests(tmp_path) == [], "this process, alive, still ingests it"
        summary = ingest_bags([], load_profile("kuavo4pro"), tmp_path)
        assert summary.cleaned == () and partial.exists()
    assert not list(tmp_path.glob(".ingesting-*")), "the marker goes with the bag"


def test_ingest_into_a_read_only_directory_is_one_line_per_bag(bags: Path, tmp_path: Path) -> None:
    out = tmp_path / "ro"
    out.mkdir()
    bag = sorted(bags.glob("*.bag"))[0]
    with read_only(out):
        summary = ingest_bags([bag], load_profile("kuavo4pro"), out)
        (failure,) = summary.failures
        assert failure.reason.startswith(
            f"{out}: not writable (Read-only file system) while starting to ingest"
        )
        assert "nothing of the bag was written" in failure.reason
        result = CliRunner().invoke(
            app, ["ingest", str(bag), "--profile", "kuavo4pro", "--out", str(out / "new")]
        )
    assert result.exit_code == 1 and isinstance(result.exception, episodes.EpisodeWriteError), result.output
    assert str(result.exception).startswith(
        f"{out / 'new'}: not writable (Read-only file system) while preparing --out"
    )
