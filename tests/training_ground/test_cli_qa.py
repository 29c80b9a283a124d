"""`tg validate` and `tg annotate` over real files: tables, reports, exit codes."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import h5py
import pytest
from typer.testing import CliRunner

import episodes
from episodes._journal import lock_updates
from episodes._qa import _parallel
from sim_envs import record_synthetic_episode
from tg_config import load_session
from training_ground.cli import app

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture(scope="module")
def clean_dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("qa") / "pick"
    run = load_session(REPO / "launch/sim_pick_place.yaml").model_copy(update={"out": str(out)}).resolve()
    record_synthetic_episode(run, duration_s=2.5, seed=3, success=True)
    record_synthetic_episode(run, duration_s=2.0, seed=4, success=False)
    return out


@pytest.fixture
def dataset(clean_dataset, tmp_path) -> Path:
    """A copy the test may change."""
    out = tmp_path / "pick"
    out.mkdir()
    for path in episodes.list_episodes(clean_dataset):
        (out / path.name).write_bytes(path.read_bytes())
    return out


def tg(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "training_ground", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_help_shows_both_verbs_with_examples():
    for verb in ("validate", "annotate"):
        result = runner.invoke(app, [verb, "--help"])
        assert result.exit_code == 0 and "Example: tg" in result.output
    assert "--html" in runner.invoke(app, ["validate", "--help"]).output


def test_validate_a_clean_dataset_exits_0_and_changes_nothing(dataset, tmp_path):
    before = {p.name: p.read_bytes() for p in dataset.iterdir()}
    report = tmp_path / "qa.json"
    result = runner.invoke(app, ["validate", str(dataset), "--json", str(report), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "2 episode(s): 2 passed, 0 failed; 0 error(s), 0 warning(s)" in result.output
    data = json.loads(report.read_text())
    assert set(data["checks"]) == set(episodes.CHECKS) and [e["passed"] for e in data["episodes"]] == [
        True,
        True,
    ]
    assert {p.name: p.read_bytes() for p in dataset.iterdir()} == before


def test_validate_failing_episodes_exit_1_with_a_report_and_write(dataset, tmp_path):
    bad = episodes.list_episodes(dataset)[0]
    with h5py.File(bad, "r+") as f:
        f.attrs["status"] = "aborted"
        f["streams/imu/data"][5, 0] = float("nan")
    html = tmp_path / "qa.html"
    result = tg("validate", str(dataset), "--html", str(html), "--write", "--workers", "2")
    assert result.returncode == 1, result.stderr
    assert (
        "FAIL" in result.stdout
        and "episode.status x1" in result.stdout
        and "value.nonfinite x1" in result.stdout
    )
    assert f"HTML report: {html.resolve()}" in result.stdout
    page = html.read_text()
    assert page.count("<svg") == 1 and "data:image/jpeg;base64," in page and "value.nonfinite" in page
    assert "recorded the result in 2 episode(s)" in result.stdout
    assert [f.check for f in episodes.read_qa(bad)] == ["episode.status", "value.nonfinite"]
    again = runner.invoke(app, ["validate", str(dataset), "--write", "--workers", "1"])
    assert again.exit_code == 1 and "recorded the result in 0 episode(s)" in again.output


def test_a_broken_file_is_reported_and_the_others_still_checked(dataset):
    (dataset / "01ZZZZZZZZZZZZZZZZZZZZZZZZ.h5").write_text("not hdf5")
    result = runner.invoke(app, ["validate", str(dataset), "--workers", "1"])
    assert result.exit_code == 1
    assert "file.unreadable" in result.output and "3 episode(s): 2 passed, 1 failed" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["validate", "nowhere.h5"], "nowhere.h5: no such file or directory"),
        (["annotate", "nowhere"], "nowhere: no such file or directory"),
        (["validate", "{empty}"], "no episode files"),
        (["validate", "{dataset}", "--profile", "no_such_robot"], "no_such_robot"),
        (["validate", "{dataset}", "--config", "missing.yaml"], "missing.yaml: no such file"),
        (["validate", "{dataset}", "--workers", "0"], "--workers"),
    ],
)
def test_usage_problems_exit_2(args, message, dataset, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    argv = [a.format(dataset=dataset, empty=empty) for a in args]
    result = runner.invoke(app, argv)
    assert result.exit_code == 2, result.output
    assert message in result.output.replace("\n", " ") or message in " ".join(result.output.split())


def test_validate_with_an_explicit_profile_and_session(dataset):
    session = REPO / "launch/sim_pick_place.yaml"
    result = runner.invoke(
        app,
        ["validate", str(dataset), "--profile", "sim_humanoid", "--config", str(session), "--workers", "1"],
    )
    assert result.exit_code == 0, result.output


def test_annotate_writes_once_and_keeps_dataset_statistics(dataset):
    first = tg("annotate", str(dataset), "--workers", "1")
    assert first.returncode == 0, first.stderr
    assert "reach, grasp, transport, release, retreat" in first.stdout and "updated" in first.stdout
    target = dataset / episodes.DATASET_STATS_FILE
    assert f"dataset statistics: {target} (updated, 2 episodes)" in first.stdout
    stats = episodes.load_dataset_stats(dataset)
    assert set(stats.episodes) == {p.stem for p in episodes.list_episodes(dataset)}
    again = tg("annotate", str(dataset), "--workers", "1")
    assert (
        again.returncode == 0 and "updated" not in again.stdout and "(unchanged, 2 episodes)" in again.stdout
    )


def test_annotate_reports_a_broken_file_and_exits_1(dataset):
    (dataset / "01ZZZZZZZZZZZZZZZZZZZZZZZZ.h5").write_text("not hdf5")
    result = tg("annotate", str(dataset))
    assert result.returncode == 1
    assert (
        "01ZZZZZZZZZZZZZZZZZZZZZZZZ.h5: not an HDF5 file" in result.stderr
        and "Traceback" not in result.stderr
    )
    assert "(updated, 2 episodes)" in result.stdout


@contextlib.contextmanager
def _updating(path: Path) -> Iterator[None]:
    """Hold ``path``'s update lock, as another `tg annotate` writing it does."""
    with open(path, "r+b") as base:
        lock_updates(base, path)
        yield


