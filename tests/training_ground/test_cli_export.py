"""`tg export`: exit codes, the summary line, warnings and errors on the terminal."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import pytest
from typer.testing import CliRunner

import episodes
from tests.episodes.loader_corpus import make_episode
from training_ground.cli import app

runner = CliRunner()


@pytest.fixture
def dataset(tmp_path) -> Path:
    root = tmp_path / "dataset"
    root.mkdir()
    make_episode(root, frames=12)
    make_episode(root, frames=10, success=False)
    return root


def test_export_lerobot(dataset, tmp_path):
    out = tmp_path / "lerobot"
    result = runner.invoke(app, ["export", str(dataset), "--out", str(out), "--image-size", "12x16"])
    assert result.exit_code == 0, result.output
    assert "lerobot: 2 episode(s), 22 frames, cameras: head, wrist" in result.output
    info = json.loads((out / "meta/info.json").read_text())
    # HEIGHTxWIDTH, as image_size=(height, width) in Python and the (H, W, 3) of the features
    assert info["features"]["observation.images.head"]["shape"] == [12, 16, 3]


def test_export_lerobot_on_two_local_workers_writes_what_one_writes(dataset, tmp_path):
    outs = []
    for workers in ("1", "2"):
        outs.append(tmp_path / f"w{workers}")
        args = ["export", str(dataset), "--out", str(outs[-1]), "--executor", "local", "--workers", workers]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert "lerobot: 2 episode(s), 22 frames, cameras: head, wrist" in result.output
    files = [sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file()) for out in outs]
    assert files[0] == files[1]
    assert all((outs[0] / f).read_bytes() == (outs[1] / f).read_bytes() for f in files[0])


def test_export_robomimic_with_filters(dataset, tmp_path):
    out = tmp_path / "demos.hdf5"
    args = [
        "export",
        str(dataset),
        "--format",
        "robomimic",
        "--out",
        str(out),
        "--success",
        "--camera",
        "head",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())  # the console wraps at 80 columns
    assert "robomimic: 1 episode(s), 12 frames, cameras: head (1 left out: 1 success is not True)" in flat
    with h5py.File(out, "r") as f:
        assert list(f["data"]) == ["demo_0"]


def test_export_only_reviewer_approved_episodes(dataset, tmp_path):
    first = sorted(dataset.glob("*.h5"))[0]
    episodes.set_review(first, episodes.ReviewState("approved", reviewer="rita", at_ns=1))
    out = tmp_path / "approved.hdf5"
    args = ["export", str(dataset), "--format", "robomimic", "--out", str(out), "--review", "approved"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "1 episode(s)" in flat and "review is 'pending', not 'approved'" in flat
    with h5py.File(out, "r") as f:
        assert list(f["data"]) == ["demo_0"]


def test_existing_output_is_an_error(dataset, tmp_path):
    (tmp_path / "taken").mkdir()
    result = runner.invoke(app, ["export", str(dataset), "--out", str(tmp_path / "taken")])
    assert result.exit_code == 1
    assert isinstance(result.exception, episodes.ExportError)
    assert "already exists" in str(result.exception)


def test_unreadable_episode_is_a_warning_on_the_terminal(dataset, tmp_path):
    (dataset / "01JZZZZZZZZZZZZZZZZZZZZZZZ.h5").write_bytes(b"junk")
    result = runner.invoke(app, ["export", str(dataset), "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert "warning:" in result.output
    assert "01JZZZZZZZZZZZZZZZZZZZZZZZ.h5: skipped, unreadable" in result.output.replace("\n", "")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "zarr"], "'zarr' is not one of: lerobot, robomimic"),
        (["--image-size", "224"], "'224' is not HEIGHTxWIDTH (two positive whole numbers, height first)"),
        (["--image-size", "0x10"], "'0x10' is not HEIGHTxWIDTH"),
        (["--qa", "failed"], "'failed' is not one of: passed, any"),
        (["--review", "ok"], "'ok' is not one of: pending, approved, rejected"),
    ],
)
def test_usage_errors_exit_2(dataset, tmp_path, args, message):
    result = runner.invoke(app, ["export", str(dataset), "--out", str(tmp_path / "o"), *args])
    assert result.exit_code == 2
    # Rich draws the usage error in a box: compare the words, not the line breaks.
    assert " ".join(message.split()) in " ".join(result.output.replace("│", " ").split())


def test_only_episodes_that_passed_qa_are_exported_unless_qa_any(tmp_path):
    root = tmp_path / "dataset"
    root.mkdir()
    make_episode(root, frames=12)
    make_episode(root, frames=10, qa=False)
    make_episode(root, frames=8, qa=None)
    result = runner.invoke(app, ["export", str(root), "--out", str(tmp_path / "passed")])
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "lerobot: 1 episode(s), 12 frames" in flat
    assert "(2 left out: 1 failed the quality gate, 1 never validated)" in flat
    assert f"1 episode(s) never validated left out; run `tg validate {root} --write`" in flat
    result = runner.invoke(app, ["export", str(root), "--out", str(tmp_path / "any"), "--qa", "any"])
    assert result.exit_code == 0, result.output
    assert "lerobot: 3 episode(s), 30 frames" in result.output


def test_never_validated_dataset_is_refused_naming_the_command(tmp_path):
    root = tmp_path / "dataset"
    root.mkdir()
    make_episode(root, frames=8, qa=None)
    result = runner.invoke(app, ["export", str(root), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert f"1 never validated; run `tg validate {root} --write`" in str(result.exception)
    assert not (tmp_path / "o").exists()


def test_a_copied_episode_is_exported_once(dataset, tmp_path):
    first = sorted(dataset.glob("*.h5"))[0]
    copy = dataset / "zz_copy.h5"
    shutil.copyfile(first, copy)
    result = runner.invoke(app, ["export", str(dataset), "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    flat = "".join(result.output.split())  # paths may wrap anywhere
    assert "".join(f"{copy}: skipped, same episode id ({first.stem}) as {first}".split()) in flat
    assert "lerobot:2episode(s),22frames" in flat and "(1leftout:1duplicateofanotherfile)" in flat


STATE_ACTION = ["--state", "joint_position:elbow,wrist", "--state", "gripper_state"]
STATE_ACTION += ["--action", "action_arm:e*"]


def test_state_and_action_columns_are_chosen_and_named_in_the_metadata(dataset, tmp_path):
    out = tmp_path / "lerobot"
    args = ["export", str(dataset), "--out", str(out), "--camera", "head"]
    result = runner.invoke(app, [*args, *STATE_ACTION])
    assert result.exit_code == 0, result.output
    features = json.loads((out / "meta/info.json").read_text())["features"]
    assert features["observation.state"]["names"] == [
        "joint_position.elbow",
        "joint_position.wrist",
        "gripper_state.left",
    ]
    assert features["observation.state"]["shape"] == [3]
    assert features["action"]["names"] == ["action_arm.elbow"]
    demos = tmp_path / "demos.hdf5"
    args = ["export", str(dataset), "--format", "robomimic", "--out", str(demos), "--camera", "head"]
    result = runner.invoke(app, [*args, *STATE_ACTION])
    assert result.exit_code == 0, result.output
    with h5py.File(demos, "r") as f:
        env = json.loads(f["data"].attrs["env_args"])["env_kwargs"]
        assert env["observation"] == {
            "joint_position": ["joint_position.elbow", "joint_position.wrist"],
            "gripper_state": ["gripper_state.left"],
        }
        assert env["action"] == ["action_arm.elbow"]
        assert f["data/demo_0/obs/joint_position"].shape[1] == 2 and f["data/demo_0/actions"].shape[1] == 1


def test_a_bad_state_column_is_an_error_naming_it(dataset, tmp_path):
    out = tmp_path / "o"
    result = runner.invoke(app, ["export", str(dataset), "--out", str(out), "--state", "joint_position:knee"])
    assert result.exit_code == 1
    assert isinstance(result.exception, episodes.UnknownStreamError)
    message = "stream 'joint_position' has no column 'knee'; columns: shoulder, elbow, wrist"
    assert message in str(result.exception)
    assert not out.exists()
