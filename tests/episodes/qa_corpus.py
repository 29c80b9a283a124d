"""The quality gate's defect corpus: clean episodes from this project's own recorders, and copies
of them with exactly one defect injected at a known place.

A *source* records clean episodes and says which config checks them
(``SOURCES``: synthetic episodes as `tg demo` recorded them before the
simulator, `tg collect --no-ros` simulation, ingested Kuavo bags). Every
*injector* takes a clean episode of any source, writes a defective copy and
returns where the defect is, so each check is tried on every source. Streams
are picked by kind and role, never by name.

Copies are edited with h5py, as a broken recorder or a damaged disk would
leave them: some defects (stamps that go backwards, frames of another size)
cannot be written through EpisodeWriter, which refuses them.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import h5py
import numpy as np
import pytest

import episodes
from collectors import ingest_bag
from sim_envs import collect_sim, record_synthetic_episode
from tests.collectors.bagfixtures import write_kuavo_bag
from tg_config import EpisodeQaConfigs, load_profile, load_session

REPO = Path(__file__).resolve().parents[2]
SESSION = REPO / "launch/sim_pick_place.yaml"


# ---------------------------------------------------------------- clean sources


@dataclass(frozen=True)
class Source:
    """Clean episodes of one recorder and the config they are checked with.

    Episodes whose ``extra_json`` holds ``script`` (``[[phase, start_ns, stop_ns], ...]``, the
    scripted operator's plan) are also checked against their known phase changes.
    """

    name: str
    episodes: tuple[Path, ...]
    configure: Callable[[episodes.EpisodeMetadata], episodes.QaConfig]


@dataclass(frozen=True)
class Recorder:
    """How a source records its clean episodes into a folder, and the config that checks them."""

    record: Callable[[Path], list[Path]]
    configure: EpisodeQaConfigs


def _synthetic(directory: Path) -> list[Path]:
    """`record_synthetic_episode` with the pick-and-place session."""
    run = load_session(SESSION).model_copy(update={"out": str(directory)}).resolve()
    return [
        record_synthetic_episode(run, duration_s=4.0, seed=1, success=True),
        record_synthetic_episode(run, duration_s=3.0, seed=2, success=False),
    ]


def _bag(directory: Path) -> list[Path]:
    """Synthetic Kuavo 4 Pro ROS 1 bags (tests/collectors/bagfixtures.py) through `ingest_bag`."""
    profile = load_profile("kuavo4pro")
    paths: list[Path] = []
    for seed, seconds in ((1, 4.0), (2, 3.0)):
        bag = directory / f"kuavo{seed}.bag"
        write_kuavo_bag(bag, profile, duration_s=seconds, size=(320, 240), seed=seed)
        paths += ingest_bag(bag, profile, directory / "episodes").episodes
    return paths


def _sim(directory: Path) -> list[Path]:
    """`tg collect --no-ros`: the PyBullet pick-and-place with its scripted operator (one episode)."""
    from sim_envs import SimOverrides  # sim_envs imports PyBullet: only where it is used

    run = load_session(SESSION).model_copy(update={"out": str(directory)}).resolve()
    return [r.path for r in collect_sim(run, episodes=1, seed=0, overrides=SimOverrides(failure_rate=0.0))]


SOURCES: dict[str, Recorder] = {
    "synthetic": Recorder(_synthetic, EpisodeQaConfigs(session=str(SESSION))),
    "bag": Recorder(_bag, EpisodeQaConfigs()),
    "sim": Recorder(_sim, EpisodeQaConfigs(session=str(SESSION))),
}
"""Name -> recorder: `tg demo`'s synthetic episodes, ingested bags, `tg collect --no-ros`."""


# ---------------------------------------------------------------- editing copies


def copy_of(clean: Path, work: Path) -> Path:
    work.mkdir(parents=True, exist_ok=True)
    target = work / clean.name
    shutil.copyfile(clean, target)
    return target


def stream_of(path: Path, kind: episodes.StreamKind, role: episodes.Role = episodes.Role.OBSERVATION) -> str:
    with episodes.open(path) as ep:
        for name, info in ep.streams.items():
            if info.spec.kind is kind and info.spec.role is role and info.count:
                return name
    raise LookupError(f"{path}: no {role.value} {kind.value} stream")


def stamps_of(path: Path, stream: str) -> np.ndarray:
    with h5py.File(path, "r") as f:
        return f[f"streams/{stream}/stamp_ns"][()]


def moving_column(
    path: Path, stream: str, configure: Callable[..., episodes.QaConfig], pick: int = -1
) -> int:
    with episodes.open(path) as ep:
        cfg = configure(ep.metadata)
        names = ep.stream(stream).spec.names
    moving = [i for i, n in enumerate(names) if cfg.moving_joints and n in cfg.moving_joints]
    return moving[pick]


def realign(path: Path, required: list[str] | None = None) -> None:
    """Recompute the aligned view after stamps changed, as `tg realign` would."""
    with episodes.open(path) as ep:
        rate = ep.aligned_info.rate_hz  # the view itself may point past the samples just dropped
    episodes.realign(path, rate_hz=rate, required=required)


def drop_samples(f: h5py.File, stream: str, keep: np.ndarray) -> None:
    """Keep only the samples where ``keep``; a camera's frame bytes stay where they are."""
    g = f[f"streams/{stream}"]
    for name in ("stamp_ns", "arrival_ns", "data", "frame_offset", "frame_size"):
        if name in g:
            kept = g[name][()][keep]
            g[name].resize(kept.shape)
            g[name][...] = kept


def rewrite_frames(f: h5py.File, stream: str, replace: dict[int, bytes]) -> None:
    """Replace frames by index with other bytes (of any length), repacking the stream's frames."""
    g = f[f"streams/{stream}"]
    blob = g["frames"][()]
    offsets, sizes = g["frame_offset"][()], g["frame_size"][()]
    frames = [
        replace.get(i, blob[o : o + s].tobytes()) for i, (o, s) in enumerate(zip(offsets, sizes, strict=True))
    ]
    packed = np.frombuffer(b"".join(frames), dtype=np.uint8)
    new_sizes = np.array([len(b) for b in frames], dtype=np.int64)
    g["frames"].resize(packed.shape)
    g["frames"][...] = packed
    g["frame_offset"][...] = np.concatenate(([0], np.cumsum(new_sizes)[:-1]))
    g["frame_size"][...] = new_sizes


def frame_bytes(f: h5py.File, stream: str, index: int) -> bytes:
    g = f[f"streams/{stream}"]
    o, s = int(g["frame_offset"][index]), int(g["frame_size"][index])
    return g["frames"][o : o + s].tobytes()


def jpeg(width: int, height: int, value: int | None = None, seed: int = 0) -> bytes:
    """A JPEG frame: flat ``value`` grey, or textured noise."""
    if value is None:
        pixels = cv2.GaussianBlur(
            np.random.default_rng(seed).integers(0, 256, (height, width, 3), np.uint8), (0, 0), 2
        )
    else:
        pixels = np.full((height, width, 3), value, np.uint8)
    return cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()


# ---------------------------------------------------------------- defects


@dataclass(frozen=True)
class Injected:
    """A defective copy and where its defect is: ``[start_ns, stop_ns)`` of ``stream``.

    ``start_ns`` None: anywhere (or episode-wide)."""

    path: Path
    check: str
    stream: str = ""
    start_ns: int | None = None
    stop_ns: int | None = None
    columns: tuple[str, ...] = ()
    tolerance_ns: int = 0
    """How far the reported range may start or stop from the injected one."""
    config: dict[str, Any] = field(default_factory=dict)
    """QaConfig fields to override when checking this copy."""


Injector = Callable[[Path, Path, Source], Injected]
INJECTORS: dict[str, Injector] = {}
CHECK_OF: dict[str, str] = {}
"""Defect name -> the check that must catch it."""


def injector(name: str, check: str) -> Callable[[Injector], Injector]:
    def register(fn: Injector) -> Injector:
        INJECTORS[name] = fn
        CHECK_OF[name] = check
        return fn

    return register


@injector("truncated_file", "file.unreadable")
def _truncated(clean: Path, work: Path, source: Source) -> Injected:
    path = copy_of(clean, work)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return Injected(path, "file.unreadable")


@injector("not_hdf5", "file.unreadable")
def _not_hdf5(clean: Path, work: Path, source: Source) -> Injected:
    path = work / clean.name
    work.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"this is not an episode\n" * 100)
    return Injected(path, "file.unreadable")


