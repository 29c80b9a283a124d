"""Live warnings about the station's inputs: frozen, dark or saturated cameras, silent topics, a filling disk.

Computed cheaply on the recorder's callback thread, idle or recording, so an
operator (``tg record``'s status line) and the site (the station's report) see a
problem within a couple of seconds of its onset, before an episode is wasted:

* a camera is **frozen** when its frames stop changing: the same digest (CRC-32
  of a compressed frame, of every 61st byte of a raw one) for ``frozen_after_s``;
* **dark** or **saturated** when the mean of a small thumbnail (a compressed frame
  decoded at 1/8 scale, or the sampled bytes of a raw 8-bit one), taken every
  ``thumbnail_every`` frames, is below ``dark_below`` or above ``saturated_above``;
* a topic heard before is **silent** for more than its gap threshold (5 of its
  periods, at least 0.5 s);
* the disk the episodes go to has less than ``min_free_bytes`` free.

Each warning names the topic (or the directory) and says what to check.

>>> health = LiveHealth(HealthOptions(), Path("."))
>>> health.warnings(0, {})
()
"""

from __future__ import annotations

import shutil
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from collectors._recorder_counters import TopicCounters

__all__ = ["CameraHealth", "HealthOptions", "LiveHealth"]

_NS = 1_000_000_000
_RAW_STRIDE = 61  # bytes sampled from a raw frame: about 15,000 of a 640x480 RGB one
_EIGHT_BIT = frozenset({"rgb8", "bgr8", "rgba8", "bgra8", "mono8", "8UC1", "8UC3"})


@dataclass(frozen=True)
class HealthOptions:
    """Thresholds of the live warnings; ``min_free_bytes`` 0 turns the disk warning off."""

    frozen_after_s: float = 1.5
    dark_below: float = 8.0  # mean of 0-255
    saturated_above: float = 247.0
    thumbnail_every: int = 5
    min_free_bytes: int = 1 << 30
    disk_every_s: float = 1.0


@dataclass
class CameraHealth:
    """One camera topic: the digest of its last frame and since when it has not changed, its brightness."""

    topic: str
    compressed: bool
    options: HealthOptions
    digest: int = -1
    same_since: int = -1  # arrival of the first of the identical frames, -1 while they change
    same_frames: int = 0
    frames: int = 0
    last: int = -1
    mean: float | None = None

    def frame(self, msg: Any, now: int) -> None:
        data = msg.data
        sample = bytes(data) if self.compressed else _sampled(data)
        digest = zlib.crc32(sample)
        if digest == self.digest:
            self.same_frames += 1
        else:
            self.digest, self.same_since, self.same_frames = digest, now, 0
        if self.frames % self.options.thumbnail_every == 0:
            self.mean = _mean(sample, self.compressed, str(getattr(msg, "encoding", "")))
        self.frames += 1
        self.last = now

    def warning(self, now: int) -> str:
        o = self.options
        fresh = now - self.last < o.frozen_after_s * _NS  # a camera that stopped is silent, not frozen
        if fresh and self.same_frames >= 2 and now - self.same_since >= o.frozen_after_s * _NS:
            return (
                f"{self.topic}: camera frozen, the same frame for {(now - self.same_since) / _NS:.1f} s: "
                "check the camera and its driver (is the image stuck?)"
            )
        mean = self.mean
        if mean is not None and mean < o.dark_below:
            return f"{self.topic}: camera dark (mean {mean:.0f} of 255): check the lens cap, lights, exposure"
        if mean is not None and mean > o.saturated_above:
            return f"{self.topic}: camera saturated (mean {mean:.0f} of 255): check exposure and direct light"
        return ""


def _sampled(data: Any) -> bytes:
    try:
        array = np.frombuffer(data, dtype=np.uint8)
    except (TypeError, ValueError):
        array = np.asarray(data, dtype=np.uint8)
    return array[::_RAW_STRIDE].tobytes()


def _mean(sample: bytes, compressed: bool, encoding: str) -> float | None:
    if compressed:
        buffer = np.frombuffer(sample, dtype=np.uint8)
        thumb = cv2.imdecode(buffer, cv2.IMREAD_REDUCED_GRAYSCALE_8)
        return None if thumb is None or thumb.size == 0 else float(thumb.mean())
    if encoding not in _EIGHT_BIT or not sample:
        return None  # depth or 16-bit: brightness says nothing
    return float(np.frombuffer(sample, dtype=np.uint8).mean())


class LiveHealth:
    """The live warnings of one recorder: per camera topic, per topic's silence, the disk of ``out``."""

    def __init__(self, options: HealthOptions, out: Path) -> None:
        self.options = options
        self._out = out
        self._cameras: dict[str, CameraHealth] = {}
        self._disk_checked = -1
        self._disk_warning = ""

    def camera(self, topic: str, compressed: bool) -> Callable[[Any, int], None]:
        """The per-frame hook of camera ``topic`` (called under the recorder's lock)."""
        health = self._cameras.setdefault(topic, CameraHealth(topic, compressed, self.options))
        return health.frame

    def warnings(self, now: int, counters: Mapping[str, TopicCounters]) -> tuple[str, ...]:
        found = [w for c in self._cameras.values() if (w := c.warning(now))]
        for topic, c in counters.items():
            if c.total and c.last_arrival >= 0 and now - c.last_arrival > c.gap_ns:
                rate = f" of its {c.expected_hz:g} Hz" if c.expected_hz else ""
                found.append(
                    f"{topic}: silent for {(now - c.last_arrival) / _NS:.1f} s (more than 5 periods{rate}): "
                    "check that its publisher runs and the cable or network"
                )
        disk = self._disk(now)
        if disk:
            found.append(disk)
        return tuple(found)

    def _disk(self, now: int) -> str:
        o = self.options
        if o.min_free_bytes <= 0:
            return ""
        due = now - self._disk_checked >= o.disk_every_s * _NS
        if self._disk_checked < 0 or due or now < self._disk_checked:
            self._disk_checked = now
            self._disk_warning = ""
            where = self._out
            while not where.exists() and where != where.parent:
                where = where.parent
            try:
                free = shutil.disk_usage(where).free
            except OSError:
                return ""
            if free < o.min_free_bytes:
                self._disk_warning = (
                    f"disk: {free / 1e9:.2f} GB free in {self._out} (warning below "
                    f"{o.min_free_bytes / 1e9:.2f} GB): free space, or push and delete episodes "
                    "(--site with --delete-after-push); a full disk ends the episode"
                )
        return self._disk_warning
