"""EpisodeDataset: a dataset directory as a map-style training dataset, ready for PyTorch's DataLoader.

One sample is aligned frame ``t`` of an episode: the state and camera frames of
ticks ``t - obs_horizon + 1 .. t`` and the actions of ticks ``t .. t +
action_horizon - 1``, with ``obs_is_pad`` / ``action_is_pad`` marking ticks past
the episode's edge (they repeat the nearest real tick), plus the episode's task
and instruction. That is the layout ACT and diffusion-policy trainers read.

Building it reads attributes and aligned-view indices only (no image data);
state and action arrays are read per episode on first use and kept in a
bounded LRU cache; camera frames are read and decoded per sample. Files are
opened lazily in the process that reads them (each DataLoader worker its own)
and never pickled, so any number of workers, fork or spawn, is safe.

>>> from episodes import EpisodeDataset
>>> data = EpisodeDataset("datasets/demo", action_horizon=50, image_size=(224, 224))  # doctest: +SKIP
>>> batch = next(iter(torch.utils.data.DataLoader(data, batch_size=8, shuffle=True)))  # doctest: +SKIP
>>> batch["action"].shape, batch["images"]["head"].shape  # doctest: +SKIP
(torch.Size([8, 50, 16]), torch.Size([8, 1, 3, 224, 224]))
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import os
import warnings
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypedDict

import cv2
import numpy as np
import numpy.typing as npt

from episodes import _layout as fmt
from episodes._errors import CorruptEpisodeError, DatasetError, EpisodeError, EpisodeSkippedWarning
from episodes._images import decode_frame
from episodes._maintenance import list_episodes
from episodes._qa._errors import StaleStatisticsError
from episodes._qa._stats import load_dataset_stats
from episodes._reader import EpisodeReader
from episodes._spec import ImageEncoding, ImageStreamSpec, StreamKind
from episodes._splits import update_splits
from episodes._training import (
    AlignedEpisode,
    EpisodeEntry,
    EpisodeFilter,
    OnMixed,
    SampleLayout,
    load_aligned,
    sample_layout,
    select_episodes,
    usable_range,
)

__all__ = ["ColumnStats", "EpisodeDataset", "Normalizer", "Sample"]

FloatArray = npt.NDArray[np.float32]
BoolArray = npt.NDArray[np.bool_]
Normalization = Literal["mean_std", "min_max"]
_DEPTH_SCALE_M = 0.001  # FORMAT.md: depth is integer millimetres
_READ_ERRORS = (EpisodeError, OSError, LookupError, ValueError, cv2.error)


class Sample(TypedDict):
    """One training sample (numpy arrays; ``EpisodeDataset[i]`` gives torch tensors when they are on).

    ``state`` is the state vector of ticks ``t - obs_horizon + 1 .. t``
    (``EpisodeDataset.state_names`` names its columns), ``images[camera]`` the
    camera's frames of the same ticks, ``(obs_horizon, C, H, W)`` (channel-first) or
    ``(obs_horizon, H, W, C)``; ``action`` the action vector of ticks ``t .. t +
    action_horizon - 1``. ``*_is_pad`` is True where a tick lies outside the episode
    (its row repeats the nearest real one). ``episode_index`` indexes
    ``EpisodeDataset.episodes``; ``frame_index`` is ``t`` in the file's aligned view.
    """

    state: FloatArray
    obs_is_pad: BoolArray
    images: dict[str, npt.NDArray[Any]]
    action: FloatArray
    action_is_pad: BoolArray
    task: str
    instruction: str
    episode_index: int
    frame_index: int
    time_ns: int


@dataclass(frozen=True)
class ColumnStats:
    """Per-column statistics of the state or action vector."""

    mean: npt.NDArray[np.float64]
    std: npt.NDArray[np.float64]
    min: npt.NDArray[np.float64]
    max: npt.NDArray[np.float64]


@dataclass(frozen=True)
class Normalizer:
    """``normalized = (x - offset) / scale`` per column; :meth:`invert` undoes it (numpy or torch)."""

    offset: FloatArray
    scale: FloatArray

    @classmethod
    def of(cls, stats: ColumnStats, method: Normalization, eps: float) -> Normalizer:
        """``mean_std``: offset mean, scale std; ``min_max``: maps [min, max] to [-1, 1].

        The scale is clipped to at least ``eps``: a joint that never moves (std 0)
        would otherwise divide by zero, and one that barely moves would blow noise up.
        """
        if method == "mean_std":
            offset, scale = stats.mean, stats.std
        elif method == "min_max":
            offset, scale = (stats.min + stats.max) / 2, (stats.max - stats.min) / 2
        else:
            raise DatasetError(f"normalize must be 'mean_std', 'min_max' or None, got {method!r}")
        offset = np.where(np.isfinite(offset), offset, 0.0)
        scale = np.where(np.isfinite(scale), np.maximum(scale, eps), 1.0)
        return cls(offset.astype(np.float32), scale.astype(np.float32))

    def apply(self, x: FloatArray) -> FloatArray:
        out: FloatArray = (x - self.offset) / self.scale
        return out

    def invert(self, x: Any) -> Any:
        if type(x).__module__.startswith("torch"):
            torch = importlib.import_module("torch")
            like = {"device": x.device, "dtype": x.dtype}
            return x * torch.as_tensor(self.scale, **like) + torch.as_tensor(self.offset, **like)
        return np.asarray(x) * self.scale + self.offset


@dataclass(frozen=True)
class _Camera:
    """Where a camera's frames lie: the ``frames`` dataset, its chunks in the file, offsets and sizes."""

    frames: Any
    chunks: tuple[int, npt.NDArray[np.int64]] | None
    offsets: npt.NDArray[np.int64]
    sizes: npt.NDArray[np.int64]


