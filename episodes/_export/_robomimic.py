"""A dataset directory as one robomimic HDF5 file (what robomimic's ``SequenceDataset`` reads).

Layout, as robomimic 0.3 documents and reads it (``robomimic/utils/dataset.py``)::

    data                      attrs: total (samples of all demos), env_args (JSON)
    data/demo_<i>             attrs: num_samples, ep_meta (JSON: lang, task, episode_id, success)
        obs/<stream>          (T, D) each state stream's columns; obs/<camera>_image (T, H, W, 3|1) uint8,
                              obs/<depth camera>_depth (T, H, W, 1) float32 metres
        next_obs/<key>        obs shifted by one tick, the last repeated (a virtual view of obs: no copy)
        actions               (T, A) the action columns (env_args names them all)
        dones                 (T,) 1 at the last tick
        rewards               (T,) 1 at the last tick of a successful episode, else 0
    mask/train, mask/valid    demo names (bytes) of each split: robomimic's filter keys
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt

from episodes._export._options import ExportOptions
from episodes._export._source import (
    Camera,
    ExportLayout,
    Source,
    exported_episodes,
    frames,
    open_source,
    prompt,
    split_state,
)
from episodes._export._target import ExportResult, discard_work, prepare_target
from episodes._image_transform import DEPTH_SCALE_M
from episodes._reader import EpisodeReader
from episodes._storage import require_space
from episodes._training import AlignedEpisode, Selection
from tg_exec import Executor

__all__ = ["export_robomimic"]

# robomimic/envs/env_base.py: EnvType. No simulator of ours is registered with robomimic, so the
# file names the generic type; training reads env_args only to build rollout environments.
_GYM_TYPE = 2


def export_robomimic(
    source: str | os.PathLike[str] | Selection,
    out: str | os.PathLike[str],
    options: ExportOptions | None = None,
    executor: Executor | None = None,
) -> ExportResult:
    """Write a dataset directory's episodes (or a :class:`Selection` of them) as the new
    robomimic HDF5 file ``out``.

    :class:`ExportOptions` as for :func:`export_lerobot`. ``mask/train`` and ``mask/valid`` hold
    the dataset's split (``splits.json``, as :class:`EpisodeDataset` uses it; the same hash of the
    episode id for episodes it does not list yet), so robomimic validates on the same episodes.
    The file is written by this process, one episode after the other: ``executor`` (for the
    :class:`Exporter` shape that :func:`export_lerobot` uses) is not used.

    >>> import episodes
    >>> episodes.export_robomimic("datasets/demo", "exports/demo.hdf5")  # doctest: +SKIP
    ExportResult(out=PosixPath('exports/demo.hdf5'), format='robomimic', episodes=4, ...)
    """
    del executor  # one HDF5 file, written by one process: the episodes go in one after the other
    options = options or ExportOptions()
    target, work = prepare_target(Path(out))
    selected = open_source(source, options)
    try:
        # No raw-data chunk cache: a chunk HDF5 cannot write stays cached and crashes the
        # process when the file closes (as in the episode writer); each write goes out now.
        with h5py.File(work, "w", libver="latest", rdcc_nbytes=0) as f:
            names, total = _write_demos(f, selected, options, target)
        os.replace(work, target)
    except BaseException as exc:
        reported = discard_work(exc, target, work)
        if reported is exc:
            raise
        raise reported from None
    return ExportResult(
        out=target,
        format="robomimic",
        episodes=len(names),
        frames=total,
        episode_ids=tuple(names),
        cameras=tuple(c.stream for c in selected.layout.cameras),
        left_out=dict(selected.excluded),
        details={"demos": names, "fps": selected.layout.fps},
    )


def _write_demos(
    f: h5py.File, selected: Source, options: ExportOptions, target: Path
) -> tuple[dict[str, str], int]:
    """``data/demo_<i>`` per episode, ``data``'s attributes and the split masks; the demo name
    of each episode id, and the number of samples.

    Each demo must fit on the disk before it is written: HDF5 may crash the process when a
    write fails (a segfault closing the file), so a full disk is refused, not met.
    """
    data = f.create_group("data")
    names: dict[str, str] = {}
    tasks: set[str] = set()
    total = 0
    for episode, reader in exported_episodes(selected, options):
        name = f"demo_{len(names)}"
        f.flush()  # what earlier demos hold is on the disk: the free space left is real
        require_space(target, _demo_bytes(selected.layout, episode), f"writing {name} ({episode.episode_id})")
        _write_demo(data, name, selected.layout, episode, reader)
        names[episode.episode_id] = name
        tasks.add(episode.task)
        total += len(episode)
    data.attrs["total"] = total
    data.attrs["env_args"] = json.dumps(_env_args(selected.layout, sorted(tasks)))
    masks: dict[str, list[bytes]] = {"train": [], "valid": []}
    for episode_id, name in names.items():
        masks[selected.split(episode_id)].append(name.encode())
    mask = f.create_group("mask")
    for key, demos in masks.items():
        mask.create_dataset(key, data=np.array(demos, dtype="S"))
    return names, total


def _demo_bytes(layout: ExportLayout, episode: AlignedEpisode) -> int:
    """About what ``_write_demo`` adds to the file: the arrays and every camera's raw frames."""
    n = len(episode)
    images = sum(n * c.height * c.width * 3 for c in layout.cameras)
    return int(episode.state.nbytes + episode.action.nbytes + 16 * n + images)


