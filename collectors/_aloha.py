"""ALOHA / ACT episode files into episodes, driven by a robot profile (``tg import aloha``).

ACT's recording scripts (``record_sim_episodes.py``; ALOHA's ``record_episodes.py``)
write one HDF5 file per episode, ``episode_<i>.hdf5``: ``/observations/qpos``,
``/observations/qvel`` (and on the real robot ``/observations/effort``), each ``(T, D)``,
``/observations/images/<camera>`` ``(T, H, W, 3)`` uint8 RGB, and ``/action`` ``(T, D)``;
the root attribute ``sim`` says whether it was simulated. There are no timestamps: row
``k`` is step ``k`` at the control rate (ACT: 50 Hz), given or read from an ``fps``
attribute, and the episode records that its timestamps were reconstructed.

Each array goes to the profile's stream of its kind (qpos: the observed
``joint_position`` stream, qvel: ``joint_velocity``, effort: ``joint_effort``, action:
the first action stream), which must have as many columns; each camera to the
profile's camera of that name, or one declared from the frames' size.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt

import episodes
from collectors._errors import ImportFormatError
from tg_config import RobotProfile

__all__ = ["AlohaOptions", "find_aloha_files", "import_aloha"]

_ARRAYS = {
    "/observations/qpos": (episodes.StreamKind.JOINT_POSITION, episodes.Role.OBSERVATION),
    "/observations/qvel": (episodes.StreamKind.JOINT_VELOCITY, episodes.Role.OBSERVATION),
    "/observations/effort": (episodes.StreamKind.JOINT_EFFORT, episodes.Role.OBSERVATION),
}
_ACTION = "/action"
_IMAGES = "/observations/images"
_RATE_ATTRS = ("fps", "frame_rate", "control_freq", "rate_hz")
_NOT_RECONSTRUCTED = ("arrival times (equal to the reconstructed stamps)", "success label", "operator")


@dataclass(frozen=True, kw_only=True)
class AlohaOptions:
    """``fps``: the control rate (default: the file's ``fps`` attribute); labels for every episode."""

    fps: float | None = None
    task: str = ""
    instruction: str = ""
    operator: str = ""
    dataset: str = ""


def find_aloha_files(paths: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """The ``*.hdf5`` / ``*.h5`` files of ``paths`` (directories expanded), in episode-number order."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found += [p for p in path.iterdir() if p.suffix in (".hdf5", ".h5") and p.is_file()]
        elif path.is_file():
            found.append(path)
        else:
            raise ImportFormatError(f"{path}: no such file or directory")
    if not found:
        raise ImportFormatError(f"no ALOHA episode files (*.hdf5) in {', '.join(map(str, paths))}")
    return sorted(found, key=_episode_order)


def _episode_order(path: Path) -> tuple[str, int, str]:
    number = re.search(r"(\d+)$", path.stem)
    return (str(path.parent), int(number.group(1)) if number else -1, path.name)


def import_aloha(
    files: Sequence[Path],
    profile: RobotProfile,
    out: str | os.PathLike[str],
    options: AlohaOptions | None = None,
) -> list[Path]:
    """Write one episode per ALOHA file into the dataset directory ``out``; returns their paths.

    Every file is checked before any episode is written: a missing ``/action``, arrays of
    different lengths, a column count the profile does not have, or no frame rate raises
    :class:`ImportFormatError` naming the file.
    """
    opts = options or AlohaOptions()
    plans = [_plan(path, profile, opts) for path in files]
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Staged beside the dataset and moved in at the end: a failure half-way adds nothing to it.
    work = target.parent / f".{target.name}.importing-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    try:
        staged = [
            _write_one(path, plan, profile, opts, work, target)
            for path, plan in zip(files, plans, strict=True)
        ]
        target.mkdir(exist_ok=True)
        for path in staged:
            os.replace(path, target / path.name)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return [target / path.name for path in staged]


def _write_one(
    path: Path, plan: _Plan, profile: RobotProfile, opts: AlohaOptions, work: Path, out: Path
) -> Path:
    streams, cameras, rate = plan
    with h5py.File(path, "r") as f:
        episode = episodes.FramedEpisode(
            info=_info(path, profile, opts, rate, out),
            rate_hz=rate,
            arrays={spec.name: (spec, np.asarray(f[key][()], dtype=np.float64)) for key, spec in streams},
            cameras={spec.name: (spec, _frames(f, key)) for key, spec in cameras},
            urdf=profile.urdf_text() or "",
        )
        return episodes.write_framed(work, episode)


def _info(
    path: Path, profile: RobotProfile, opts: AlohaOptions, rate: float, out: Path
) -> episodes.EpisodeInfo:
    origin = episodes.ImportOrigin("aloha", str(path), rate_hz=rate, not_reconstructed=_NOT_RECONSTRUCTED)
    return episodes.EpisodeInfo(
        robot=profile.robot_info(),
        source="import",
        dataset=opts.dataset or out.name,
        task=opts.task,
        instruction=opts.instruction,
        operator=opts.operator,
        origin=origin,
    )


def _frames(f: Any, key: str) -> episodes.Frames:
    data = f[key]

    def rows() -> Iterator[npt.NDArray[np.uint8]]:
        for k in range(data.shape[0]):
            yield np.asarray(data[k], dtype=np.uint8)  # one frame at a time: a file holds gigabytes

    return rows


_Plan = tuple[list[tuple[str, episodes.ArrayStreamSpec]], list[tuple[str, episodes.ImageStreamSpec]], float]


def _plan(path: Path, profile: RobotProfile, opts: AlohaOptions) -> _Plan:
    """What ``path`` becomes: (HDF5 key, stream) per array and camera, and the frame rate."""
    try:
        with h5py.File(path, "r") as f:
            return _plan_open(path, f, profile, opts)
    except OSError as exc:
        raise ImportFormatError(f"{path}: not a readable HDF5 file ({exc})") from exc


def _plan_open(path: Path, f: Any, profile: RobotProfile, opts: AlohaOptions) -> _Plan:
    if _ACTION not in f:
        raise ImportFormatError(
            f"{path}: no /action dataset, so not an ALOHA/ACT episode (it has {sorted(f.keys())}); "
            "ACT's record_sim_episodes.py writes /action, /observations/qpos and "
            "/observations/images/<camera>"
        )
    specs = [s for s in profile.stream_specs() if isinstance(s, episodes.ArrayStreamSpec)]
    streams = [(_ACTION, _stream_for(path, f[_ACTION], specs, None, episodes.Role.ACTION))]
    for key, (kind, role) in _ARRAYS.items():
        if key in f:
            streams.append((key, _stream_for(path, f[key], specs, kind, role)))
    cameras = [
        (f"{_IMAGES}/{name}", _camera(path, name, f[f"{_IMAGES}/{name}"], profile)) for name in _names(f)
    ]
    rows = {key: f[key].shape[0] for key, _ in streams + cameras}
    if len(set(rows.values())) != 1:
        raise ImportFormatError(
            f"{path}: datasets of different lengths: {rows}; every one needs one row per step"
        )
    rate = opts.fps or _rate(f)
    if rate is None or not rate > 0:
        raise ImportFormatError(
            f"{path}: no frame rate in its attributes ({', '.join(_RATE_ATTRS)}); give --fps "
            "(ACT and ALOHA record at 50)"
        )
    return streams, [(k, replace(c, rate_hz=rate)) for k, c in cameras], float(rate)


def _names(f: Any) -> list[str]:
    return sorted(f[_IMAGES].keys()) if _IMAGES in f else []


def _rate(f: Any) -> float | None:
    for name in _RATE_ATTRS:
        if name in f.attrs:
            return float(f.attrs[name])
    return None


def _stream_for(
    path: Path,
    data: Any,
    specs: Sequence[episodes.ArrayStreamSpec],
    kind: episodes.StreamKind | None,
    role: episodes.Role,
) -> episodes.ArrayStreamSpec:
    fits = [s for s in specs if s.role == role and (kind is None or s.kind == kind)]
    what = f"a {kind.value if kind else 'action'} stream" + (" of role action" if kind is None else "")
    if not fits:
        raise ImportFormatError(f"{path}: {data.name} needs {what} in the robot profile; it has none")
    width = data.shape[1] if len(data.shape) == 2 else -1
    if width != fits[0].dim:
        raise ImportFormatError(
            f"{path}: {data.name} has shape {data.shape}, but the profile's stream {fits[0].name} has "
            f"{fits[0].dim} columns ({', '.join(fits[0].names)}); choose the profile of the robot that "
            "recorded it"
        )
    return fits[0]


def _camera(path: Path, name: str, data: Any, profile: RobotProfile) -> episodes.ImageStreamSpec:
    if len(data.shape) != 4 or data.shape[3] != 3 or data.dtype != np.uint8:
        raise ImportFormatError(
            f"{path}: {data.name} is {data.dtype} {data.shape}, not (T, H, W, 3) uint8 RGB frames "
            "(JPEG-compressed ALOHA files are not supported: decompress them first)"
        )
    declared = {c.name: c.stream_spec() for c in profile.cameras}
    height, width = int(data.shape[1]), int(data.shape[2])
    spec = declared.get(name) or episodes.ImageStreamSpec(name, width=width, height=height)
    if (spec.height, spec.width) != (height, width):
        raise ImportFormatError(
            f"{path}: {data.name} frames are {height}x{width}, the profile's camera {name} "
            f"{spec.height}x{spec.width}"
        )
    return spec
