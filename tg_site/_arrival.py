"""What happens to an episode once it is in the store: quality gate, annotation, thumbnail, catalogue.

The checks run on an executor (:mod:`tg_exec`: spawned local worker processes by
default, or a Ray cluster), the same code as ``tg validate --write`` and ``tg
annotate``: they write their results into the episode through its update journal;
the catalogue is updated in the server process, by its one catalogue writer, when a
worker is done. Each queued episode leaves a marker in ``incoming/arrivals/`` until
its catalogue row is written, so an arrival cut short by a crash is redone when the
server starts again.

An arrival may run more than once (redone after a crash, or retried by the executor
when its worker or node died): validating and annotating again write the same
results, the thumbnail is renamed into place whole, and the catalogue row is written
by the server once the last run is done.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

import episodes
from tg_config import EpisodeQaConfigs
from tg_exec import Executor, WorkerDiedError
from tg_site._store import Store, fsync_path

__all__ = ["ArrivalJob", "ArrivalOutcome", "Arrivals", "make_thumbnail", "process_arrival"]

_log = logging.getLogger("tg_site.arrival")
_THUMB_WIDTH = 320
_MARKERS = "arrivals"


@dataclass(frozen=True)
class ArrivalOutcome:
    """What the arrival of one episode found and did; ``error`` when its worker could not finish."""

    episode_id: str
    qa_passed: bool | None = None
    errors: int = 0
    warnings: int = 0
    annotated: bool = False
    thumbnail: bool = False
    stage_seconds: dict[str, float] = field(default_factory=dict)
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ArrivalOutcome:
        return cls(**data)


@dataclass(frozen=True)
class ArrivalJob:
    """One stored episode for :func:`process_arrival` (paths as strings: they travel to workers)."""

    episode_id: str
    path: str
    thumbnail: str


def process_arrival(job: ArrivalJob) -> ArrivalOutcome:
    """Validate (``--write``), annotate and thumbnail one stored episode: a worker's whole job."""
    episode_id, path, thumbnail = job.episode_id, job.path, job.thumbnail
    stages: dict[str, float] = {}
    started = time.perf_counter()
    configs = EpisodeQaConfigs()
    report = episodes.validate_episode(path, configs, write=True)
    stages["validate"] = time.perf_counter() - started
    started = time.perf_counter()
    annotated = episodes.annotate_episode(path, configs)
    stages["annotate"] = time.perf_counter() - started
    started = time.perf_counter()
    thumb = make_thumbnail(Path(path), Path(thumbnail))
    stages["thumbnail"] = time.perf_counter() - started
    return ArrivalOutcome(
        episode_id,
        qa_passed=report.passed,
        errors=report.errors,
        warnings=report.warnings,
        annotated=annotated.annotations is not None,
        thumbnail=thumb,
        stage_seconds=stages,
        error=annotated.error,
    )


def make_thumbnail(path: Path, target: Path) -> bool:
    """A JPEG of the head camera's middle frame (else the first camera's), ``_THUMB_WIDTH`` wide at most.

    False when the episode has no camera or its frame does not decode (the quality
    gate reports why).
    """
    try:
        with episodes.open(path) as reader:
            cameras = [s for s in reader.streams.values() if s.is_image and s.count > 0]
            if not cameras:
                return False
            head = next((s for s in cameras if "head" in s.name), cameras[0])
            rgb = reader.image(head.name, head.count // 2).decode()
    except (episodes.EpisodeError, OSError, ValueError, KeyError):
        return False
    if rgb.dtype != np.uint8:  # depth: scale to 8 bits for a picture
        rgb = cv2.convertScaleAbs(rgb, alpha=255.0 / max(1, int(rgb.max())))
    scale = min(1.0, _THUMB_WIDTH / rgb.shape[1])
    small = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else rgb
    bgr = cv2.cvtColor(small, cv2.COLOR_RGB2BGR) if small.ndim == 3 else small
    ok, encoded = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    work = target.with_name(f".{target.name}.tmp")
    work.write_bytes(encoded.tobytes())
    os.replace(work, target)
    return True


class Arrivals:
    """The queue of stored episodes waiting for their checks, and the executor that runs them.

    ``on_done(outcome)`` is called (in an executor thread) when an episode's worker
    finished or died; it writes the catalogue and then calls :meth:`done`,
    which removes the episode's marker. The executor is the queue's: :meth:`close`
    closes it.
    """

    def __init__(self, store: Store, executor: Executor, on_done: Callable[[ArrivalOutcome], None]) -> None:
        self._store = store
        self._executor = executor
        self._on_done = on_done
        self._markers = store.incoming_dir / _MARKERS
        self._markers.mkdir(exist_ok=True)
        self._lock = threading.Lock()
        self._pending: set[str] = set()

    @property
    def depth(self) -> int:
        """Episodes queued or being processed."""
        with self._lock:
            return len(self._pending)

    def resume(self) -> list[str]:
        """Queue again every arrival a crash cut short (markers left); their ids."""
        again = sorted(p.name for p in self._markers.iterdir() if not p.name.startswith("."))
        for episode_id in again:
            if self._store.episode_path(episode_id).exists():
                self.submit(episode_id)
            else:
                (self._markers / episode_id).unlink(missing_ok=True)
        return again

    def submit(self, episode_id: str) -> None:
        """Queue the stored episode ``episode_id`` (its marker is made durable first)."""
        marker = self._markers / episode_id
        if not marker.exists():
            marker.touch()
            fsync_path(self._markers)
        with self._lock:
            if episode_id in self._pending:
                return
            self._pending.add(episode_id)
        job = ArrivalJob(
            episode_id,
            str(self._store.episode_path(episode_id)),
            str(self._store.thumbnail_path(episode_id)),
        )
        future = self._executor.submit(process_arrival, job)
        future.add_done_callback(functools.partial(self._finished, episode_id))

    def _finished(self, episode_id: str, future: Future[ArrivalOutcome]) -> None:
        try:
            outcome = future.result()
        except WorkerDiedError as exc:
            _log.error(
                "arrival of %s: its worker died (%s); the catalogue row has no QA result", episode_id, exc
            )
            outcome = ArrivalOutcome(episode_id, error=f"its arrival worker died: {exc}")
        except Exception as exc:
            _log.exception("arrival of %s failed", episode_id)
            outcome = ArrivalOutcome(episode_id, error=f"{type(exc).__name__}: {exc}")
        self._on_done(outcome)

    def done(self, episode_id: str) -> None:
        """The catalogue holds ``episode_id``'s arrival: forget its marker."""
        (self._markers / episode_id).unlink(missing_ok=True)
        with self._lock:
            self._pending.discard(episode_id)

    def close(self) -> None:
        """Wait for the arrivals running; those still queued keep their markers, redone next start."""
        self._executor.close()
