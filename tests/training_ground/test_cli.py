"""The `tg` command line: each verb over real files, and how errors reach the user."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import episodes
from sim_envs import record_synthetic_episode
from tg_base import TgError
from tg_config import load_session
from training_ground.cli import app

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def tg_env(
    *, pythonpath: list[Path] | None = None, columns: str | None = "200", **extra: str
) -> dict[str, str]:
    """The environment of a `tg` subprocess; ``columns=None``: no COLUMNS, as in a pipe or CI log."""
    paths = [*(pythonpath or []), REPO, REPO / "ros_ws/src/tg_recorder", REPO / "ros_ws/src/tg_sim"]
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    env |= {"PYTHONPATH": os.pathsep.join(map(str, paths)), **extra}
    if columns is not None:
        env["COLUMNS"] = columns
    return env


def tg(
    *args: str, pythonpath: list[Path] | None = None, columns: str | None = "200"
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "training_ground", *args],
        capture_output=True,
        text=True,
        env=tg_env(pythonpath=pythonpath, columns=columns),
        timeout=120,
    )


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ds") / "pick"
    session = load_session(REPO / "launch/sim_pick_place.yaml").model_copy(update={"out": str(out)})
    run = session.resolve()
    record_synthetic_episode(run, duration_s=1.5, seed=1, success=True)
    record_synthetic_episode(run, duration_s=1.0, seed=2, success=False)
    return out


def test_help_lists_the_verbs():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for verb in ("info", "realign", "recover", "demo"):
        assert verb in result.output
    verb_help = runner.invoke(app, ["realign", "--help"])
    assert verb_help.exit_code == 0 and "--rate" in verb_help.output and "Example" in verb_help.output


def test_info_json_for_one_episode(dataset):
    path = episodes.list_episodes(dataset)[0]
    result = runner.invoke(app, ["info", str(path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["metadata"]["task"] == "pick_place"
    assert data["metadata"]["status"] == "complete" and data["metadata"]["success"] is True
    streams = {s["name"]: s for s in data["streams"]}
    assert streams["head"]["sample_shape"] == [240, 320, 3] and streams["head"]["encoding"] == "jpeg"
    assert streams["joint_position"]["sample_shape"] == [28]
    assert abs(streams["joint_position"]["measured_rate_hz"] - 200) < 10
    assert data["aligned_rate_hz"] == 15 and data["aligned_frames"] > 0


def test_info_table_for_a_dataset(dataset):
    result = tg("info", str(dataset))
    assert result.returncode == 0, result.stderr
    assert "2 episodes" in result.stdout and "complete" in result.stdout
    assert "interrupted" not in result.stderr


def test_info_on_a_dataset_points_at_partial_recordings(dataset):
    run = load_session(REPO / "launch/sim_pick_place.yaml").model_copy(update={"out": str(dataset)}).resolve()
    live = episodes.EpisodeWriter(
        dataset, streams=run.streams, info=run.episode_info("sim"), aligned_rate_hz=15
    )
    try:
        result = tg("info", str(dataset))
        assert "2 episodes" in result.stdout
        assert "1 interrupted or live recording(s) not shown" in result.stderr
        assert "tg recover" in result.stderr
        with_partial = tg("info", str(dataset), "--partial", "--json")
        assert len(json.loads(with_partial.stdout)) == 3
    finally:
        live.discard()


def test_info_single_episode_table(dataset):
    path = episodes.list_episodes(dataset)[1]
    result = tg("info", str(path))
    assert result.returncode == 0, result.stderr
    for text in ("put the red cube in the blue bin", "sim_humanoid", "joint_position", "head", "success"):
        assert text in result.stdout


def test_bad_file_is_one_clear_line_and_exit_code_1(tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_text("nope")
    result = tg("info", str(bad))
    assert result.returncode == 1
    assert "error:" in result.stderr and "bad.h5: not an HDF5 file" in result.stderr
    assert "Traceback" not in result.stderr


def test_usage_error_exit_code_2():
    result = tg("realign", "somewhere.h5")
    assert result.returncode == 2 and "--rate" in result.stderr


def test_realign_verb(dataset, tmp_path):
    path = episodes.list_episodes(dataset)[0]
    copy = tmp_path / path.name
    copy.write_bytes(path.read_bytes())
    result = runner.invoke(app, ["realign", str(copy), "--rate", "5"])
    assert result.exit_code == 0, result.output
    with episodes.open(copy) as ep:
        assert ep.aligned.rate_hz == 5
        frames = ep.aligned.num_frames
    assert f"{frames} aligned frames at 5 Hz" in result.output


def test_recover_verb_on_a_directory(tmp_path, dataset):
    run = (
        load_session(REPO / "launch/sim_pick_place.yaml").model_copy(update={"out": str(tmp_path)}).resolve()
    )
    writer = episodes.EpisodeWriter(
        tmp_path, streams=run.streams, info=run.episode_info("synthetic"), aligned_rate_hz=15
    )
    writer.append("joint_position", 5, [0.0] * 28)
    writer.append("joint_position", 10, [0.1] * 28)
    writer._stop_io()  # what reached the disk stays; the writer never finalises, as after a crash
    writer._file.close()
    result = runner.invoke(app, ["recover", str(tmp_path), "--force"])
    assert result.exit_code == 0, result.output
    with episodes.open(writer.final_path) as ep:
        assert ep.metadata.status == "recovered"
        assert ep.stream("joint_position").count == 2
    again = runner.invoke(app, ["recover", str(tmp_path)])
    assert "nothing to recover" in again.output


def test_library_errors_propagate_as_tg_errors(tmp_path):
    (tmp_path / "notes.h5").write_text("not an episode")
    result = runner.invoke(app, ["info", str(tmp_path / "notes.h5")])
    assert isinstance(result.exception, TgError)
    missing = runner.invoke(app, ["info", str(tmp_path / "missing.h5")])  # a usage error, as for every verb
    assert missing.exit_code == 2 and "missing.h5: no such file or directory" in missing.output


def test_demo_records_and_describes_directly_where_ros_cannot_be_imported(tmp_path):
    # An rclpy that fails to import stands for a machine without the ROS 2 wheels.
    (tmp_path / "no_ros" / "rclpy").mkdir(parents=True)
    (tmp_path / "no_ros" / "rclpy" / "__init__.py").write_text("raise ImportError('no ROS 2 here')\n")
    out = tmp_path / "demo"
    result = tg(
        "demo",
        "--config",
        str(REPO / "launch/sim_pick_place.yaml"),
        "--out",
        str(out),
        "--episodes",
        "2",
        "--duration",
        "1",
        pythonpath=[tmp_path / "no_ros"],
    )
    assert result.returncode == 0, result.stderr
    assert (
        "ROS 2 is not importable here" in result.stderr
        and "recording directly, without ROS 2" in result.stderr
    )
    files = episodes.list_episodes(out)
    assert len(files) == 2
    assert f"Data: {out.resolve()}" in result.stdout
    assert "2 episodes" in result.stdout
    report = out / "qa_report.html"
    assert f"QA report: {report.resolve()}" in result.stdout
    assert report.read_text(encoding="utf-8").startswith("<!doctype html>")
    assert "2 passed, 0 failed" in result.stdout
    assert (out / episodes.DATASET_STATS_FILE).exists()
    for path in files:
        with episodes.open(path) as ep:
            assert "qa" in ep.annotations


def test_tables_piped_into_a_file_print_in_full(dataset):
    # A CI log or `tg ... > file` has no terminal width: nothing may be cut to 80 columns.
    for args in (["profiles"], ["info", str(dataset)]):
        done = tg(*args, columns=None)
        assert done.returncode == 0, done.stderr
        assert "…" not in done.stdout, done.stdout
        if args == ["profiles"]:
            assert any(
                "generic_ros2_arm" in line and "tg_config/profiles/generic_ros2_arm.yaml" in line
                for line in done.stdout.splitlines()
            )


def test_an_unexpected_exception_is_one_line_and_a_crash_log_not_a_traceback(tmp_path):
    # A bug must not greet the operator with a traceback: one line, the crash log's path, exit 1.
    script = (
        "import sys\n"
        "from training_ground.cli import app, main\n"
        "@app.command('boom')\n"
        "def boom() -> None:\n"
        "    {}['frame_offset']\n"
        "sys.argv = ['tg', 'boom']\n"
        "main()\n"
    )
    env = tg_env(TG_CRASH_DIR=str(tmp_path / "crashes"))
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "error: unexpected KeyError: 'frame_offset'" in done.stderr
    (log,) = (tmp_path / "crashes").iterdir()
    assert str(log) in done.stderr.replace("\n", "")
    text = log.read_text()
    assert "command: tg boom" in text and "Traceback" in text and "KeyError: 'frame_offset'" in text


def test_help_names_every_option_in_full_without_python_type_tags():
    for verb in ("record", "export", "collect", "ingest", "info", "validate"):
        done = tg(verb, "--help", columns="80")
        assert done.returncode == 0, done.stderr
        for tag in ("<bool>", "<str>", "<path>", "<int", "<list[", "<Path>", "…"):
            assert tag not in done.stdout, (verb, tag, done.stdout)
        if verb == "record":
            assert "--use-sim-time / --no-use-sim-time" in done.stdout and "--out PATH" in done.stdout


@pytest.mark.parametrize(
    "verb",
    [
        ["info"],
        ["info", "--partial"],
        ["validate"],
        ["annotate"],
        ["realign", "--rate", "10"],
        ["export", "--out", "x"],
    ],
)
def test_a_directory_without_episodes_gets_the_same_answer_from_every_verb(tmp_path, verb):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(app, [verb[0], str(empty), *verb[1:]])
    assert result.exit_code == 2, result.output
    assert "no episode files (*.h5" in result.output and str(empty) in result.output
