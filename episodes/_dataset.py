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

Options of :class:`EpisodeDataset`:

* Streams: ``state_streams`` (default: the positions of the joints the actions
  command and the grippers' state), ``action_streams`` (default: every action
  stream, in stored order), each a list of ``"stream"`` or ``"stream:col,col"``
  (shell-style patterns, e.g. ``"joint_position:l_arm_*"``), as ``tg export
  --state/--action`` take them; ``cameras`` (default: all; ``()`` for none); see
  :func:`sample_layout` and ``episodes._columns``.
* Images: ``image_size=(height, width)`` resizes (``cv2.INTER_AREA``; JPEG frames
  are first decoded at 1/2, 1/4 or 1/8 scale when that still covers the size;
  depth with nearest neighbour). Height comes before width everywhere: here,
  ``ExportOptions(image_size=...)`` and ``tg export --image-size HEIGHTxWIDTH``.
  A sample's frames are channels-first, ``(obs_horizon, C, H, W)``, as PyTorch
  vision models take them (``channels_first=False``: ``(obs_horizon, H, W, C)``,
  the layout of ``EpisodeReader``'s ``decode()``, one ``(H, W, C)`` frame, and of
  exported video). ``image_dtype="uint8"`` or ``"float32"`` (colour in [0, 1],
  depth in metres).
* ``normalize="mean_std"`` or ``"min_max"`` normalises state and action with
  statistics from ``dataset_stats.json`` when it is fresh and has the columns,
  else computed from the selected episodes' usable ticks (``stats_source``
  says which); ``std_eps`` clips the scale; ``unnormalize_action`` inverts.
* Episodes: only those that passed the quality gate (``tg validate DIR --write``)
  unless ``filter=EpisodeFilter(qa="any")``; more filters such as
  ``EpisodeFilter(success=True, task=...)`` (see :class:`EpisodeFilter`); a second file
  of the same episode is skipped with a warning; ``on_mixed`` (see
  :func:`select_episodes`). ``repr()`` and :attr:`EpisodeDataset.excluded` say how many
  episodes were left out and why. ``active_only`` keeps the annotated active range of
  each. ``split="train"`` or ``"valid"`` keeps that split of ``<root>/splits.json``
  (created or extended as needed, ``valid_fraction`` default 0.1).
* ``as_tensors``: ``None`` (default) returns torch tensors from ``dataset[i]``
  when torch is installed, numpy arrays otherwise; ``True`` requires torch;
  ``False`` always numpy. ``sample(i)`` always returns numpy.
  ``cache_episodes`` bounds the per-process cache of episodes' state/action
  arrays; ``open_files`` the files each process keeps open.
* Processes: a process reading samples has glibc keep up to 256 MiB of freed memory
  for reuse (each sample's image buffers would otherwise be unmapped and zeroed
  again by the kernel, most of the CPU at 640x480); a worker process also runs
  OpenCV with one thread (``EpisodeDataset.worker_init`` does it up front).
* ``cache=DIR`` (``True``: ``<root>/.training_cache``) serves camera frames from a
  prepared training cache (see ``episodes._cache``; ``tg prepare`` builds it ahead):
  each selected camera decoded once at ``image_size`` into an uncompressed
  memory-mappable file per episode, built here for what is missing or changed
  (:attr:`EpisodeDataset.cache_report` says what). Samples are those without the
  cache: equal with ``image_dtype="uint8"``, within one grey level with
  ``"float32"`` (the cache resizes the 8-bit frame, not its float copy).

>>> from episodes import EpisodeDataset
>>> data = EpisodeDataset("datasets/demo", action_horizon=50, image_size=(224, 224))  # doctest: +SKIP
>>> batch = next(iter(torch.utils.data.DataLoader(data, batch_size=8, shuffle=True)))  # doctest: +SKIP
>>> batch["action"].shape, batch["images"]["head"].shape  # doctest: +SKIP
(torch.Size([8, 50, 16]), torch.Size([8, 1, 3, 224, 224]))
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pickle
import uuid
import warnings
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

import cv2
import numpy as np
import numpy.typing as npt