def test_annotate_waits_for_an_episode_another_run_is_updating(dataset):
    first, last = episodes.list_episodes(dataset)
    before = first.stat().st_mtime_ns
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    command = [sys.executable, "-m", "training_ground", "annotate", str(dataset), "--workers", "1"]
    with _updating(last):
        proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60  # until the first episode is written: the run is at the last
        while first.stat().st_mtime_ns == before and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, out + err
    assert "another update" not in err
    assert f"dataset statistics: {dataset / episodes.DATASET_STATS_FILE} (updated, 2 episodes)" in out
    assert set(episodes.load_dataset_stats(dataset).episodes) == {first.stem, last.stem}


def test_annotate_skips_an_episode_busy_for_too_long_and_finishes_the_others(dataset, monkeypatch):
    monkeypatch.setattr(_parallel, "BUSY_WAIT_S", 0.3)
    first, last = episodes.list_episodes(dataset)
    with _updating(last):
        result = runner.invoke(app, ["annotate", str(dataset), "--workers", "1"], env={"COLUMNS": "200"})
    assert result.exit_code == 1, result.output
    said = "".join(result.output.split())  # the console may be narrow: compare without line breaks
    assert f"{last}:skipped:anotherprocesswentonupdatingthisepisodeformorethan0.3s" in said
    assert "(updated,1episodes)" in said
    written = json.loads((dataset / episodes.DATASET_STATS_FILE).read_text(encoding="utf-8"))
    assert set(written["episodes"]) == {first.stem}  # the skipped one is not covered, and says so
    assert episodes.read_annotations(first) is not None and episodes.read_annotations(last) is None
