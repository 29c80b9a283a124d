"""Every Python snippet of the README runs as written, on a small validated dataset made here."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

import episodes
from sim_envs import record_synthetic_episode
from tg_config import load_session
from training_ground.cli import app

REPO = Path(__file__).resolve().parents[1]
SNIPPETS = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(encoding="utf-8"), re.S)
RATE_HZ = 200  # joint_position in launch/sim_pick_place.yaml


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder laid out like the repository after `make demo`: launch/ and datasets/demo/."""
    root = tmp_path_factory.mktemp("readme")
    shutil.copytree(REPO / "launch", root / "launch")
    demo = root / "datasets" / "demo"
    run = load_session(REPO / "launch/sim_pick_place.yaml").model_copy(update={"out": str(demo)}).resolve()
    for seed in range(3):
        record_synthetic_episode(run, duration_s=3.0, seed=seed, success=True)
    validated = CliRunner().invoke(app, ["validate", str(demo), "--write"])
    assert validated.exit_code == 0, validated.output
    return root


def _run(code: str, namespace: dict[str, Any]) -> dict[str, Any]:
    exec(compile(code, "README.md", "exec"), namespace)  # the README's own code
    return namespace


def test_the_readme_has_the_snippets_checked_here() -> None:
    assert len(SNIPPETS) == 4, "a snippet was added or removed: check it here too"


def test_reading_an_episode_gives_the_first_two_seconds(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(site)
    first = sorted((site / "datasets/demo").glob("*.h5"))[0]
    code = SNIPPETS[0].replace("datasets/demo/01JD....h5", str(first.relative_to(site)))
    assert code != SNIPPETS[0]
    done = _run(code, {})
    joints, same = done["joints"], done["same"]
    assert 2 * RATE_HZ - 2 <= len(joints) <= 2 * RATE_HZ
    np.testing.assert_array_equal(joints.data, same.data)
    assert done["rgb"].shape == (240, 320, 3) and done["q"].shape == (28,)


def test_training_loader_line_builds_samples(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(site)
    code, namespace = SNIPPETS[1], {"episodes": episodes}
    try:
        import torch

        namespace["torch"] = torch
    except ImportError:  # torch is optional: without it the dataset line alone, samples are numpy
        code = code.splitlines()[0]
    done = _run(code, namespace)
    data = done["data"]
    assert len(data) > 0
    sample = data[0]
    assert sample["action"].shape[0] == 50 and sample["images"]["head"].shape[-2:] == (224, 224)
    if "batch" in done:
        assert done["batch"]["action"].shape[1] == 50


def test_the_prepared_cache_lines_prepare_and_reuse(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(site)
    command = re.search(r"```sh\n(tg prepare .*?)\n```", (REPO / "README.md").read_text(encoding="utf-8"))
    assert command is not None
    prepared = CliRunner().invoke(app, command.group(1).split()[1:])
    assert prepared.exit_code == 0, prepared.output
    done = _run(SNIPPETS[2], {"episodes": episodes})
    report = done["data"].cache_report
    assert report.built == 0 and report.reused == 3 * 3 and not report.failed


def test_recording_snippet_writes_a_complete_labelled_episode(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(site)
    run = load_session("launch/sim_pick_place.yaml").resolve()
    head = run.stream("head")
    namespace = {
        "stamp_ns": 1_000_000_000,
        "q": np.zeros(len(run.stream("joint_position").names)),
        "rgb_frame": np.zeros((head.height, head.width, 3), dtype=np.uint8),
    }
    done = _run(SNIPPETS[3], namespace)
    with episodes.open(done["writer"].final_path) as ep:
        assert (ep.metadata.status, ep.metadata.success) == ("complete", True)
        assert ep.stream("joint_position").count == 1 and ep.stream("head").count == 1
