"""The prepared training cache: each camera decoded once at the training resolution.

Decoding JPEG on every access loses to copying raw bytes whenever the frames
fit in the page cache. :class:`PreparedCache` decodes each selected camera of
each episode once, resized as :class:`ImageTransform` resizes it, into one
uncompressed ``.npy`` file per episode and camera: ``(frames, H, W, C)``,
``uint8`` (depth ``uint16``), frame after frame, so a sample's history of
consecutive frames is one contiguous read of a memory map and the page cache
does the rest (memory stays bounded: nothing is held in the process).

An entry's name carries a digest of what it depends on: the episode id, its
content digest (the raw recorded content, so relabelling keeps it; a file
without one, as written before digests, is keyed by its size and modification
time instead), the camera's stored form and the requested size. A changed
episode therefore misses exactly its own entries, which are rebuilt; the
stale files of that episode, camera and size are removed then. Entries are written
under a temporary name and renamed, so a crash leaves no partial entry under
a real name; an entry that does not open as the expected array (truncated,
damaged header) is rebuilt.

>>> cache = PreparedCache("/tmp/cache", size=(224, 224))
>>> cache.size
(224, 224)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from episodes._errors import DatasetError, EpisodeError
from episodes._image_transform import ImageTransform
from episodes._reader import EpisodeReader
from episodes._spec import ImageStreamSpec, StreamKind
from episodes._training import EpisodeEntry, Selection, sample_layout

__all__ = ["CACHE_DIRNAME", "CacheReport", "CachedFrames", "PreparedCache", "open_entry", "prepare_cache"]

CACHE_DIRNAME = ".training_cache"
"""Where a dataset's prepared cache goes by default: ``<dataset>/.training_cache``."""
_FORMAT = 1  # bump when the stored layout changes: every entry's name changes with it
_BUILD_ERRORS = (EpisodeError, OSError, LookupError, ValueError)


@dataclass
class CacheReport:
    """What :meth:`PreparedCache.prepare` did: entries built, reused, failed (with why), bytes."""

    directory: str
    built: int = 0
    reused: int = 0
    failed: list[str] = field(default_factory=list)
    bytes: int = 0
    files: dict[str, str] = field(default_factory=dict)
    """``"<episode index>/<camera>"`` -> entry path, for every entry that is ready."""

    def to_json(self) -> dict[str, Any]:
        return {
            "directory": self.directory,
            "built": self.built,
            "reused": self.reused,
            "failed": list(self.failed),
            "bytes": self.bytes,
            "files": dict(self.files),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CacheReport:
        return cls(**data)


class PreparedCache:
    """Decoded camera frames at ``size`` ``(height, width)`` (None: as stored) in ``directory``."""

    def __init__(self, directory: str | os.PathLike[str], size: tuple[int, int] | None) -> None:
        self.directory = Path(directory)
        self.size = size
        self._transform = ImageTransform(size, channels_first=False, dtype="uint8")

    def entry_path(self, entry: EpisodeEntry, spec: ImageStreamSpec) -> Path:
        """The file holding ``entry``'s camera ``spec`` at this size (it may not exist yet)."""
        return self.directory / f"{self._stem(entry, spec)}.{self._key(entry, spec)}.npy"

    def _stem(self, entry: EpisodeEntry, spec: ImageStreamSpec) -> str:
        """Episode, camera and size: what the entries that replace each other have in common."""
        size = "stored" if self.size is None else f"{self.size[0]}x{self.size[1]}"
        return f"{entry.episode_id}.{spec.name}.{size}"

    def prepare(
        self,
        entries: Sequence[EpisodeEntry],
        cameras: Sequence[ImageStreamSpec],
        on_entry: Callable[[object], None] | None = None,
    ) -> CacheReport:
        """Build every missing or unreadable entry of ``entries`` x ``cameras``; ``on_entry`` after each.

        An episode whose frames cannot be read is reported in ``failed`` (its samples are
        then decoded from the file, where the loader skips what it cannot read).
        """
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatasetError(
                f"{self.directory}: cannot create the cache directory ({exc}); pick another"
            ) from exc
        report = CacheReport(str(self.directory))
        for e, entry in enumerate(entries):
            for spec in cameras:
                path = self.entry_path(entry, spec)
                if open_entry(path, spec, self._shape(spec)) is not None:
                    report.reused += 1
                else:
                    try:
                        self._build(entry, spec, path)
                    except _BUILD_ERRORS as exc:
                        report.failed.append(f"{entry.path}: camera {spec.name!r} not cached ({exc})")
                        continue
                    report.built += 1
                report.files[f"{e}/{spec.name}"] = str(path)
                report.bytes += path.stat().st_size
            if on_entry is not None:
                on_entry(entry)
        return report

    def _shape(self, spec: ImageStreamSpec) -> tuple[int, int, int]:
        height, width = self.size or (spec.height, spec.width)
        return height, width, spec.channels

    def _key(self, entry: EpisodeEntry, spec: ImageStreamSpec) -> str:
        content = entry.content_digest
        if content is None:  # written before digests: any change to the file changes these
            stat = entry.path.stat()
            content = f"size={stat.st_size},mtime_ns={stat.st_mtime_ns}"
        settings = {
            "format": _FORMAT,
            "episode": entry.episode_id,
            "content": content,
            "camera": [
                spec.name,
                spec.kind.value,
                spec.encoding.value,
                spec.width,
                spec.height,
                spec.channels,
            ],
            "size": self.size,
        }
        return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:20]

    def _build(self, entry: EpisodeEntry, spec: ImageStreamSpec, path: Path) -> None:
        """Decode every frame of the camera into a temporary file, frame by frame, and rename it."""
        temp = path.with_name(f"{path.stem}.{os.getpid()}.tmp")
        shape = self._shape(spec)
        with EpisodeReader(entry.path) as reader:
            index = reader.frame_index(spec.name)
            frames = reader.frame_bytes(spec.name)
            dtype = np.uint16 if spec.kind is StreamKind.DEPTH else np.uint8
            out = np.lib.format.open_memmap(temp, mode="w+", dtype=dtype, shape=(len(index.offsets), *shape))
            try:
                for k, (start, length) in enumerate(
                    zip(index.offsets.tolist(), index.sizes.tolist(), strict=True)
                ):
                    where = f"{entry.path}: stream {spec.name!r} frame {k}"
                    buf = frames.read(start, length)
                    out[k] = self._transform.decode(spec, buf, where, shape[:2])
                out.flush()
            except BaseException:
                del out
                temp.unlink(missing_ok=True)
                raise
        del out
        os.replace(temp, path)
        for stale in self.directory.glob(f"{self._stem(entry, spec)}.*.npy"):
            if stale != path:  # the same episode, camera and size under earlier content
                stale.unlink(missing_ok=True)


