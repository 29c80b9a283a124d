"""Session files for simulator tests: the shipped launch files with small, cheap cameras."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
LAUNCH = REPO / "launch"

# Rendering is the cost of a simulated episode on a CPU: tests record tiny frames.
SMALL_CAMERAS = {
    "sim_humanoid": {
        "head": {"width": 80, "height": 60, "rate_hz": 10},
        "wrist_left": {"width": 48, "height": 36, "rate_hz": 10},
        "wrist_right": {"width": 48, "height": 36, "rate_hz": 10},
    },
    "sim_walker": {
        "head_rgb": {"width": 80, "height": 60, "rate_hz": 10},
        "left_wrist": {"width": 48, "height": 36, "rate_hz": 10},
        "right_wrist": {"width": 48, "height": 36, "rate_hz": 10},
    },
}


def session_file(
    tmp_path: Path,
    launch: str = "sim_pick_place.yaml",
    *,
    name: str = "run.yaml",
    sim: dict[str, Any] | None = None,
    small: bool = True,
    **fields: Any,
) -> Path:
    """A copy of ``launch/<launch>`` in ``tmp_path`` with ``fields`` and ``sim`` keys changed."""
    data: dict[str, Any] = yaml.safe_load((LAUNCH / launch).read_text(encoding="utf-8"))
    data["out"] = str(tmp_path / "out")
    data.pop("dataset", None)
    if small:
        data["cameras"] = SMALL_CAMERAS[data["profile"]]
    data.update(fields)
    data["sim"] = {**data.get("sim", {}), **(sim or {})}
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path
