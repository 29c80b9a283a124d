"""`tg ingest` and `tg profiles` over real files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import episodes
from tests.collectors.bagfixtures import write_kuavo_bag
from tg_config import RobotProfile, load_profile
from tg_exec import ExecutorError
from training_ground.cli import app

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def tg(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "training_ground", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_ingest_writes_the_good_bags_and_reports_the_bad_one(tmp_path):
    good = write_kuavo_bag(
        tmp_path / "good.bag", load_profile("kuavo4pro"), duration_s=0.5, sensor_hz=100, camera_hz=10
    ).path
    bad = tmp_path / "bad.bag"
    bad.write_bytes(good.read_bytes()[:4096])
    out = tmp_path / "kuavo"
    result = runner.invoke(
        app,
        [
            "ingest",
            str(good),
            str(bad),
            "--profile",
            "kuavo4pro",
            "--out",
            str(out),
            "-j",
            "1",
            "--executor",
            "local",
            "--task",
            "pick",
        ],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 1, result.output
    assert "1 episode(s) written" in result.output and "1 bag(s) failed" in result.output
    assert "bad.bag" in result.output and "truncated" in result.output
    (episode,) = episodes.list_episodes(out)
    with episodes.open(episode) as ep:
        assert ep.metadata.task == "pick" and ep.metadata.source == "bag" and ep.metadata.dataset == "kuavo"

    bad.unlink()
    folder = [str(tmp_path), "--profile", "kuavo4pro", "--out", str(out)]  # the folder: the bags in it
    again = tg("ingest", *folder)  # a process of its own: the table is as wide as COLUMNS says
    assert again.returncode == 0, again.stdout + again.stderr
    assert "0 episode(s) written" in again.stdout and "1 bag(s) skipped, already ingested" in again.stdout
    assert "already ingested into" in again.stdout  # the whole reason: tests/collectors/test_ingest_resume.py
    assert episodes.list_episodes(out) == [episode]
    forced = runner.invoke(app, ["ingest", *folder, "--reingest"])
    assert forced.exit_code == 0, forced.output
    assert len(episodes.list_episodes(out)) == 2


def test_ingest_usage_errors(tmp_path):
    both = runner.invoke(
        app,
        [
            "ingest",
            "x.bag",
            "--profile",
            "kuavo4pro",
            "--out",
            str(tmp_path),
            "--split-gap",
            "1",
            "--split-topic",
            "/m",
        ],
    )
    assert both.exit_code == 2 and "not both" in both.output
    for args, env in ((["--executor", "nope"], {}), ([], {"TG_EXECUTOR": "nope"})):
        where = runner.invoke(
            app, ["ingest", "x.bag", "--profile", "kuavo4pro", "--out", str(tmp_path), *args], env=env
        )
        assert where.exit_code == 1, where.output
        with pytest.raises(ExecutorError, match=r"^--executor 'nope': choose one of local, ray$"):
            raise where.exception  # type: ignore[misc]
    unknown = tg("ingest", "x.bag", "--profile", "kuavo9", "--out", str(tmp_path))
    assert unknown.returncode == 1
    assert "unknown robot profile 'kuavo9'" in unknown.stderr and "kuavo4pro" in unknown.stderr


def test_profiles_lists_and_shows(tmp_path):
    listed = runner.invoke(app, ["profiles"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    for name in ("kuavo4pro", "kuavo5", "walker_tienkung", "generic_ros2_arm", "sim_humanoid"):
        assert name in listed.output
    assert "UBTech" in listed.output

    shown = runner.invoke(app, ["profiles", "show", "kuavo5"])
    assert shown.exit_code == 0, shown.output
    assert shown.output.startswith("# ") and "waist_yaw" in shown.output
    copy = tmp_path / "kuavo5.yaml"
    copy.write_text(shown.output, encoding="utf-8")
    assert load_profile(copy) == load_profile("kuavo5")
    assert RobotProfile.model_validate(yaml.safe_load(shown.output)).name == "kuavo5"

    assert runner.invoke(app, ["profiles", "list"]).exit_code == 2
    assert runner.invoke(app, ["profiles", "show"]).exit_code == 2
    missing = tg("profiles", "show", "nope")
    assert missing.returncode == 1 and "unknown robot profile 'nope'" in missing.stderr


def test_an_invalid_profile_on_the_path_is_listed_as_invalid(tmp_path):
    (tmp_path / "broken.yaml").write_text("name: broken\njoints: 3\n", encoding="utf-8")
    listed = runner.invoke(app, ["profiles"], env={"TG_PROFILE_PATH": str(tmp_path), "COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    assert "broken" in listed.output and "invalid" in listed.output
