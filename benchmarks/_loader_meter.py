"""What each of ``bench_loader.py``'s configurations measures, shared by its two kinds of child.

``bench_loader.py --child`` runs in the project's environment and ``_lerobot_loader.py`` in
``.venv-verify`` (lerobot and torch, none of the project's packages), so this module imports
only the standard library and numpy. Both charge the same span (from creating the loader's
iterator, which opens files and starts workers, to the last batch) and report the same JSON
fields (:meth:`Meter.result`).

>>> order = sample_order(5, 7)
>>> sorted(order[:5]), len(order)
([0, 1, 2, 3, 4], 7)
>>> meter = Meter(build_s=0.5)
>>> sorted(meter.result("loop", 7, workers=0))[:4]
['anon_rss_mb', 'build_s', 'cpu_ms_per_sample', 'cpu_s']
"""

from __future__ import annotations

import resource
import time
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["BATCH", "Meter", "sample_order", "torch_count"]

BATCH = 8


def sample_order(length: int, samples: int) -> list[int]:
    """``samples`` indices of a dataset of ``length``, in a seeded random order (repeating past one epoch)."""
    order: list[int] = np.resize(np.random.default_rng(0).permutation(length), samples).tolist()
    return order


def torch_count(torch: Any, data: Any, order: list[int], workers: int) -> int:
    """Every batch of ``order`` through a torch ``DataLoader`` (batch :data:`BATCH`); the samples read."""
    loader = torch.utils.data.DataLoader(data, batch_size=BATCH, sampler=order, num_workers=workers)
    count = 0
    for batch in loader:
        count += len(batch["action"])
    del loader  # joins the workers, so that their usage is counted by the caller's rusage
    return count


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _status_mb(field: str) -> float:
    """A memory figure of this process from ``/proc/self/status``, in MB (0 where the kernel lacks it)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


class Meter:
    """Started just before the loader's iterator is created; everything after it is charged."""

    def __init__(self, build_s: float) -> None:
        self.build_s = build_s
        self.wall0 = time.perf_counter()
        # Children count too (a DataLoader's workers, joined before result()); earlier ones are not charged.
        self.cpu0 = _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN)

    def result(self, mode: str, count: int, *, workers: int) -> dict[str, Any]:
        """The figures since the start: call it after the workers were joined."""
        wall = time.perf_counter() - self.wall0
        cpu = _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN) - self.cpu0
        return {
            "mode": mode,
            "samples": count,
            "wall_s": round(wall, 2),
            "samples_per_s": round(count / wall, 1),
            "cpu_s": round(cpu, 2),
            "cpu_ms_per_sample": round(1e3 * cpu / count, 2),
            "samples_per_cpu_s": round(count / cpu, 1),
            "build_s": round(self.build_s, 3),
            # VmHWM, not ru_maxrss: Linux carries the maximum over an exec, so ru_maxrss would report
            # the benchmark's own peak (its generated datasets) for a child that used far less.
            "peak_rss_mb": _status_mb("VmHWM"),
            # Anonymous memory only: the pages of a memory map (the prepared cache) are not in it.
            "anon_rss_mb": _status_mb("RssAnon"),
            "worker_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
            if workers
            else 0.0,
        }