@dataclass
class _Open:
    """One episode file opened in this process: its reader, a plain descriptor, its cameras."""

    reader: EpisodeReader
    fd: int
    cameras: dict[str, _Camera]

    def close(self) -> None:
        os.close(self.fd)
        self.reader.close()


class EpisodeDataset:
    """A dataset directory's episodes as training samples (see the module docstring and :class:`Sample`).

    Streams: ``state_streams`` (default: every observation array stream),
    ``action_streams`` (default: every action stream, in stored order),
    ``cameras`` (default: all; ``()`` for none); see :func:`sample_layout`.

    Images: ``image_size=(height, width)`` resizes (``cv2.INTER_AREA``; JPEG frames
    are first decoded at 1/2, 1/4 or 1/8 scale when that still covers the size;
    depth with nearest neighbour); ``channels_first``; ``image_dtype="uint8"`` or
    ``"float32"`` (colour in [0, 1], depth in metres).

    ``normalize="mean_std"`` or ``"min_max"`` normalises state and action with
    statistics from ``dataset_stats.json`` when it is fresh and has the columns,
    else computed from the selected episodes' usable ticks (:attr:`stats_source`
    says which); ``std_eps`` clips the scale; :meth:`unnormalize_action` inverts.

    Filters: ``qa_passed``, ``success``, ``task``, ``robot``, ``operator`` (see
    :class:`EpisodeFilter`), ``active_only`` (the annotated active range only),
    ``on_mixed`` (see :func:`select_episodes`). ``split="train"`` or ``"valid"``
    keeps that split of ``<root>/splits.json`` (created or extended as needed,
    ``valid_fraction`` default 0.1).

    ``as_tensors``: ``None`` (default) returns torch tensors from ``dataset[i]``
    when torch is installed, numpy arrays otherwise; ``True`` requires torch;
    ``False`` always numpy. :meth:`sample` always returns numpy.
    ``cache_episodes`` bounds the per-process cache of episodes' state/action
    arrays; ``open_files`` the files each process keeps open.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        state_streams: Sequence[str] | None = None,
        action_streams: Sequence[str] | None = None,
        cameras: Sequence[str] | None = None,
        obs_horizon: int = 1,
        action_horizon: int = 1,
        image_size: tuple[int, int] | None = None,
        channels_first: bool = True,
        image_dtype: Literal["uint8", "float32"] = "uint8",
        normalize: Normalization | None = None,
        std_eps: float = 1e-2,
        qa_passed: bool = False,
        success: bool | None = None,
        task: str | None = None,
        robot: str | None = None,
        operator: str | None = None,
        active_only: bool = False,
        on_mixed: OnMixed = "error",
        split: Literal["train", "valid"] | None = None,
        valid_fraction: float | None = None,
        as_tensors: bool | None = None,
        cache_episodes: int = 64,
        open_files: int = 16,
    ) -> None:
        self.root = Path(root)
        for name, value in (("obs_horizon", obs_horizon), ("action_horizon", action_horizon)):
            if value < 1:
                raise DatasetError(f"{name} must be at least 1, got {value}")
        if image_size is not None and (len(image_size) != 2 or min(image_size) < 1):
            raise DatasetError(f"image_size must be (height, width) with positive sizes, got {image_size}")
        if image_dtype not in ("uint8", "float32"):
            raise DatasetError(f"image_dtype must be 'uint8' or 'float32', got {image_dtype!r}")
        if normalize not in (None, "mean_std", "min_max"):
            raise DatasetError(f"normalize must be 'mean_std', 'min_max' or None, got {normalize!r}")
        if split not in (None, "train", "valid"):
            raise DatasetError(f"split must be 'train', 'valid' or None, got {split!r}")
        if as_tensors and importlib.util.find_spec("torch") is None:
            raise DatasetError("as_tensors=True needs PyTorch (pip install torch); without it, leave it out")
        self.obs_horizon = obs_horizon
        self.action_horizon = action_horizon
        self.image_size = None if image_size is None else (int(image_size[0]), int(image_size[1]))
        self.channels_first = channels_first
        self.image_dtype = image_dtype
        self.active_only = active_only
        self.as_tensors = importlib.util.find_spec("torch") is not None if as_tensors is None else as_tensors
        self.cache_episodes = max(1, cache_episodes)
        self.open_files = max(1, open_files)

        chosen = EpisodeFilter(
            qa_passed=qa_passed, success=success, task=task, robot=robot, operator=operator
        )
        selection = select_episodes(self.root, chosen, on_mixed=on_mixed)
        entries = list(selection.episodes)
        self.split = split
        if split is not None:
            ids = [p.name.removesuffix(fmt.EPISODE_SUFFIX) for p in list_episodes(self.root)]
            splits = update_splits(self.root, ids, valid_fraction=valid_fraction)
            entries = [e for e in entries if splits.of(e.episode_id) == split]
            if not entries:
                raise DatasetError(
                    f"{self.root}: none of the {len(selection.episodes)} selected episodes is in split "
                    f"{split!r} (valid_fraction {splits.valid_fraction}, {len(splits.valid)} valid of "
                    f"{len(ids)}); use split=None or a larger dataset"
                )
        elif valid_fraction is not None:
            raise DatasetError("valid_fraction only applies with split='train' or 'valid'")
        self.layout: SampleLayout = sample_layout(
            entries[0], state_streams=state_streams, action_streams=action_streams, cameras=cameras
        )
        self.episodes, self._ranges = self._index(entries)
        counts = [hi - lo for lo, hi in self._ranges]
        self._starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        if self._starts[-1] == 0:
            raise DatasetError(
                f"{self.root}: the {len(self.episodes)} selected episode(s) have no aligned tick where every "
                f"stream used ({', '.join(self._streams_used())}) has a sample"
                + (" within the active range" if active_only else "")
            )
        self._reset_process_state()
        self._stats: dict[str, ColumnStats] | None = None
        self._stats_source = ""
        self.normalize = normalize
        self.std_eps = std_eps
        self._normalizers: dict[str, Normalizer] = {}
        if normalize is not None:
            stats = self.stats
            self._normalizers = {key: Normalizer.of(stats[key], normalize, std_eps) for key in stats}
            self.close()  # workers open their own files; none stays open here for them to inherit

    # ------------------------------------------------------------------ building

    def _streams_used(self) -> tuple[str, ...]:
        lay = self.layout
        return (*lay.state_streams, *lay.action_streams, *lay.camera_names)

    def _index(self, entries: list[EpisodeEntry]) -> tuple[tuple[EpisodeEntry, ...], list[tuple[int, int]]]:
        kept: list[EpisodeEntry] = []
        ranges: list[tuple[int, int]] = []
        for entry in entries:
            try:
                with EpisodeReader(entry.path) as reader:
                    ranges.append(
                        usable_range(entry, self.layout, reader.aligned, active_only=self.active_only)
                    )
            except DatasetError:
                raise
            except (EpisodeError, OSError, KeyError, ValueError) as exc:
                warnings.warn(
                    f"{entry.path}: skipped, unreadable ({exc})", EpisodeSkippedWarning, stacklevel=3
                )
                continue
            kept.append(entry)
        if not kept:
            raise DatasetError(f"{self.root}: every selected episode is unreadable")
        return tuple(kept), ranges

    @property
    def stats(self) -> dict[str, ColumnStats]:
        """Statistics of the ``state`` and ``action`` columns (see :attr:`stats_source`)."""
        if self._stats is None:
            self._stats, self._stats_source = self._stored_stats() or self._computed_stats()
        return self._stats

    @property
    def stats_source(self) -> str:
        """``"dataset_stats.json"`` or ``"computed from N episodes"``."""
        self.stats  # noqa: B018 - computes them on first use
        return self._stats_source

    def _stored_stats(self) -> tuple[dict[str, ColumnStats], str] | None:
        try:
            stored = load_dataset_stats(self.root)
        except StaleStatisticsError:
            return None
        out = {}
        for key, streams in (("state", self.layout.state_streams), ("action", self.layout.action_streams)):
            parts = []
            for name in streams:
                s = stored.streams.get(name)
                spec = self.episodes[0].stream(name)
                if s is None or getattr(spec, "names", None) != s.names:
                    return None
                parts.append(s)
            out[key] = ColumnStats(
                *(
                    np.concatenate([p.array(k) for p in parts]) if parts else np.zeros(0)
                    for k in ("mean", "std", "min", "max")
                )
            )
        return out, stored.path.name

    def _computed_stats(self) -> tuple[dict[str, ColumnStats], str]:
        rows: dict[str, list[FloatArray]] = {"state": [], "action": []}
        for i in range(len(self.episodes)):
            data = self._episode(i)
            rows["state"].append(data.state)
            rows["action"].append(data.action)
        out = {}
        for key, parts in rows.items():
            values = np.concatenate(parts).astype(np.float64)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column has NaN statistics
                out[key] = ColumnStats(
                    np.nanmean(values, axis=0),
                    np.nanstd(values, axis=0),
                    np.nanmin(values, axis=0),
                    np.nanmax(values, axis=0),
                )
        return out, f"computed from {len(self.episodes)} episodes"

    # ------------------------------------------------------------------ public surface

    @property
    def state_names(self) -> tuple[str, ...]:
        return self.layout.state_names

    @property
    def action_names(self) -> tuple[str, ...]:
        return self.layout.action_names

    def __len__(self) -> int:
        return int(self._starts[-1])

    def __getitem__(self, index: int) -> dict[str, Any]:
        sample = self.sample(index)
        if not self.as_tensors:
            return dict(sample)
        torch = importlib.import_module("torch")
        out: dict[str, Any] = dict(sample)
        for key in ("state", "obs_is_pad", "action", "action_is_pad"):
            out[key] = torch.from_numpy(out[key])
        out["images"] = {name: torch.from_numpy(v) for name, v in sample["images"].items()}
        return out

    def locate(self, index: int) -> tuple[int, int]:
        """(episode index, aligned frame index in its file) of sample ``index``."""
        i = self._check_index(index)
        e = int(np.searchsorted(self._starts, i, side="right")) - 1
        return e, self._ranges[e][0] + i - int(self._starts[e])

    def sample(self, index: int) -> Sample:
        """Sample ``index`` as numpy arrays.

        A sample that cannot be read (a damaged frame, a file gone bad since the
        dataset was built) is replaced by the next readable one, with an
        :class:`EpisodeSkippedWarning` naming the file, so an epoch never stops
        half-way; an episode whose file fails to open is skipped from then on.
        """
        j = self._check_index(index)
        n = len(self)
        for _ in range(n + len(self.episodes)):
            e = int(np.searchsorted(self._starts, j, side="right")) - 1
            if e in self._bad:
                j = int(self._starts[e + 1]) % n  # the next episode's first sample
                continue
            try:
                return self._build(j, e)
            except _READ_ERRORS as exc:
                self._warn_once(e, exc)
                j = (j + 1) % n
        raise DatasetError(f"{self.root}: no sample can be read; every episode failed")

    def unnormalize_action(self, action: Any) -> Any:
        """Undo the action normalisation (numpy array or torch tensor, last axis the action columns)."""
        if "action" not in self._normalizers:
            return action
        return self._normalizers["action"].invert(action)

    def close(self) -> None:
        """Close the files this process opened (they reopen on the next sample)."""
        for handle in self._open.values():
            handle.close()
        self._open.clear()

    def __enter__(self) -> EpisodeDataset:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"EpisodeDataset({str(self.root)!r}, episodes={len(self.episodes)}, samples={len(self)}, "
            f"split={self.split!r})"
        )

    # ------------------------------------------------------------------ per-process state

    def _reset_process_state(self) -> None:
        self._pid = os.getpid()
        self._open: OrderedDict[int, _Open] = OrderedDict()
        self._cache: OrderedDict[int, AlignedEpisode] = OrderedDict()
        self._bad: set[int] = set()
        self._warned: set[int] = set()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for key in ("_open", "_cache", "_bad", "_warned", "_pid"):
            state.pop(key, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._reset_process_state()

    def _check_process(self) -> None:
        # A forked worker inherits the parent's open files; HDF5 handles must not cross a fork.
        if os.getpid() != self._pid:
            self._reset_process_state()

    def _check_index(self, index: int) -> int:
        n = len(self)
        i = int(index) + n if int(index) < 0 else int(index)
        if not 0 <= i < n:
            raise IndexError(f"sample index {index} out of range for {n} samples")
        return i

    def _warn_once(self, e: int, exc: BaseException) -> None:
        if e not in self._warned:
            self._warned.add(e)
            warnings.warn(
                f"{self.episodes[e].path}: sample skipped, unreadable ({exc})",
                EpisodeSkippedWarning,
                stacklevel=3,
            )

    def _handle(self, e: int) -> _Open:
        self._check_process()
        handle = self._open.get(e)
        if handle is not None:
            self._open.move_to_end(e)
            return handle
        try:
            handle = self._open_episode(e)
        except _READ_ERRORS:
            self._bad.add(e)
            raise
        self._open[e] = handle
        while len(self._open) > self.open_files:
            self._open.popitem(last=False)[1].close()
        return handle

    def _open_episode(self, e: int) -> _Open:
        path = self.episodes[e].path
        reader = EpisodeReader(path)
        try:
            cams = {}
            for spec in self.layout.cameras:
                # Read once per file: an h5py call per frame would cost more than the read itself.
                # Frame bytes come through the reader's FrameBytes (no chunk table here: `_read_bytes`
                # then slices it, which is FrameBytes.read, the one path to frame bytes).
                index = reader.frame_index(spec.name)
                cams[spec.name] = _Camera(reader.frame_bytes(spec.name), None, index.offsets, index.sizes)
            fd = os.open(path, os.O_RDONLY)
        except BaseException:
            reader.close()
            raise
        return _Open(reader, fd, cams)

    def _episode(self, e: int) -> AlignedEpisode:
        self._check_process()
        data = self._cache.get(e)
        if data is not None:
            self._cache.move_to_end(e)
            return data
        handle = self._handle(e)
        try:
            data = load_aligned(
                self.episodes[e], self.layout, active_only=self.active_only, reader=handle.reader
            )
            lo, hi = self._ranges[e]
            if data.first_frame != lo or len(data) != hi - lo:
                raise CorruptEpisodeError(
                    f"{self.episodes[e].path}: changed since the dataset was built; build it again"
                )
        except _READ_ERRORS:
            self._bad.add(e)
            raise
        self._cache[e] = data
        while len(self._cache) > self.cache_episodes:
            self._cache.popitem(last=False)
        return data

    # ------------------------------------------------------------------ one sample

    def _build(self, j: int, e: int) -> Sample:
        data = self._episode(e)
        t = j - int(self._starts[e])
        n = len(data)
        obs = np.arange(t - self.obs_horizon + 1, t + 1)
        act = np.arange(t, t + self.action_horizon)
        obs_pad, act_pad = obs < 0, act >= n
        obs, act = np.clip(obs, 0, n - 1), np.clip(act, 0, n - 1)
        state, action = data.state[obs], data.action[act]
        if self._normalizers:
            state = self._normalizers["state"].apply(state)
            action = self._normalizers["action"].apply(action)
        images = {}
        if self.layout.cameras:
            handle = self._handle(e)
            for spec in self.layout.cameras:
                images[spec.name] = self._frames(handle, spec, data.frames[spec.name][obs])
        return Sample(
            state=np.ascontiguousarray(state, dtype=np.float32),
            obs_is_pad=obs_pad,
            images=images,
            action=np.ascontiguousarray(action, dtype=np.float32),
            action_is_pad=act_pad,
            task=data.task,
            instruction=data.instruction,
            episode_index=e,
            frame_index=data.first_frame + t,
            time_ns=int(data.time_ns[t]),
        )

    def _frames(
        self, handle: _Open, spec: ImageStreamSpec, indices: npt.NDArray[np.int64]
    ) -> npt.NDArray[Any]:
        height, width = self.image_size or (spec.height, spec.width)
        depth = spec.kind is StreamKind.DEPTH
        dtype = np.float32 if self.image_dtype == "float32" else (np.uint16 if depth else np.uint8)
        shape = (len(indices), spec.channels, height, width)
        if not self.channels_first:
            shape = (len(indices), height, width, spec.channels)
        out = np.empty(shape, dtype=dtype)
        scale = np.float32(_DEPTH_SCALE_M if depth else 1 / 255)
        done: dict[int, int] = {}
        for row, index in enumerate(indices.tolist()):
            if index in done:  # a padded history repeats its first frame: decode it once
                out[row] = out[done[index]]
                continue
            done[index] = row
            pixels = self._decode(handle, spec, index, (height, width))
            view = pixels.transpose(2, 0, 1) if self.channels_first else pixels
            if dtype == np.float32:
                np.multiply(view, scale, out=out[row], dtype=np.float32)  # converts and lays out in one pass
            else:
                out[row] = view
        return out

    def _decode(
        self, handle: _Open, spec: ImageStreamSpec, index: int, size: tuple[int, int]
    ) -> npt.NDArray[Any]:
        """Frame ``index`` as (height, width, channels): uint8 or uint16, or float32 (unscaled) if resized."""
        camera = handle.cameras[spec.name]
        start, length = int(camera.offsets[index]), int(camera.sizes[index])
        where = f"{handle.reader.path}: stream {spec.name!r} frame {index}"
        buf = _read_bytes(handle.fd, camera.frames, camera.chunks, start, length)
        resize = self.image_size is not None
        reduce = 1
        if resize and spec.encoding is ImageEncoding.JPEG and spec.kind is not StreamKind.DEPTH:
            for factor in (8, 4, 2):
                if math.ceil(spec.height / factor) >= size[0] and math.ceil(spec.width / factor) >= size[1]:
                    reduce = factor
                    break
        pixels: npt.NDArray[Any] = decode_frame(buf, channels=spec.channels, where=where, reduce=reduce)
        if resize and pixels.shape[:2] != size:
            if spec.kind is StreamKind.DEPTH:
                pixels = cv2.resize(pixels, (size[1], size[0]), interpolation=cv2.INTER_NEAREST)
            else:
                # OpenCV's area filter runs faster on float32 than on uint8 at non-integer ratios.
                floats = self.image_dtype == "float32"
                source = pixels.astype(np.float32) if floats else pixels
                pixels = cv2.resize(source, (size[1], size[0]), interpolation=cv2.INTER_AREA)
        elif not resize and pixels.shape[:2] != size:
            raise CorruptEpisodeError(
                f"{where}: decodes to {pixels.shape[1]}x{pixels.shape[0]}, "
                f"the stream declares {spec.width}x{spec.height}"
            )
        return pixels.reshape(size[0], size[1], spec.channels)


def _read_bytes(
    fd: int, frames: Any, located: tuple[int, npt.NDArray[np.int64]] | None, start: int, length: int
) -> npt.NDArray[np.uint8]:
    """Bytes ``[start, start + length)`` of ``frames``: one ``pread`` per chunk where chunks are plain bytes.

    ``pread`` copies into private memory, as h5py does, but without HDF5's per-call
    cost; a memory map would be as fast but would count every frame it ever touched in
    the process's resident memory.
    """
    if located is None:
        return np.asarray(frames[start : start + length], dtype=np.uint8)
    chunk, bases = located
    stop = start + length
    pieces = []
    for k in range(start // chunk, (stop - 1) // chunk + 1):
        lo, hi = max(start, k * chunk), min(stop, (k + 1) * chunk)
        pieces.append(os.pread(fd, hi - lo, int(bases[k]) + lo - k * chunk))
    data = pieces[0] if len(pieces) == 1 else b"".join(pieces)
    if len(data) != length:
        raise CorruptEpisodeError(f"frame bytes [{start}, {stop}) lie beyond the end of the file")
    return np.frombuffer(data, dtype=np.uint8)