from episodes import _worker_state
from episodes._cache import CACHE_DIRNAME, CachedFrames, CacheReport, PreparedCache, open_entry
from episodes._errors import CorruptEpisodeError, DatasetError, EpisodeError, EpisodeSkippedWarning
from episodes._image_transform import ImageDtype, ImageTransform
from episodes._normalize import ColumnStats, Normalization, SampleNormalizer, column_stats
from episodes._reader import EpisodeReader
from episodes._reader_frames import FrameBytes
from episodes._sample_index import SampleIndex, SplitName, check_split, choose_episodes, index_samples
from episodes._spec import ImageStreamSpec
from episodes._training import (
    AlignedEpisode,
    EpisodeEntry,
    EpisodeFilter,
    OnMixed,
    SampleLayout,
    StreamSelection,
    describe_left_out,
    load_aligned,
    sample_layout,
)

__all__ = ["EpisodeDataset", "Sample"]

FloatArray = npt.NDArray[np.float32]
BoolArray = npt.NDArray[np.bool_]
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
class _Camera:
    """Where a camera's frames lie: the reader's byte access to them, each frame's offset and size."""

    frames: FrameBytes
    offsets: npt.NDArray[np.int64]
    sizes: npt.NDArray[np.int64]


@dataclass
class _Open:
    """One episode file opened in this process: its reader and its cameras."""

    reader: EpisodeReader
    cameras: dict[str, _Camera]

    def close(self) -> None:
        self.reader.close()


