"""`tg export`: exit codes, the summary line, warnings and errors on the terminal."""

from __future__ import annotations

import json
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
    result = runner.invoke(app, ["export", str(dataset), "--out", str(out), "--image-size", "16x12"])
    assert result.exit_code == 0, result.output
    assert "lerobot: 2 episode(s), 22 frames, cameras: head, wrist" in result.output
    info = json.loads((out / "meta/info.json").read_text())
    assert info["features"]["observation.images.head"]["shape"] == [12, 16, 3]


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
    assert "robomimic: 1 episode(s), 12 frames, cameras: head (1 left out by the filters)" in result.output
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
        (["--image-size", "224"], "'224' is not WIDTHxHEIGHT"),
    ],
)
def test_usage_errors_exit_2(dataset, tmp_path, args, message):
    result = runner.invoke(app, ["export", str(dataset), "--out", str(tmp_path / "o"), *args])
    assert result.exit_code == 2
    # Rich draws the usage error in a box: compare the words, not the line breaks.
    assert " ".join(message.split()) in " ".join(result.output.replace("│", " ").split())
