"""A dataset directory as one robomimic HDF5 file (what robomimic's ``SequenceDataset`` reads).

Layout, as robomimic 0.3 documents and reads it (``robomimic/utils/dataset.py``)::

    data                      attrs: total (samples of all demos), env_args (JSON)
    data/demo_<i>             attrs: num_samples, ep_meta (JSON: lang, task, episode_id, success)
        obs/<stream>          (T, D) each observation array stream; obs/<camera>_image (T, H, W, 3) uint8
        next_obs/<key>        obs shifted by one tick, the last repeated (a virtual view of obs: no copy)
        actions               (T, A) the action streams concatenated in stored order
        dones                 (T,) 1 at the last tick
        rewards               (T,) 1 at the last tick of a successful episode, else 0
    mask/train, mask/valid    demo names (bytes) of each split: robomimic's filter keys
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from episodes._export._source import ExportOptions, Layout, SourceEpisode, frames, load_dataset
from episodes._export._target import ExportResult, prepare_target
from episodes._reader import EpisodeReader

__all__ = ["export_robomimic"]

# robomimic/envs/env_base.py: EnvType. No simulator of ours is registered with robomimic, so the
# file names the generic type; training reads env_args only to build rollout environments.
_GYM_TYPE = 2


def export_robomimic(
    directory: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    cameras: Sequence[str] | None = None,
    image_size: tuple[int, int] | None = None,
    active_range: bool = False,
    split: Mapping[str, Sequence[str]] | None = None,
    on_episode: Callable[[Path], None] | None = None,
) -> ExportResult:
    """Write the episodes of ``directory`` as the new robomimic HDF5 file ``out``.

    ``split`` maps ``train``/``valid`` to episode ids (default: every episode in ``train``);
    ``on_episode`` is called once per episode file, exported or skipped.

    >>> import episodes
    >>> episodes.export_robomimic("datasets/demo", "exports/demo.hdf5")  # doctest: +SKIP
    ExportResult(out=PosixPath('exports/demo.hdf5'), format='robomimic', episodes=4, ...)
    """
    target, work = prepare_target(Path(out))
    options = ExportOptions(cameras=cameras, image_size=image_size, active_range=active_range)
    layout, source = load_dataset(directory, options, on_skip=on_episode)
    names = {e.episode_id: f"demo_{i}" for i, e in enumerate(source)}
    try:
        with h5py.File(work, "w", libver="latest") as f:
            data = f.create_group("data")
            for episode in source:
                _write_demo(data, names[episode.episode_id], layout, episode)
                if on_episode is not None:
                    on_episode(episode.path)
            data.attrs["total"] = sum(e.length for e in source)
            data.attrs["env_args"] = json.dumps(_env_args(layout, source))
            mask = f.create_group("mask")
            for key, ids in _masks(split, names).items():
                mask.create_dataset(key, data=np.array([names[i].encode() for i in ids], dtype="S"))
        os.replace(work, target)
    except BaseException:
        work.unlink(missing_ok=True)
        raise
    return ExportResult(
        out=target,
        format="robomimic",
        episodes=len(source),
        frames=sum(e.length for e in source),
        episode_ids=tuple(e.episode_id for e in source),
        cameras=tuple(c.stream for c in layout.cameras),
        details={"demos": dict(names)},
    )


def _write_demo(data: Any, name: str, layout: Layout, episode: SourceEpisode) -> None:
    n = episode.length
    demo = data.create_group(name)
    demo.attrs["num_samples"] = n
    demo.attrs["ep_meta"] = json.dumps(
        {
            "lang": episode.prompt,
            "task": episode.task,
            "episode_id": episode.episode_id,
            "success": episode.success,
        }
    )
    obs = demo.create_group("obs")
    for stream, _ in layout.observation:
        obs.create_dataset(stream, data=episode.values[stream])
    if layout.cameras:
        with EpisodeReader(episode.path) as reader:
            for camera in layout.cameras:
                images = obs.create_dataset(
                    f"{camera.stream}_image",
                    shape=(n, camera.height, camera.width, 3),
                    dtype=np.uint8,
                    chunks=(1, camera.height, camera.width, 3),
                )
                for k, rgb in enumerate(frames(reader, camera, episode)):
                    images[k] = rgb
    next_obs = demo.create_group("next_obs")
    for key, source in obs.items():
        layout_ = h5py.VirtualLayout(shape=source.shape, dtype=source.dtype)
        view = h5py.VirtualSource(".", source.name, shape=source.shape)
        if n > 1:
            layout_[: n - 1] = view[1:n]
        layout_[n - 1] = view[n - 1]
        next_obs.create_virtual_dataset(key, layout_)
    demo.create_dataset("actions", data=episode.concat(layout.action))
    dones = np.zeros(n, dtype=np.int64)
    dones[-1] = 1
    demo.create_dataset("dones", data=dones)
    rewards = np.zeros(n, dtype=np.float64)
    rewards[-1] = 1.0 if episode.success else 0.0
    demo.create_dataset("rewards", data=rewards)


def _env_args(layout: Layout, source: Sequence[SourceEpisode]) -> dict[str, Any]:
    tasks = sorted({e.task for e in source})
    return {
        "env_name": tasks[0] if len(tasks) == 1 else "+".join(tasks),
        "type": _GYM_TYPE,
        "env_kwargs": {
            "robot_profile": layout.robot,
            "control_freq": layout.fps,
            "observation": {stream: list(columns) for stream, columns in layout.observation},
            "action": layout.action_names,
            "cameras": [c.stream for c in layout.cameras],
            "source": "training-ground",
        },
    }


def _masks(split: Mapping[str, Sequence[str]] | None, names: Mapping[str, str]) -> dict[str, list[str]]:
    if split is None:
        return {"train": list(names), "valid": []}
    return {key: [i for i in ids if i in names] for key, ids in split.items()}
