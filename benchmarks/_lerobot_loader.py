"""``bench_loader.py``'s LeRobotDataset peer: one configuration, run by ``.venv-verify``'s Python.

That environment (``make .venv-verify/.installed``: lerobot 0.4.4, torch, PyAV) has none of the
project's packages, so this script imports only lerobot, torch, numpy and ``_loader_meter``
(standard library and numpy). ``bench_loader.py`` exports the case's dataset with
``episodes.export_lerobot`` first and runs::

    .venv-verify/bin/python benchmarks/_lerobot_loader.py '{"root": "EXPORT", "workers": 0, "samples": 64,
        "obs_horizon": 1, "action_horizon": 50, "backend": "pyav"}'

which prints one JSON line with the fields of the other loaders' children (``Meter.result``).
The sample is the one the other loaders return: ``LeRobotDataset(root=EXPORT,
delta_timestamps=...)`` with the state and every camera over the last ``obs_horizon`` ticks and
the action over the next ``action_horizon`` (``action_is_pad`` past the episode's end, the
row repeating the last tick's, as ours), each camera's frames decoded from the video per sample
(float32 in [0, 1], channel-first, at the exported size), state and action normalised by the
export's mean and std (std clipped at 1e-2, as the others; lerobot leaves this to the policy's
preprocessor).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from lerobot.datasets.lerobot_dataset import LeRobotDataset, LeRobotDatasetMetadata

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _loader_meter import Meter, sample_order, torch_count

__all__ = ["NormalisedLeRobot", "delta_timestamps", "run"]

STD_EPS = 1e-2
REPO_ID = "local/bench_loader"  # a local dataset: the id only names it


def delta_timestamps(
    fps: int, keys: list[str], obs_horizon: int, action_horizon: int
) -> dict[str, list[float]]:
    """Seconds from ``t`` of ticks ``t - obs_horizon + 1 .. t`` (each key), ``t .. t + action_horizon - 1``.

    >>> delta_timestamps(10, ["observation.state"], 2, 3)
    {'observation.state': [-0.1, 0.0], 'action': [0.0, 0.1, 0.2]}
    """
    deltas = {key: [(k - obs_horizon + 1) / fps for k in range(obs_horizon)] for key in keys}
    deltas["action"] = [k / fps for k in range(action_horizon)]
    return deltas


class NormalisedLeRobot(torch.utils.data.Dataset):
    """A LeRobotDataset's samples with state and action normalised by the dataset's mean and std."""

    def __init__(self, data: LeRobotDataset) -> None:
        self.data = data
        self.scale: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        for key in ("observation.state", "action"):
            stats = data.meta.stats[key]
            mean = torch.as_tensor(np.asarray(stats["mean"]), dtype=torch.float32)
            std = torch.as_tensor(np.clip(np.asarray(stats["std"]), STD_EPS, None), dtype=torch.float32)
            self.scale[key] = (mean, std)

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> dict[str, Any]:
        item: dict[str, Any] = self.data[index]
        for key, (mean, std) in self.scale.items():
            item[key] = (item[key] - mean) / std
        return item


def run(spec: dict[str, Any]) -> dict[str, Any]:
    # One intra-op thread, as bench_loader's other children and DataLoader workers use.
    torch.set_num_threads(1)
    started = time.perf_counter()
    root = Path(spec["root"])
    meta = LeRobotDatasetMetadata(REPO_ID, root=root)
    keys = ["observation.state", *meta.video_keys]
    deltas = delta_timestamps(meta.fps, keys, spec["obs_horizon"], spec["action_horizon"])
    data = NormalisedLeRobot(
        LeRobotDataset(REPO_ID, root=root, video_backend=spec["backend"], delta_timestamps=deltas)
    )
    order = sample_order(len(data), spec["samples"])
    meter = Meter(time.perf_counter() - started)  # from here on everything is charged
    count = torch_count(torch, data, order, spec["workers"])
    result = meter.result("torch DataLoader", count, workers=spec["workers"])
    result["video_backend"] = spec["backend"]
    return result


if __name__ == "__main__":
    print(json.dumps(run(json.loads(sys.argv[1]))))
