"""Physics-only simulated episodes for the replay tests, and copies with a corrupted action stream.

A corrupted copy is recorded from the same seed with its ``action_arm`` samples
changed on their way into the writer (scaled, shifted in time, two joints
swapped): the simulation ran the true commands, so its states are the original
episode's, and only the recorded actions lie, as after a unit or ordering bug
in a recorder.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import yaml

from episodes import EpisodeWriter
from sim_envs import SimEpisode, SimSetup
from tests.sim_envs._sessions import session_file
from tg_config import ResolvedSession, load_profile, load_session

Corrupt = Callable[[int, npt.NDArray[Any]], tuple[int, npt.NDArray[Any]]]

_OFF = {"enabled": False}


def physics_session(tmp_path: Path, **fields: Any) -> ResolvedSession:
    """The pick-and-place session without cameras, 100 Hz states, 200 Hz physics, no injected failure,
    cut at 7 s (the reach and the grasp: enough motion, half the time of a whole episode)."""
    path = session_file(
        tmp_path,
        small=False,
        cameras={"head": _OFF, "wrist_left": _OFF, "wrist_right": _OFF},
        master_stream="joint_position",
        state_rate_hz=100,
        sim={"renderer": "none", "failure_rate": 0.0},
        episode={"max_duration_s": 7, "min_duration_s": 1},
        **fields,
    )
    return load_session(path).resolve()


def record(run: ResolvedSession, out: Path, *, seed: int = 3, corrupt: Corrupt | None = None) -> Path:
    """One episode of ``run`` into ``out``; ``corrupt(stamp_ns, value)`` changes each recorded arm action."""
    setup = SimSetup.from_session(run)
    with SimEpisode(setup, seed=seed) as episode:
        info = dataclasses.replace(
            run.episode_info("sim"),
            task=setup.task.name,
            instruction=episode.task.instruction,
            extra=episode.extra(),
        )
        writer = EpisodeWriter(
            out,
            streams=run.streams,
            info=info,
            aligned_rate_hz=run.aligned_rate_hz,
            urdf=run.profile.urdf_text(),
        )
        with writer:

            def sink(stream: str, stamp_ns: int, value: npt.NDArray[Any]) -> None:
                if corrupt is not None and stream == "action_arm":
                    stamp_ns, value = corrupt(stamp_ns, value)
                writer.append(stream, stamp_ns, value)

            outcome = episode.run(sink)
            writer.set_labels(success=outcome.success)
    return writer.final_path


def scaled(stamp_ns: int, value: npt.NDArray[Any]) -> tuple[int, npt.NDArray[Any]]:
    """Degrees where radians belong."""
    return stamp_ns, value * (180.0 / np.pi)


def shifted(stamp_ns: int, value: npt.NDArray[Any]) -> tuple[int, npt.NDArray[Any]]:
    """Actions stamped 200 ms late."""
    return stamp_ns + 200_000_000, value


SWAPPED = ("l_arm_pitch", "l_forearm_pitch")


def swapped(stamp_ns: int, value: npt.NDArray[Any]) -> tuple[int, npt.NDArray[Any]]:
    """The left arm's pitch and forearm pitch (columns 0 and 3 of action_arm) swapped."""
    out = value.copy()
    out[[0, 3]] = value[[3, 0]]
    return stamp_ns, out


def real_session(tmp_path: Path, profile: str) -> ResolvedSession:
    """A session of a real robot's profile with its cameras off (synthetic episodes of it are quick)."""
    cameras = {c.name: _OFF for c in load_profile(profile).cameras}
    path = tmp_path / f"{profile}.yaml"
    data = {
        "profile": profile,
        "task": {"name": "pick_place", "instruction": "put the cup on the tray"},
        "out": str(tmp_path / profile),
        "cameras": cameras,
        "master_stream": "joint_position",
    }
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return load_session(path).resolve()
