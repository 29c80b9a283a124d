"""`tg replay` and `tg validate --replay` on real simulated episodes (physics only)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import episodes
from tests.sim_envs._replay_episodes import physics_session, record, shifted
from tests.training_ground.test_cli import tg_env
from training_ground.cli import app

runner = CliRunner()


def _tg(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "training_ground", *args],
        capture_output=True,
        text=True,
        env=tg_env(),
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A directory with a clean episode and one whose actions are stamped 200 ms late."""
    tmp = tmp_path_factory.mktemp("cli_replay")
    run = physics_session(tmp)
    out = tmp / "ds"
    return out, record(run, out), record(run, out, corrupt=shifted)


def test_replay_prints_the_figures_and_writes_the_report(
    dataset: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    _, clean, _ = dataset
    report = tmp_path / "replay.json"
    result = runner.invoke(app, ["replay", str(clean), "--report", str(report)])
    assert result.exit_code == 0, result.output
    assert f"{clean.stem} on kuavo_humanoid" in result.output
    assert "tracking error: RMS 0.0000 rad" in result.output
    assert "the replay reproduces the recording exactly" in result.output
    (figures,) = json.loads(report.read_text(encoding="utf-8"))["episodes"]
    assert figures["episode_id"] == clean.stem and figures["tracking"]["rms"] <= 0.01
    assert figures["real_time_factor"] > 1


def test_replay_shows_the_lag_of_late_actions(dataset: tuple[Path, Path, Path]) -> None:
    _, _, late = dataset
    result = runner.invoke(app, ["replay", str(late)])
    assert result.exit_code == 0, result.output
    assert "best-aligning lag +200 ms" in result.output and "worst moments" in result.output


def test_validate_replay_fails_the_late_episode_only(
    dataset: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    out, clean, late = dataset
    findings = tmp_path / "qa.json"
    result = _tg("validate", str(out), "--replay", "--workers", "1", "--json", str(findings))
    assert result.returncode == 1, result.stdout + result.stderr
    payload = json.loads(findings.read_text(encoding="utf-8"))
    assert payload["checks"]["replay.divergence"]["severity"] == "error"
    counts = {Path(e["path"]).stem: e["counts"] for e in payload["episodes"]}
    assert counts[clean.stem] == {} and counts[late.stem] == {"replay.divergence": 1}
    # Without --replay the lying actions pass: nothing else looks at them together with the states.
    assert _tg("validate", str(late), "--workers", "1").returncode == 0


def _without_actions(folder: Path) -> Path:
    spec = episodes.ArrayStreamSpec(
        "joint_position", episodes.StreamKind.JOINT_POSITION, ("l_arm_pitch",), ("rad",), rate_hz=100
    )
    info = episodes.EpisodeInfo(robot=episodes.RobotInfo("sim_humanoid"), source="sim")
    with episodes.EpisodeWriter(folder, streams=[spec], info=info, aligned_rate_hz=10) as writer:
        for k in range(20):
            writer.append("joint_position", k * 10_000_000, [0.0])
    return writer.final_path


def test_replay_refuses_an_episode_without_actions(tmp_path: Path) -> None:
    result = _tg("replay", str(_without_actions(tmp_path)))
    assert result.returncode == 1
    assert "error:" in result.stderr and "no joint position actions to replay" in result.stderr


def test_an_episode_that_cannot_replay_never_hides_the_others(
    dataset: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    _, clean, _ = dataset
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / clean.name).write_bytes(clean.read_bytes())
    bad = _without_actions(folder)
    report = tmp_path / "replay.json"
    result = runner.invoke(app, ["replay", str(folder), "--report", str(report)])
    assert result.exit_code == 1
    assert f"{clean.stem} on kuavo_humanoid" in result.output
    assert f"error: {bad}: no joint position actions to replay" in result.output
    assert "1 file(s) not replayed" in result.output
    payload = json.loads(report.read_text(encoding="utf-8"))
    assert [e["episode_id"] for e in payload["episodes"]] == [clean.stem] and len(payload["errors"]) == 1