# Over 300 lines: PyTorch's Dataset protocol, pickling for workers and the per-process
# read path (files, episode cache, prepared cache) meet here; the work is in _sample_index,
# _normalize, _image_transform, _cache and _worker_state.
class EpisodeDataset:
    """A dataset directory's episodes as training samples (options: see the module docstring).

    Built from three parts: :attr:`index` (a :class:`SampleIndex`: which episodes, which
    ticks are samples), :attr:`stats` with a :class:`SampleNormalizer`, and
    :attr:`image_transform` (an :class:`ImageTransform`). This class adds the files and
    caches of the process that reads the samples, and turns a tick into a :class:`Sample`.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        state_streams: StreamSelection | None = None,
        action_streams: StreamSelection | None = None,
        cameras: Sequence[str] | None = None,
        obs_horizon: int = 1,
        action_horizon: int = 1,
        image_size: tuple[int, int] | None = None,
        channels_first: bool = True,
        image_dtype: ImageDtype = "uint8",
        normalize: Normalization | None = None,
        std_eps: float = 1e-2,
        filter: EpisodeFilter | None = None,  # the builtin it shadows is not used in this method
        active_only: bool = False,
        on_mixed: OnMixed = "error",
        split: SplitName | None = None,
        valid_fraction: float | None = None,
        as_tensors: bool | None = None,
        cache_episodes: int = 64,
        open_files: int = 16,
        cache: str | os.PathLike[str] | bool | None = None,
    ) -> None:
        self.root = Path(root)
        _check_horizons(obs_horizon, action_horizon)
        self.image_transform = ImageTransform(image_size, channels_first, image_dtype)
        SampleNormalizer.check(normalize)
        check_split(split, valid_fraction)
        torch = importlib.util.find_spec("torch") is not None
        if as_tensors and not torch:
            raise DatasetError("as_tensors=True needs PyTorch (pip install torch); without it, leave it out")
        self.obs_horizon = obs_horizon
        self.action_horizon = action_horizon
        self.split = split
        self.as_tensors = torch if as_tensors is None else as_tensors
        self.cache_episodes = max(1, cache_episodes)
        self.open_files = max(1, open_files)
        self._token = uuid.uuid4().hex  # copies of this dataset in a worker share its files (_worker_state)
        self._home_pid = os.getpid()
        chosen = filter or EpisodeFilter()
        selection = choose_episodes(
            self.root, chosen, on_mixed=on_mixed, split=split, valid_fraction=valid_fraction
        )
        self.excluded: Mapping[str, int] = selection.excluded
        """Why episodes of the directory were left out -> how many (see :class:`Selection`)."""
        entries = list(selection.episodes)
        layout = sample_layout(
            entries[0], state_streams=state_streams, action_streams=action_streams, cameras=cameras
        )
        self.index: SampleIndex = index_samples(self.root, entries, layout, active_only=active_only)
        self._reset_process_state()
        self.cache_report: CacheReport | None = self._prepare(cache)
        """What preparing the cache did (``cache=``), else None."""
        self.normalize = normalize
        self.std_eps = std_eps
        self._stats: dict[str, ColumnStats] | None = None
        self._stats_source = ""
        self._normalizer: SampleNormalizer | None = None
        if normalize is not None:
            self._normalizer = SampleNormalizer.of(self.stats, normalize, std_eps)
            self.close()  # workers open their own files; none stays open here for them to inherit

    @property
    def layout(self) -> SampleLayout:
        return self.index.layout

    @property
    def episodes(self) -> tuple[EpisodeEntry, ...]:
        return self.index.episodes

    @property
    def active_only(self) -> bool:
        return self.index.active_only

    @property
    def image_size(self) -> tuple[int, int] | None:
        return self.image_transform.size

    @property
    def channels_first(self) -> bool:
        return self.image_transform.channels_first

    @property
    def image_dtype(self) -> ImageDtype:
        return self.image_transform.dtype

    @property
    def state_names(self) -> tuple[str, ...]:
        return self.layout.state_names

    @property
    def action_names(self) -> tuple[str, ...]:
        return self.layout.action_names

    @property
    def stats(self) -> dict[str, ColumnStats]:
        """Statistics of the ``state`` and ``action`` columns (see :attr:`stats_source`)."""
        if self._stats is None:
            self._stats, self._stats_source = column_stats(self.root, self.index, self._episode)
        return self._stats

    @property
    def stats_source(self) -> str:
        """``"dataset_stats.json"`` or ``"computed from N episodes"``."""
        self.stats  # noqa: B018 - computes them on first use
        return self._stats_source

    def __len__(self) -> int:
        return self.index.samples

    def __getitem__(self, index: int) -> dict[str, Any]:
        sample = self.sample(index)
        return _with_tensors(sample) if self.as_tensors else dict(sample)

    def locate(self, index: int) -> tuple[int, int]:
        """(episode index, aligned frame index in its file) of sample ``index``."""
        i = self._check_index(index)
        e = self.index.episode_of(i)
        return e, self.index.ranges[e][0] + i - int(self.index.starts[e])

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
            e = self.index.episode_of(j)
            if e in self._bad:
                j = int(self.index.starts[e + 1]) % n  # the next episode's first sample
                continue
            try:
                return self._build(j, e)
            except _READ_ERRORS as exc:
                self._warn_once(e, exc)
                j = (j + 1) % n
        raise DatasetError(f"{self.root}: no sample can be read; every episode failed")

    def unnormalize_action(self, action: Any) -> Any:
        """Undo the action normalisation (numpy array or torch tensor, last axis the action columns)."""
        if self._normalizer is None:
            return action
        return self._normalizer.action.invert(action)

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
            f"split={self.split!r}{_left_out(self.excluded)})"
        )

    def _reset_process_state(self, *, shared: bool = False) -> None:
        state = _worker_state.attach(self._token, home_pid=self._home_pid, shared=shared)
        self._state = state  # holds it for the registry's weak reference (_worker_state)
        self._pid = state.pid
        self._open: OrderedDict[int, _Open] = state.open
        self._cache: OrderedDict[int, AlignedEpisode] = state.cache
        self._bad = state.bad
        self._warned = state.warned

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for key in ("_state", "_open", "_cache", "_bad", "_warned", "_pid", "_pickled"):
            state.pop(key, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        # A pool sends the dataset again with every chunk of work: copies share one process state.
        self._reset_process_state(shared=True)

    def __reduce__(self) -> tuple[Any, ...]:
        # A pool pickles the dataset with every chunk of work (Pool.imap(partial(f, data), ...)):
        # the pickle is made once (again only once statistics were computed since), and a
        # process that already holds this dataset takes it without unpickling it again.
        key = (self._stats is None, self._normalizer is None)
        if getattr(self, "_pickled", (None, b""))[0] != key:
            self._pickled = (key, pickle.dumps(self.__getstate__(), protocol=pickle.HIGHEST_PROTOCOL))
        return (_revive, (self._token, self._home_pid, self._pickled[1]))

    def _check_process(self) -> None:
        # A forked worker inherits the parent's open files; HDF5 handles must not cross a fork.
        if os.getpid() != self._pid:
            self._reset_process_state(shared=True)

    @staticmethod
    def worker_init(worker_id: int = 0) -> None:
        """``DataLoader(..., worker_init_fn=EpisodeDataset.worker_init)``: one OpenCV thread per worker.

        A worker does it by itself on its first sample; this does it before.

        >>> EpisodeDataset.worker_init(0)
        """
        _worker_state.pin_threads()

    def _prepare(self, cache: str | os.PathLike[str] | bool | None) -> CacheReport | None:
        if cache is None or cache is False:
            return None
        where = self.root / CACHE_DIRNAME if cache is True else Path(cache)
        report = PreparedCache(where, self.image_size).prepare(self.episodes, self.layout.cameras)
        for message in report.failed:
            warnings.warn(
                f"{message}; its samples are decoded from the file", EpisodeSkippedWarning, stacklevel=3
            )
        return report

    def _prepared_frames(self, e: int, spec: ImageStreamSpec) -> CachedFrames | None:
        """Episode ``e``'s camera ``spec`` in the prepared cache, None if not cached."""
        if self.cache_report is None:
            return None
        key = f"{e}/{spec.name}"
        frames = self._state.frames
        if key not in frames:
            path = self.cache_report.files.get(key)
            height, width = self.image_size or (spec.height, spec.width)
            frames[key] = (
                None if path is None else open_entry(Path(path), spec, (height, width, spec.channels))
            )
        found: CachedFrames | None = frames[key]
        return found

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
                # The index is read once per file: an h5py call per frame would cost more than the read.
                index = reader.frame_index(spec.name)
                cams[spec.name] = _Camera(reader.frame_bytes(spec.name), index.offsets, index.sizes)
        except BaseException:
            reader.close()
            raise
        return _Open(reader, cams)

    def _episode(self, e: int) -> AlignedEpisode:
        self._check_process()
        data = self._cache.get(e)
        if data is not None:
            self._cache.move_to_end(e)
            return data
        handle = self._handle(e)
        try:
            data = load_aligned(
                self.episodes[e], self.layout, active_only=self.index.active_only, reader=handle.reader
            )
            lo, hi = self.index.ranges[e]
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

    def _build(self, j: int, e: int) -> Sample:
        data = self._episode(e)
        t = j - int(self.index.starts[e])
        n = len(data)
        obs = np.arange(t - self.obs_horizon + 1, t + 1)
        act = np.arange(t, t + self.action_horizon)
        obs_pad, act_pad = obs < 0, act >= n
        obs, act = np.clip(obs, 0, n - 1), np.clip(act, 0, n - 1)
        state, action = data.state[obs], data.action[act]
        if self._normalizer is not None:
            state = self._normalizer.state.apply(state)
            action = self._normalizer.action.apply(action)
        images = {}
        cameras = self.index.layout.cameras
        for spec in cameras:
            indices = data.frames[spec.name][obs]
            prepared = self._prepared_frames(e, spec)
            if prepared is not None:  # consecutive ticks: one read
                images[spec.name] = self.image_transform.arrange(spec, prepared[indices])
            else:
                images[spec.name] = self.image_transform.stack(spec, indices, _frame_bytes, self._handle(e))
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


