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

__all__ = ["CACHE_DIRNAME", "CacheReport", "PreparedCache", "open_entry", "prepare_cache"]

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


def open_entry(path: Path, spec: ImageStreamSpec, shape: tuple[int, int, int]) -> npt.NDArray[Any] | None:
    """Entry ``path`` as a read-only memory map, or None when it is missing or not the expected array."""
    try:
        frames: npt.NDArray[Any] = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    dtype = np.uint16 if spec.kind is StreamKind.DEPTH else np.uint8
    if frames.ndim != 4 or frames.shape[1:] != shape or frames.dtype != dtype:
        return None
    return frames