@injector("format_version_not_integer", "file.unreadable")
def _format_version_not_integer(clean: Path, work: Path, source: Source) -> Injected:
    path = copy_of(clean, work)
    with h5py.File(path, "r+") as f:
        f.attrs["format_version"] = 1.5
    return Injected(path, "file.unreadable")


@injector("success_maybe", "file.unreadable")
def _success_maybe(clean: Path, work: Path, source: Source) -> Injected:
    path = copy_of(clean, work)
    with h5py.File(path, "r+") as f:
        f.attrs["success"] = "maybe"
    return Injected(path, "file.unreadable")


@injector("float_stamps", "file.unreadable")
def _float_stamps(clean: Path, work: Path, source: Source) -> Injected:
    path = copy_of(clean, work)
    stream = stream_of(path, episodes.StreamKind.JOINT_POSITION)
    with h5py.File(path, "r+") as f:
        stamps = f[f"streams/{stream}/stamp_ns"][()]
        del f[f"streams/{stream}/stamp_ns"]
        f[f"streams/{stream}"].create_dataset("stamp_ns", data=stamps.astype(np.float64) + 0.5)
    return Injected(path, "file.unreadable", stream)


@injector("aligned_index_out_of_range", "file.unreadable")
def _aligned_index_out_of_range(clean: Path, work: Path, source: Source) -> Injected:
    path = copy_of(clean, work)
    stream = stream_of(path, episodes.StreamKind.JOINT_POSITION)
    with h5py.File(path, "r+") as f:
        index = f[f"aligned/streams/{stream}/index"]
        index[-1] = f[f"streams/{stream}/stamp_ns"].shape[0] + 1000
    return Injected(path, "file.unreadable")


