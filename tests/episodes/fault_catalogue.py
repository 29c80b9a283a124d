"""A catalogue of episode mutations for the fault suite (tests/episodes/test_faults.py).

Each :class:`Mutation` damages a copy of a small clean episode the way a broken
tool, a hand edit or a bad disk would: attributes removed, retyped or nonsensical;
datasets deleted, cut short or pointing out of range; annotations damaged; bytes
overwritten at offsets; the file cut short. Edits go through h5py (or plain bytes),
never through EpisodeWriter, which refuses most of them.

``caught``: ``tg validate`` must not pass the mutated file (an error finding, or a
warning for the harmless ones marked so); a pass is a *silent pass*.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

import episodes
from episodes import ArrayStreamSpec, EpisodeInfo, ImageStreamSpec, RobotInfo, StreamKind
from episodes._swmr import open_swmr

JOINTS = ("shoulder", "elbow", "wrist")
ARM = "joint_position"
GRIPPER = "gripper"
CAMERA = "head"


def record_clean(directory: Path, *, seconds: float = 1.5, close: bool = True) -> Path:
    """A small clean episode (passes ``tg validate``): joints at 50 Hz, a gripper and a 32x24 camera at 10 Hz.

    ``close=False``: returns it as an interrupted recording (``.h5.partial``).
    """
    specs: list[episodes.StreamSpec] = [
        ArrayStreamSpec(ARM, StreamKind.JOINT_POSITION, JOINTS, ("rad",), rate_hz=50),
        ArrayStreamSpec(GRIPPER, StreamKind.GRIPPER, ("g",), ("",), rate_hz=10),
        ImageStreamSpec(CAMERA, width=32, height=24, rate_hz=10),
    ]
    info = EpisodeInfo(
        robot=RobotInfo("test_arm", model="TA-1", joint_names=JOINTS), source="synthetic", task="pick"
    )
    rng = np.random.default_rng(len(os.listdir(directory)) if directory.exists() else 0)
    # close=False: flush after every sample, so that the file on disk is what a recorder
    # killed (kill -9) after its last sample leaves.
    options = episodes.WriterOptions(required=[ARM], flush_interval_s=1.0 if close else 1e-6)
    writer = episodes.EpisodeWriter(directory, streams=specs, info=info, aligned_rate_hz=10, options=options)
    for k in range(int(seconds * 50)):
        stamp = k * 20_000_000
        writer.append(ARM, stamp, np.sin(np.arange(3) + k / 10.0))
        if k % 5 == 0:
            writer.append(GRIPPER, stamp, np.array([min(1.0, k / 50.0)]))
            writer.append(CAMERA, stamp, rng.integers(0, 255, (24, 32, 3), dtype=np.uint8))
    if close:
        writer.close()
        return writer.final_path
    partial = next(directory.glob("*.h5.partial"))
    ticks = int(seconds * 50)
    kept = _copy_once_flushed(partial, {ARM: ticks, GRIPPER: (ticks + 4) // 5, CAMERA: (ticks + 4) // 5})
    writer.discard()
    kept.rename(partial)
    return partial


def _copy_once_flushed(partial: Path, counts: dict[str, int]) -> Path:
    """A copy of ``partial`` taken once the writer's I/O thread has put ``counts`` samples on disk
    (a copy taken sooner, on a loaded machine, held none and recovered to nothing).

    Each try reads a copy, never the file being written: HDF5 crashed (a segfault in the writer
    thread's flush) when this process opened the partial file the writer had open.
    """
    kept = partial.with_name("kept.bin")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        shutil.copyfile(partial, kept)
        with contextlib.suppress(episodes.EpisodeError, OSError), episodes.open(kept) as ep:
            if all(ep.streams[name].count >= n for name, n in counts.items()):
                return kept
        time.sleep(0.01)
    raise AssertionError(f"{partial}: the writer did not flush {counts} within 30 s")


def record_sources(root: Path) -> dict[str, Path]:
    """What the fault suite damages copies of: a good episode, a victim and an interrupted one."""
    return {
        "good": record_clean(root / "good"),
        "victim": record_clean(root / "victim"),
        "partial": record_clean(root / "partial", close=False),
    }


@dataclass(frozen=True)
class Mutation:
    """One kind of damage; ``apply(path)`` edits the file (it may rename it: returns the new path)."""

    name: str
    apply: Callable[[Path], Path]
    caught: bool = True
    partial: bool = False
    """Applied to an interrupted recording (``.h5.partial``) rather than a finished episode."""


CATALOGUE: dict[str, Mutation] = {}


def mutation(
    name: str, *, caught: bool = True, partial: bool = False
) -> Callable[[Callable[[Path], Any]], None]:
    def register(fn: Callable[[Path], Any]) -> None:
        def apply(path: Path) -> Path:
            out = fn(path)
            return out if isinstance(out, Path) else path

        CATALOGUE[name] = Mutation(name, apply, caught, partial)

    return register


def _edit(path: Path, edit: Callable[[h5py.File], None]) -> Path:
    with h5py.File(path, "r+") as f:
        edit(f)
    return path


def _set_attr(where: str, name: str, value: Any) -> Callable[[Path], Path]:
    return lambda path: _edit(path, lambda f: f[where].attrs.__setitem__(name, value))


def _del_attr(where: str, name: str) -> Callable[[Path], Path]:
    return lambda path: _edit(path, lambda f: f[where].attrs.__delitem__(name))


def _del(where: str) -> Callable[[Path], Path]:
    return lambda path: _edit(path, lambda f: f.__delitem__(where))


def _replace(where: str, make: Callable[[np.ndarray], Any]) -> Callable[[Path], Path]:
    def edit(f: h5py.File) -> None:
        old = f[where][()]
        del f[where]
        f[where] = make(old)

    return lambda path: _edit(path, edit)


def _shorten(where: str, keep: float) -> Callable[[Path], Path]:
    def edit(f: h5py.File) -> None:
        ds = f[where]
        ds.resize(int(ds.shape[0] * keep), axis=0)

    return lambda path: _edit(path, edit)


def _overwrite(at: float | int, data: bytes) -> Callable[[Path], Path]:
    def apply(path: Path) -> Path:
        size = path.stat().st_size
        offset = int(at * size) if isinstance(at, float) else at
        with open(path, "r+b") as out:
            out.seek(min(offset, size - 1))
            out.write(data)
        return path

    return apply


def _truncate(keep: float) -> Callable[[Path], Path]:
    def apply(path: Path) -> Path:
        os.truncate(path, int(path.stat().st_size * keep))
        return path

    return apply


# Attributes removed.
for _where, _name in (
    ("/", "episode_id"),
    ("/", "format_version"),
    ("/", "success"),
    ("/", "start_time_ns"),
    (f"/streams/{ARM}", "kind"),
    (f"/streams/{ARM}", "names"),
    (f"/streams/{CAMERA}", "width"),
    ("/aligned", "rate_hz"),
):
    mutation(f"attr_removed:{_where}:{_name}")(_del_attr(_where, _name))

# Attributes retyped or nonsensical.
for _where, _name, _value in (
    ("/", "format_version", "abc"),
    ("/", "format_version", 1.5),
    ("/", "format_version", np.int64(99)),
    ("/", "success", "maybe"),
    ("/", "extra_json", "{bad"),
    ("/", "extra_json", "[1, 2]"),
    ("/", "start_time_ns", "yesterday"),
    ("/", "robot_joint_names", np.int64(3)),
    ("/", "status", np.int64(7)),
    (f"/streams/{ARM}", "kind", "bogus"),
    (f"/streams/{ARM}", "role", "bogus"),
    (f"/streams/{ARM}", "rate_hz", "fast"),
    (f"/streams/{ARM}", "required", "yes"),
    (f"/streams/{CAMERA}", "width", "wide"),
    (f"/streams/{CAMERA}", "encoding", "gif"),
    (f"/streams/{CAMERA}", "calibration_json", "{bad"),
    (f"/streams/{CAMERA}", "calibration_json", '{"fx": 1}'),
    ("/aligned", "num_frames", "many"),
    ("/aligned", "required", np.int64(1)),
):
    mutation(f"attr_retyped:{_where}:{_name}={_value!r}")(_set_attr(_where, _name, _value))

# Datasets deleted.
for _where in (
    f"/streams/{ARM}/stamp_ns",
    f"/streams/{ARM}/arrival_ns",
    f"/streams/{ARM}/data",
    f"/streams/{CAMERA}/frame_offset",
    f"/streams/{CAMERA}/frame_size",
    f"/streams/{CAMERA}/frames",
    "/aligned/time_ns",
    f"/aligned/streams/{ARM}/index",
    "/embodiment/urdf",
    f"/streams/{ARM}",
    f"/streams/{CAMERA}",
):
    mutation(f"dataset_deleted:{_where}")(_del(_where))

# Datasets cut short, retyped or pointing out of range.
mutation(f"shortened:/streams/{ARM}/data")(_shorten(f"/streams/{ARM}/data", 0.5))
mutation(f"shortened:/streams/{ARM}/stamp_ns")(_shorten(f"/streams/{ARM}/stamp_ns", 0.5))
mutation(f"shortened:/streams/{CAMERA}/frames")(_shorten(f"/streams/{CAMERA}/frames", 0.5))
mutation("shortened:/aligned/time_ns")(_shorten("/aligned/time_ns", 0.5))
mutation(f"retyped:/streams/{ARM}/data 1-D")(_replace(f"/streams/{ARM}/data", lambda d: d[:, 0]))
mutation(f"retyped:/streams/{ARM}/stamp_ns float")(
    _replace(f"/streams/{ARM}/stamp_ns", lambda s: s.astype(np.float64) + 0.5)
)
mutation(f"retyped:/streams/{GRIPPER}/stamp_ns text")(
    _replace(f"/streams/{GRIPPER}/stamp_ns", lambda s: np.array([b"x"] * len(s)))
)
mutation(f"out_of_range:/aligned/streams/{ARM}/index")(
    _replace(f"/aligned/streams/{ARM}/index", lambda i: i + 10_000)
)
mutation(f"out_of_range:/aligned/streams/{CAMERA}/index negative")(
    _replace(f"/aligned/streams/{CAMERA}/index", lambda i: i - 10_000)
)
mutation(f"out_of_range:/streams/{CAMERA}/frame_offset")(
    _replace(f"/streams/{CAMERA}/frame_offset", lambda o: o + 10**9)
)
mutation(f"out_of_range:/streams/{CAMERA}/frame_size")(
    _replace(f"/streams/{CAMERA}/frame_size", lambda s: s * 0 + 10**9)
)
mutation(f"stamps_backwards:/streams/{ARM}")(_replace(f"/streams/{ARM}/stamp_ns", lambda s: s[::-1].copy()))

# Annotations damaged.
mutation("annotations_dataset")(
    lambda p: _edit(p, lambda f: (f.__delitem__("annotations"), f.__setitem__("annotations", [1, 2])))
)


def _garbage_active_range(f: h5py.File) -> None:
    g = f.require_group("annotations").require_group("active_range")
    g.attrs["start_ns"] = "soon"
    g.attrs["stop_ns"] = [1.5, 2.5]


def _reversed_active_range(f: h5py.File) -> None:
    g = f.require_group("annotations").require_group("active_range")
    g.attrs["start_ns"] = np.int64(10**9)
    g.attrs["stop_ns"] = np.int64(5)


def _active_range_dataset(f: h5py.File) -> None:
    f.require_group("annotations")["active_range"] = np.arange(3)


mutation("annotations:active_range garbage")(lambda p: _edit(p, _garbage_active_range))
mutation("annotations:active_range reversed")(lambda p: _edit(p, _reversed_active_range))
mutation("annotations:active_range a dataset")(lambda p: _edit(p, _active_range_dataset))
mutation("annotations:qa garbage")(
    lambda p: _edit(p, lambda f: f.require_group("annotations").require_group("qa").attrs.__setitem__("x", 1))
)

# Bytes overwritten at offsets (object headers near the start, B-trees and heaps further in).
for _at in (96, 512, 1024, 2048, 4096, 0.25, 0.5, 0.75, 0.95):
    mutation(f"bytes_overwritten:@{_at}", caught=False)(_overwrite(_at, bytes(range(256)) * 8))
mutation("bytes_random_2k@300", caught=False)(
    _overwrite(300, np.random.default_rng(300).integers(0, 256, 2048, dtype=np.uint8).tobytes())
)

# The file cut short or renamed.
for _keep in (0.1, 0.5, 0.9, 0.99):
    mutation(f"truncated:{_keep}")(_truncate(_keep))


def _renamed(path: Path) -> Path:
    target = path.with_name("01AAAAAAAAAAAAAAAAAAAAAAAA.h5")
    path.rename(target)
    return target


CATALOGUE["renamed"] = Mutation("renamed", _renamed, caught=True)

# Interrupted recordings (.h5.partial) cut short or overwritten: the hang of issue 13 item 1.
for _keep in (0.3, 0.6, 0.9):
    mutation(f"partial_truncated:{_keep}", partial=True)(_truncate(_keep))
mutation("partial_random_2k@300", partial=True, caught=False)(
    _overwrite(300, np.random.default_rng(301).integers(0, 256, 2048, dtype=np.uint8).tobytes())
)


def raw_digest(path: Path) -> dict[str, bytes]:
    """The bytes of every raw stream dataset h5py can still read (to prove a verb left them alone)."""
    out: dict[str, bytes] = {}
    try:
        # Bounded metadata read attempts, as the reader opens files: plain SWMR mode retries for hours.
        f = open_swmr(path)
    except (OSError, RuntimeError, ValueError):
        return {"<file>": path.read_bytes() if path.exists() else b""}
    with f:
        _walk(f, "streams", 2, out)
    return out


def _walk(group: Any, key: str, depth: int, out: dict[str, bytes]) -> None:
    try:
        member = group[key]
        if isinstance(member, h5py.Dataset):
            out[member.name] = np.asarray(member[()]).tobytes()
            return
        if depth and isinstance(member, h5py.Group):
            for sub in list(member):
                _walk(member, sub, depth - 1, out)
    except (OSError, RuntimeError, ValueError, KeyError, TypeError):
        out[f"{getattr(group, 'name', '?')}/{key}"] = b"<unreadable>"
