"""Odd or unwritable output paths and out-of-range arguments (issue 13 items 4 and 8): a usage
error (exit 2) naming the option before any work, or one line naming the path (exit 1), never
a traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import episodes
from episodes import ArrayStreamSpec, EpisodeInfo, RobotInfo, StreamKind
from tests.disks import read_only
from tests.episodes.fault_catalogue import record_clean
from tg_base import TgError
from training_ground.cli import app
from training_ground.cli._export import cli_words

REPO = Path(__file__).resolve().parents[2]
SESSION = str(REPO / "launch/sim_pick_place.yaml")
runner = CliRunner()


def _usage_error(args: list[str], *says: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())  # the usage box wraps long lines
    for piece in says:
        assert piece in text, (piece, result.output)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli_faults")
    record_clean(root)
    return root


def test_collect_out_is_an_existing_file_or_below_one(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("not a dataset")
    base = ["collect", "--config", SESSION, "--no-ros", "--episodes", "1", "--out"]
    _usage_error([*base, str(afile)], "--out", f"{afile} is a file, not a directory")
    below = afile / "sub"
    _usage_error([*base, str(below)], "--out", f"{afile} is a file, so {below} cannot be made")
    assert afile.read_text() == "not a dataset"


def test_collect_into_a_read_only_directory_says_nothing_was_recorded(tmp_path: Path) -> None:
    target = tmp_path / "ro"
    target.mkdir()
    with read_only(target):
        result = runner.invoke(
            app, ["collect", "--config", SESSION, "--no-ros", "--episodes", "1", "--out", str(target / "new")]
        )
    assert result.exit_code == 1 and isinstance(result.exception, episodes.EpisodeWriteError), result.output
    message = str(result.exception)
    assert message.startswith(f"{target / 'new'}: not writable (Read-only file system) while preparing --out")
    assert ".partial" not in message and not list(target.iterdir())


def test_the_writer_does_not_point_at_a_partial_it_never_created(tmp_path: Path) -> None:
    target = tmp_path / "ro"
    target.mkdir()
    spec = ArrayStreamSpec("joint_position", StreamKind.JOINT_POSITION, ("a",), ("rad",), rate_hz=10)
    info = EpisodeInfo(robot=RobotInfo("test_arm", joint_names=("a",)), source="synthetic", task="t")
    with (
        read_only(target),
        pytest.raises(episodes.EpisodeWriteError, match="nothing of this episode was kept") as caught,
    ):
        episodes.EpisodeWriter(target, streams=[spec], info=info, aligned_rate_hz=10)
    assert "tg recover" not in str(caught.value) and "stays in" not in str(caught.value)


def test_validate_report_paths(dataset: Path, tmp_path: Path) -> None:
    _usage_error(["validate", str(dataset), "--html", str(tmp_path)], "--html", f"{tmp_path} is a directory")
    findings = tmp_path / "missing" / "folder" / "qa.json"
    result = runner.invoke(app, ["validate", str(dataset), "--workers", "1", "--json", str(findings)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert findings.is_file(), "the missing folder of --json is created"


def test_validate_report_into_a_read_only_folder_is_said_before_the_work(
    dataset: Path, tmp_path: Path
) -> None:
    with read_only(tmp_path):
        result = runner.invoke(app, ["validate", str(dataset), "--json", str(tmp_path / "qa.json")])
    assert result.exit_code == 1 and isinstance(result.exception, episodes.EpisodeWriteError), result.output
    assert str(result.exception).startswith(
        f"{tmp_path}: not writable (Read-only file system) while preparing --json"
    )
    assert "episode(s)" not in result.output, "the episodes were validated before the error"


def test_arguments_out_of_range_say_the_allowed_range(dataset: Path, tmp_path: Path) -> None:
    _usage_error(
        ["realign", str(dataset), "--rate", "1e9"], "--rate", "outside the allowed range, 0.001 to 1000 Hz"
    )
    _usage_error(
        ["export", str(dataset), "--image-size", "100000x100000", "--out", str(tmp_path / "x")],
        "--image-size",
        "each side must be 1 to 8192 pixels",
    )


def test_export_options_refuse_a_huge_image_size() -> None:
    with pytest.raises(
        episodes.ExportError, match=r"image_size \(100000, 100000\): each side must be at most 8192"
    ):
        episodes.ExportOptions(image_size=(100000, 100000))


def test_the_mixed_layout_error_names_the_cli_flag(dataset: Path, tmp_path: Path) -> None:
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    for path in dataset.glob("*.h5"):
        shutil.copyfile(path, mixed / path.name)
    spec = ArrayStreamSpec("joint_position", StreamKind.JOINT_POSITION, ("a",), ("rad",), rate_hz=10)
    info = EpisodeInfo(robot=RobotInfo("other_arm", joint_names=("a",)), source="synthetic", task="t")
    with episodes.EpisodeWriter(mixed, streams=[spec], info=info, aligned_rate_hz=10) as writer:
        for k in range(20):
            writer.append("joint_position", k * 100_000_000, np.array([k / 10.0]))
    result = runner.invoke(app, ["export", str(mixed), "--qa", "any", "--out", str(tmp_path / "out")])
    assert result.exit_code == 1 and isinstance(result.exception, TgError), result.output
    assert "--skip-mixed" in str(result.exception) and "on_mixed" not in str(result.exception)
    assert cli_words("pass on_mixed='skip' or robot=...") == "pass --skip-mixed or --robot NAME"