def prepare_cache(
    selection: Selection,
    cache: str | os.PathLike[str] | None = None,
    *,
    image_size: tuple[int, int] | None = None,
    cameras: Sequence[str] | None = None,
    on_entry: Callable[[object], None] | None = None,
) -> CacheReport:
    """Prepare ``selection``'s cache (``tg prepare``): ``cameras`` (default: all) at ``image_size``.

    ``cache`` defaults to ``<root>/.training_cache``; ``EpisodeDataset(root, image_size=...,
    cache=...)`` with the same size then finds every entry ready. ``on_entry`` is called
    after each episode (a progress bar).
    """
    layout = sample_layout(selection.episodes[0], cameras=cameras)
    if not layout.cameras:
        raise DatasetError(f"{selection.root}: no camera selected; a prepared cache holds camera frames")
    where = selection.root / CACHE_DIRNAME if cache is None else Path(cache)
    return PreparedCache(where, image_size).prepare(selection.episodes, layout.cameras, on_entry)


class CachedFrames:
    """One cache entry's frames, read with ``pread`` into a new array: one read per run of consecutive frames.

    Not a memory map on purpose: a map read cold faults in one readahead window
    (128 KiB) at a time, so a 640x480 frame took several small disk reads; one
    ``pread`` of the whole frame is one request. Measured on 150 random frames of
    a cold 1.4 GB entry: 0.9 s through the map, 0.19 s with ``pread``. The file
    descriptor is opened in the process that reads (a worker opens its own).
    """

    def __init__(self, path: Path, offset: int, shape: tuple[int, ...], dtype: np.dtype[Any]) -> None:
        self.path = path
        self.shape = shape
        self.dtype = dtype
        self._offset = offset
        self._frame_bytes = int(np.prod(shape[1:])) * dtype.itemsize
        self._fd: int | None = None
        self._pid = -1

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, indices: npt.NDArray[np.integer[Any]]) -> npt.NDArray[Any]:
        """Frames ``indices`` (each within ``0..len-1``), in that order."""
        out = np.empty((len(indices), *self.shape[1:]), dtype=self.dtype)
        flat = out.reshape(-1).view(np.uint8).data  # a memoryview of the bytes, for preadv
        fd = self._descriptor()
        done = 0
        for start, count in _runs(indices):
            want = count * self._frame_bytes
            if os.preadv(fd, [flat[done : done + want]], self._where(start)) != want:
                raise OSError(f"{self.path}: cache entry shorter than its header says; delete it to rebuild")
            done += want
        return out

    def _where(self, frame: int) -> int:
        return self._offset + frame * self._frame_bytes

    def _descriptor(self) -> int:
        if self._fd is None or self._pid != os.getpid():
            self._fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            self._pid = os.getpid()
        return self._fd

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_fd": None, "_pid": -1}

    def __del__(self) -> None:
        if self._fd is not None and self._pid == os.getpid():
            with contextlib.suppress(OSError):
                os.close(self._fd)


def _runs(indices: npt.NDArray[np.integer[Any]]) -> list[tuple[int, int]]:
    """``indices`` as (first, count) runs of consecutive frames.

    >>> _runs(np.array([3, 4, 5, 9, 9]))
    [(3, 3), (9, 1), (9, 1)]
    """
    runs: list[tuple[int, int]] = []
    for k in indices.tolist():
        if runs and runs[-1][0] + runs[-1][1] == k:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((k, 1))
    return runs


def open_entry(path: Path, spec: ImageStreamSpec, shape: tuple[int, int, int]) -> CachedFrames | None:
    """Entry ``path``'s frames, or None when it is missing or not the expected array."""
    try:
        frames: npt.NDArray[Any] = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    dtype = np.uint16 if spec.kind is StreamKind.DEPTH else np.uint8
    if (
        not isinstance(frames, np.memmap)
        or frames.ndim != 4
        or frames.shape[1:] != shape
        or frames.dtype != dtype
    ):
        return None
    found = CachedFrames(path, int(frames.offset), tuple(frames.shape), np.dtype(dtype))
    del frames  # the header is read; the map is not kept
    return found