def _revive(token: str, home_pid: int, state: bytes) -> EpisodeDataset:
    """Dataset ``token`` unpickled from ``state``; in a worker, the copy that arrived before if any.

    In the process that built it, every unpickling (``copy.deepcopy``) is a new object.
    """
    shared = os.getpid() != home_pid
    found = _worker_state.owner(token) if shared else None
    if isinstance(found, EpisodeDataset):
        return found
    data = EpisodeDataset.__new__(EpisodeDataset)
    data.__setstate__(pickle.loads(state))
    if shared:
        _worker_state.attach(token, home_pid=home_pid).owner = data
    return data


def _with_tensors(sample: Sample) -> dict[str, Any]:
    """``sample`` with its arrays as torch tensors sharing their memory."""
    torch = importlib.import_module("torch")
    out: dict[str, Any] = dict(sample)
    for key in ("state", "obs_is_pad", "action", "action_is_pad"):
        out[key] = torch.from_numpy(out[key])
    out["images"] = {name: torch.from_numpy(v) for name, v in sample["images"].items()}
    return out


def _left_out(excluded: Mapping[str, int]) -> str:
    """``", left out: 2 failed the quality gate, 1 never validated"`` (empty when nothing was)."""
    return f", left out: {describe_left_out(excluded)}" if excluded else ""


def _check_horizons(obs_horizon: int, action_horizon: int) -> None:
    for name, value in (("obs_horizon", obs_horizon), ("action_horizon", action_horizon)):
        if value < 1:
            raise DatasetError(f"{name} must be at least 1, got {value}")


def _frame_bytes(handle: _Open, spec: ImageStreamSpec, index: int) -> tuple[npt.NDArray[np.uint8], str]:
    """Camera ``spec``'s frame ``index`` as encoded bytes, and where it lies for messages."""
    camera = handle.cameras[spec.name]
    start, length = int(camera.offsets[index]), int(camera.sizes[index])
    where = f"{handle.reader.path}: stream {spec.name!r} frame {index}"
    return camera.frames.read(start, length), where