@injector("file_named_otherwise", "file.name")
def _file_named_otherwise(clean: Path, work: Path, source: Source) -> Injected:
    path = copy_of(clean, work)
    renamed = path.with_name("01AAAAAAAAAAAAAAAAAAAAAAAA.h5")
    path.rename(renamed)
    return Injected(renamed, "file.name")


@injector("active_range_garbage", "file.structure")
def _active_range_garbage(clean: Path, work: Path, source: Source) -> Injected:
    path = copy_of(clean, work)
    with h5py.File(path, "r+") as f:
        group = f.require_group("annotations").require_group("active_range")
        group.attrs["start_ns"] = "soon"
        group.attrs["stop_ns"] = np.int64(5)
    return Injected(path, "file.structure")


@injector("aborted", "episode.status")
def _aborted(clean: Path, work: Path, source: Source) -> Injected:
    path = copy_of(clean, work)
    with h5py.File(path, "r+") as f:
        f.attrs["status"] = "aborted"
        f.attrs["abort_reason"] = "operator pressed stop"
    return Injected(path, "episode.status")


class _InterruptedError(Exception):
    pass


@injector("interrupted_annotation_write", "episode.pending_update")
def _interrupted_annotation_write(clean: Path, work: Path, source: Source) -> Injected:
    """An annotation write stopped after its journal was committed, before it reached the file."""
    from unittest import mock

    from episodes import _journal

    path = copy_of(clean, work)
    with (
        mock.patch.object(_journal, "_apply", side_effect=_InterruptedError),
        pytest.raises(_InterruptedError),
        episodes.update_in_place(path) as f,
    ):
        f.require_group("annotations").create_group("note").attrs["text"] = "written through the journal"
    return Injected(path, "episode.pending_update")


@injector("stream_absent", "episode.missing_stream")
def _stream_absent(clean: Path, work: Path, source: Source) -> Injected:
    path = copy_of(clean, work)
    stream = stream_of(path, episodes.StreamKind.JOINT_POSITION)
    with h5py.File(path, "r+") as f:
        del f[f"streams/{stream}"]
    return Injected(path, "episode.missing_stream", stream)


@injector("stream_empty", "episode.missing_stream")
def _stream_empty(clean: Path, work: Path, source: Source) -> Injected:
    path = copy_of(clean, work)
    stream = stream_of(path, episodes.StreamKind.CAMERA)
    with h5py.File(path, "r+") as f:
        drop_samples(f, stream, np.zeros(f[f"streams/{stream}/stamp_ns"].shape, bool))
    return Injected(path, "episode.missing_stream", stream)


@injector("too_short", "episode.duration")
def _too_short(clean: Path, work: Path, source: Source) -> Injected:
    path = copy_of(clean, work)
    with h5py.File(path, "r+") as f:
        f.attrs["end_time_ns"] = np.int64(f.attrs["start_time_ns"] + 400_000_000)
    return Injected(path, "episode.duration")