def _write_demo(
    data: Any, name: str, layout: ExportLayout, episode: AlignedEpisode, reader: EpisodeReader
) -> None:
    n = len(episode)
    demo = data.create_group(name)
    demo.attrs["num_samples"] = n
    demo.attrs["ep_meta"] = json.dumps(
        {
            "lang": prompt(episode),
            "task": episode.task,
            "episode_id": episode.episode_id,
            "success": episode.success,
        }
    )
    obs = demo.create_group("obs")
    for stream, values in split_state(layout, episode.state).items():
        obs.create_dataset(stream, data=values)
    for camera in layout.cameras:
        _write_camera(obs, camera, n, frames(reader, camera, episode))
    next_obs = demo.create_group("next_obs")
    for key, stored in obs.items():
        shifted = h5py.VirtualLayout(shape=stored.shape, dtype=stored.dtype)
        view = h5py.VirtualSource(".", stored.name, shape=stored.shape)
        if n > 1:
            shifted[: n - 1] = view[1:n]
        shifted[n - 1] = view[n - 1]
        next_obs.create_virtual_dataset(key, shifted)
    demo.create_dataset("actions", data=episode.action)
    dones = np.zeros(n, dtype=np.int64)
    dones[-1] = 1
    demo.create_dataset("dones", data=dones)
    rewards = np.zeros(n, dtype=np.float64)
    rewards[-1] = 1.0 if episode.success else 0.0
    demo.create_dataset("rewards", data=rewards)


def _env_args(layout: ExportLayout, tasks: Sequence[str]) -> dict[str, Any]:
    return {
        "env_name": "+".join(tasks),
        "type": _GYM_TYPE,
        "env_kwargs": {
            "robot_profile": layout.robot,
            "control_freq": layout.fps,
            "observation": {
                stream: list(layout.sample.state_names[layout.sample.columns(stream)])
                for stream in layout.sample.state_streams
            },
            "action": list(layout.sample.action_names),
            "cameras": [c.stream for c in layout.cameras],
            "source": "training-ground",
        },
    }


def _write_camera(obs: Any, camera: Camera, n: int, pixels: Iterator[npt.NDArray[np.generic]]) -> None:
    """``obs/<camera>_image``: RGB (T, H, W, 3) or mono (T, H, W, 1) uint8; ``obs/<camera>_depth``:
    (T, H, W, 1) float32 metres (0: no reading), as robomimic's image and depth modalities read them."""
    channels = 3 if camera.kind == "rgb" else 1
    depth = camera.kind == "depth"
    images = obs.create_dataset(
        f"{camera.stream}_{'depth' if depth else 'image'}",
        shape=(n, camera.height, camera.width, channels),
        dtype=np.float32 if depth else np.uint8,
        chunks=(1, camera.height, camera.width, channels),
    )
    for k, frame in enumerate(pixels):
        if depth:
            images[k] = (frame.astype(np.float32) * np.float32(DEPTH_SCALE_M))[:, :, None]
        else:
            images[k] = frame.reshape(camera.height, camera.width, channels)