@injector("stamps_backwards", "time.non_monotonic")
def _stamps_backwards(clean: Path, work: Path, source: Source) -> Injected:
    path = copy_of(clean, work)
    stream = stream_of(path, episodes.StreamKind.JOINT_POSITION)
    s = stamps_of(path, stream)
    k = len(s) // 2
    with h5py.File(path, "r+") as f:
        f[f"streams/{stream}/stamp_ns"][k : k + 2] = s[k : k + 2][::-1]
    return Injected(path, "time.non_monotonic", stream, int(s[k]), int(s[k + 1]) + 1)


@injector("stamps_repeat", "time.non_monotonic")
def _stamps_repeat(clean: Path, work: Path, source: Source) -> Injected:
    path = copy_of(clean, work)
    stream = stream_of(path, episodes.StreamKind.IMU)
    s = stamps_of(path, stream)
    k = len(s) // 3
    with h5py.File(path, "r+") as f:
        f[f"streams/{stream}/stamp_ns"][k + 1] = s[k]
    return Injected(path, "time.non_monotonic", stream, int(s[k]), int(s[k]) + 1)


@injector("gap", "time.gap")
def _gap(clean: Path, work: Path, source: Source) -> Injected:
    path = copy_of(clean, work)
    stream = stream_of(path, episodes.StreamKind.JOINT_POSITION)
    s = stamps_of(path, stream)
    lo, hi = np.searchsorted(s, [s[0] + 1.2e9, s[0] + 1.8e9])
    with h5py.File(path, "r+") as f:
        keep = np.ones(len(s), bool)
        keep[lo:hi] = False
        drop_samples(f, stream, keep)
    realign(path)
    return Injected(path, "time.gap", stream, int(s[lo - 1]), int(s[hi]))


@injector("half_rate", "time.rate")
def _half_rate(clean: Path, work: Path, source: Source) -> Injected:
    path = copy_of(clean, work)
    stream = stream_of(path, episodes.StreamKind.IMU)
    s = stamps_of(path, stream)
    with h5py.File(path, "r+") as f:
        drop_samples(f, stream, np.arange(len(s)) % 2 == 0)
    realign(path)
    kept = s[::2]
    return Injected(path, "time.rate", stream, int(kept[0]), int(kept[-1]) + 1)


@injector("camera_stops_early", "sync.skew")
def _camera_stops_early(clean: Path, work: Path, source: Source) -> Injected:
    """An optional camera that dies half-way: the aligned view keeps pairing its last frame."""
    path = copy_of(clean, work)
    with episodes.open(path) as ep:
        cameras = [n for n, i in ep.streams.items() if i.spec.kind is episodes.StreamKind.CAMERA]
        required = [r for r in ep.aligned.required if r != cameras[-1]]
        period = 1e9 / ep.stream(cameras[-1]).spec.rate_hz
    stream = cameras[-1]
    s = stamps_of(path, stream)
    stop = len(s) // 2
    with h5py.File(path, "r+") as f:
        f[f"streams/{stream}"].attrs["required"] = False
        drop_samples(f, stream, np.arange(len(s)) < stop)
    realign(path, required)
    with episodes.open(path) as ep:
        ticks = ep.aligned.time_ns
    limit = s[stop - 1] + period + 0.1e9
    first_late = int(ticks[np.searchsorted(ticks, limit, side="right")])
    return Injected(path, "sync.skew", stream, first_late, int(ticks[-1]) + 1, tolerance_ns=int(2e9 / 15))


@injector("clock_offset", "time.clock_offset")
def _clock_offset(clean: Path, work: Path, source: Source) -> Injected:
    """The camera PC's clock runs 0.5 s ahead of the recorder's."""
    path = copy_of(clean, work)
    stream = stream_of(path, episodes.StreamKind.CAMERA)
    s = stamps_of(path, stream) + 500_000_000
    with h5py.File(path, "r+") as f:
        f[f"streams/{stream}/stamp_ns"][...] = s
    realign(path)
    return Injected(path, "time.clock_offset", stream, int(s[0]), int(s[-1]) + 1)


def _edit_column(
    clean: Path, work: Path, source: Source, change: Callable[[np.ndarray, int, int], None]
) -> tuple:
    path = copy_of(clean, work)
    stream = stream_of(path, episodes.StreamKind.JOINT_POSITION)
    col = moving_column(path, stream, source.configure)
    s = stamps_of(path, stream)
    k = len(s) // 2
    with h5py.File(path, "r+") as f:
        data = f[f"streams/{stream}/data"][()]
        change(data, k, col)
        f[f"streams/{stream}/data"][...] = data
        name = f[f"streams/{stream}"].attrs["names"][col]
    return path, stream, s, k, name.decode() if isinstance(name, bytes) else str(name)


@injector("nan", "value.nonfinite")
def _nan(clean: Path, work: Path, source: Source) -> Injected:
    def change(d: np.ndarray, k: int, c: int) -> None:
        d[k : k + 3, c] = np.nan

    path, stream, s, k, name = _edit_column(clean, work, source, change)
    return Injected(path, "value.nonfinite", stream, int(s[k]), int(s[k + 2]) + 1, (name,))


@injector("beyond_limit", "value.joint_limit")
def _beyond_limit(clean: Path, work: Path, source: Source) -> Injected:
    path = copy_of(clean, work)
    stream = stream_of(path, episodes.StreamKind.JOINT_POSITION)
    col = moving_column(path, stream, source.configure, pick=0)
    with episodes.open(path) as ep:
        limit = source.configure(ep.metadata).joint_limits[ep.stream(stream).spec.names[col]]
    s = stamps_of(path, stream)
    k = len(s) // 2
    with h5py.File(path, "r+") as f:
        f[f"streams/{stream}/data"][k : k + 20, col] = limit.upper + 0.2
        name = f[f"streams/{stream}"].attrs["names"][col]
    name = name.decode() if isinstance(name, bytes) else str(name)
    return Injected(path, "value.joint_limit", stream, int(s[k]), int(s[k + 19]) + 1, (name,))


@injector("spike", "value.velocity_spike")
def _spike(clean: Path, work: Path, source: Source) -> Injected:
    def change(d: np.ndarray, k: int, c: int) -> None:
        d[k, c] += 0.3  # one sample 0.3 rad off: 60 rad/s at 200 Hz

    path, stream, s, k, name = _edit_column(clean, work, source, change)
    return Injected(path, "value.velocity_spike", stream, int(s[k - 1]), int(s[k + 1]) + 1, (name,))


@injector("stuck_joint", "value.stuck")
def _stuck_joint(clean: Path, work: Path, source: Source) -> Injected:
    """One joint that should move reads the same value all episode (RoboMIND's stuck end effector)."""

    def change(d: np.ndarray, k: int, c: int) -> None:
        d[:, c] = d[0, c]

    path, stream, _, _, name = _edit_column(clean, work, source, change)
    return Injected(path, "value.stuck", stream, None, None, (name,))


@injector("stuck_stretch", "value.stuck")
def _stuck_stretch(clean: Path, work: Path, source: Source) -> Injected:
    """Every moving joint's sensor frozen for 1.5 s mid-episode (inside the active range)."""
    path = copy_of(clean, work)
    stream = stream_of(path, episodes.StreamKind.JOINT_POSITION)
    s = stamps_of(path, stream)
    middle = (int(s[0]) + int(s[-1])) // 2
    lo, hi = np.searchsorted(s, [middle - 0.75e9, middle + 0.75e9])
    with h5py.File(path, "r+") as f:
        data = f[f"streams/{stream}/data"][()]
        data[lo:hi] = data[lo]
        f[f"streams/{stream}/data"][...] = data
    return Injected(
        path,
        "value.stuck",
        stream,
        int(s[lo]),
        int(s[hi - 1]) + 1,
        tolerance_ns=int(0.13e9),
        # A stuck sensor repeats the exact same value; a person holding still never does.
        config={"stuck_window_s": 1.0, "stuck_epsilon": 1e-9},
    )


def _camera_frames(
    clean: Path, work: Path, frames: Callable[[h5py.File, str, int], dict[int, bytes]]
) -> tuple:
    path = copy_of(clean, work)
    stream = stream_of(path, episodes.StreamKind.CAMERA)
    s = stamps_of(path, stream)
    k = len(s) // 3
    with h5py.File(path, "r+") as f:
        rewrite_frames(f, stream, frames(f, stream, k))
    return path, stream, s, k


def _size(f: h5py.File, stream: str) -> tuple[int, int]:
    a = f[f"streams/{stream}"].attrs
    return int(a["width"]), int(a["height"])


@injector("garbage_frame", "image.decode")
def _garbage_frame(clean: Path, work: Path, source: Source) -> Injected:
    def frames(f: h5py.File, stream: str, k: int) -> dict[int, bytes]:
        return {k: bytes(np.random.default_rng(0).integers(0, 256, 5000, np.uint8))}

    path, stream, s, k = _camera_frames(clean, work, frames)
    return Injected(path, "image.decode", stream, int(s[k]), int(s[k]) + 1)


@injector("cut_frame", "image.decode")
def _cut_frame(clean: Path, work: Path, source: Source) -> Injected:
    def frames(f: h5py.File, stream: str, k: int) -> dict[int, bytes]:
        whole = frame_bytes(f, stream, k)
        return {k: whole[: len(whole) * 2 // 3]}

    path, stream, s, k = _camera_frames(clean, work, frames)
    return Injected(path, "image.decode", stream, int(s[k]), int(s[k]) + 1)


@injector("black_frames", "image.black")
def _black_frames(clean: Path, work: Path, source: Source) -> Injected:
    def frames(f: h5py.File, stream: str, k: int) -> dict[int, bytes]:
        return {i: jpeg(*_size(f, stream), value=3) for i in range(k, k + 6)}

    path, stream, s, k = _camera_frames(clean, work, frames)
    return Injected(path, "image.black", stream, int(s[k]), int(s[k + 5]) + 1)


@injector("white_frames", "image.overexposed")
def _white_frames(clean: Path, work: Path, source: Source) -> Injected:
    def frames(f: h5py.File, stream: str, k: int) -> dict[int, bytes]:
        return {i: jpeg(*_size(f, stream), value=254) for i in range(k, k + 6)}

    path, stream, s, k = _camera_frames(clean, work, frames)
    return Injected(path, "image.overexposed", stream, int(s[k]), int(s[k + 5]) + 1)


@injector("frozen_frames", "image.frozen")
def _frozen_frames(clean: Path, work: Path, source: Source) -> Injected:
    """The camera driver keeps publishing its last frame for 0.7 s."""
    repeats = 0

    def frames(f: h5py.File, stream: str, k: int) -> dict[int, bytes]:
        nonlocal repeats
        stamps = f[f"streams/{stream}/stamp_ns"][()]
        repeats = int(np.ceil(0.7e9 / np.median(np.diff(stamps))))
        return {i: frame_bytes(f, stream, k) for i in range(k + 1, k + 1 + repeats)}

    path, stream, s, k = _camera_frames(clean, work, frames)
    return Injected(path, "image.frozen", stream, int(s[k]), int(s[k + repeats]) + 1)


@injector("smaller_frames", "image.shape")
def _smaller_frames(clean: Path, work: Path, source: Source) -> Injected:
    def frames(f: h5py.File, stream: str, k: int) -> dict[int, bytes]:
        width, height = _size(f, stream)
        return {i: jpeg(width // 2, height // 2, seed=i) for i in range(k, k + 3)}

    path, stream, s, k = _camera_frames(clean, work, frames)
    return Injected(path, "image.shape", stream, int(s[k]), int(s[k + 2]) + 1)


_BUILT: dict[str, Source] = {}
_WAIT_S = 900.0


def corpus_source(name: str, tmp_path_factory: pytest.TempPathFactory) -> Source:
    """Source ``name``, recorded once per test session, shared by test modules and xdist workers.

    The first process to need it records it (the simulation takes a while); the
    others wait for its list of episodes.
    """
    if name not in _BUILT:
        recorder = SOURCES[name]
        base = tmp_path_factory.getbasetemp()
        shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
        folder, done = shared / f"corpus-{name}", shared / f"corpus-{name}.json"
        try:
            folder.mkdir()  # atomic: exactly one process records
        except FileExistsError:
            deadline = time.monotonic() + _WAIT_S
            while not done.exists():
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"{done}: the {name} corpus was not recorded in {_WAIT_S:g} s"
                    ) from None
                time.sleep(0.2)
        else:
            paths = recorder.record(folder)
            work = done.with_suffix(".tmp")
            work.write_text(json.dumps([str(p) for p in paths]))
            work.replace(done)
        paths = [Path(p) for p in json.loads(done.read_text())]
        _BUILT[name] = Source(name, tuple(paths), recorder.configure)
    return _BUILT[name]
