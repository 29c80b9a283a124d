"""Synthetic episodes for any profile: plausible motion and textured, changing images.

Used by `tg demo` until the simulation exists and by tests that need realistic
files. Every stream is generated from its declared kind, rate and joint limits,
so it works for any robot profile, never for one hard-coded robot.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from collectors._session import ResolvedSession
from episodes import ArrayStreamSpec, EpisodeWriter, ImageStreamSpec, Role, StreamKind, StreamSpec

__all__ = ["record_synthetic_episode"]

_DEFAULT_RATE_HZ = 30.0
_ACTION_LEAD_S = 0.1  # a command leads the state it produces


def record_synthetic_episode(
    run: ResolvedSession,
    *,
    duration_s: float = 10.0,
    seed: int = 0,
    success: bool | None = None,
) -> Path:
    """Record one synthetic episode of ``run``'s streams into ``run.out``; return its path.

    >>> from collectors import load_profile, load_session
    >>> run = load_session("launch/sim_pick_place.yaml").resolve()  # doctest: +SKIP
    >>> record_synthetic_episode(run, duration_s=2.0)  # doctest: +SKIP
    PosixPath('datasets/sim_pick_place/01J....h5')
    """
    rng = np.random.default_rng(seed)
    motion = _Motion(run, rng)
    info = run.episode_info("synthetic")
    with EpisodeWriter(
        run.out,
        streams=run.streams,
        info=info,
        aligned_rate_hz=run.aligned_rate_hz,
        urdf=run.profile.urdf_text(),
    ) as writer:
        for stamp_ns, spec in _schedule(run.streams, duration_s, rng):
            writer.append(spec.name, stamp_ns, motion.sample(spec, stamp_ns / 1e9))
        writer.set_labels(success=success)
    return writer.final_path


def _schedule(
    streams: tuple[StreamSpec, ...], duration_s: float, rng: np.random.Generator
) -> Iterator[tuple[int, StreamSpec]]:
    """Sample times of all streams merged in time order, each stream with a small start offset."""
    heap: list[tuple[int, int, int]] = []
    periods: list[int] = []
    for i, spec in enumerate(streams):
        period = round(1e9 / (spec.rate_hz or _DEFAULT_RATE_HZ))
        periods.append(period)
        heap.append((int(rng.integers(0, period)), i, 0))
    heapq.heapify(heap)
    stop_ns = int(duration_s * 1e9)
    while heap:
        stamp, i, k = heapq.heappop(heap)
        if stamp >= stop_ns:
            continue
        yield stamp, streams[i]
        # Real clocks jitter; a few percent of the period keeps stamps increasing.
        jitter = int(rng.integers(-periods[i] // 50, periods[i] // 50 + 1))
        heapq.heappush(heap, (stamp + periods[i] + jitter, i, k + 1))


class _Motion:
    """Smooth, bounded trajectories for each joint, and a scene a camera can look at."""

    def __init__(self, run: ResolvedSession, rng: np.random.Generator) -> None:
        profile = run.profile
        self._joints = {j.name: j for j in profile.joints}
        n = len(profile.joints)
        self._freq = rng.uniform(0.1, 0.4, n)
        self._phase = rng.uniform(0, 2 * np.pi, n)
        self._index = {j.name: i for i, j in enumerate(profile.joints)}
        lower, upper = profile.joint_limits()
        moves = np.array([j.moves for j in profile.joints])
        mid = (lower + upper) / 2
        self._mid = mid
        self._amp = np.where(moves, 0.3 * (upper - lower) / 2, 0.0)
        self._textures: dict[str, npt.NDArray[Any]] = {}
        self._rng = rng

    def _joint_rows(self, names: tuple[str, ...]) -> npt.NDArray[np.int64]:
        return np.array([self._index.get(n, -1) for n in names], dtype=np.int64)

    def _positions(self, t: float, names: tuple[str, ...]) -> npt.NDArray[Any]:
        rows = self._joint_rows(names)
        known = rows >= 0
        out = np.zeros(len(names))
        r = rows[known]
        out[known] = self._mid[r] + self._amp[r] * np.sin(2 * np.pi * self._freq[r] * t + self._phase[r])
        return out

    def _velocities(self, t: float, names: tuple[str, ...]) -> npt.NDArray[Any]:
        rows = self._joint_rows(names)
        known = rows >= 0
        out = np.zeros(len(names))
        r = rows[known]
        w = 2 * np.pi * self._freq[r]
        out[known] = self._amp[r] * w * np.cos(w * t + self._phase[r])
        return out

    def sample(self, spec: StreamSpec, t: float) -> npt.NDArray[Any]:
        if isinstance(spec, ImageStreamSpec):
            return self._frame(spec, t)
        return self._vector(spec, t)

    def _vector(self, spec: ArrayStreamSpec, t: float) -> npt.NDArray[Any]:
        noise = self._rng.normal(0.0, 1e-4, spec.dim)
        lead = _ACTION_LEAD_S if spec.role is Role.ACTION else 0.0
        kind = spec.kind
        if kind is StreamKind.JOINT_POSITION:
            return self._positions(t + lead, spec.names) + noise
        if kind is StreamKind.JOINT_VELOCITY:
            return self._velocities(t + lead, spec.names) + noise
        if kind is StreamKind.GRIPPER:
            closure: npt.NDArray[Any] = 0.5 + 0.5 * np.sin(0.5 * (t + lead) + np.arange(spec.dim))
            return closure
        if kind is StreamKind.IMU and spec.dim == 10:
            tilt = 0.02 * float(np.sin(0.3 * t))
            quat = [float(np.sin(tilt / 2)), 0.0, 0.0, float(np.cos(tilt / 2))]
            return np.array([*quat, 0.0, 0.0, 0.0, 0.0, 0.0, 9.81]) + noise
        if kind is StreamKind.POSE and spec.dim == 7:
            return np.array([0.4 + 0.1 * np.sin(t), 0.1 * np.cos(t), 0.9, 0.0, 0.0, 0.0, 1.0]) + noise
        # Efforts, wrenches, generic signals: slow smooth variation around zero.
        smooth: npt.NDArray[Any] = 0.5 * np.sin(0.7 * t + np.arange(spec.dim)) + noise
        return smooth

    def _frame(self, spec: ImageStreamSpec, t: float) -> npt.NDArray[Any]:
        h, w = spec.height, spec.width
        texture = self._textures.get(spec.name)
        if texture is None:
            noise = self._rng.integers(0, 256, (h + 32, w + 32, 3), dtype=np.uint8)
            texture = cv2.GaussianBlur(noise, (0, 0), 3)
            self._textures[spec.name] = texture
        k = int(t * 20)
        frame = texture[k % 32 : k % 32 + h, (2 * k) % 32 : (2 * k) % 32 + w].copy()
        cx = int(w / 2 + 0.3 * w * np.sin(0.8 * t))
        cy = int(h / 2 + 0.2 * h * np.cos(0.6 * t))
        size = max(2, w // 12)
        cv2.rectangle(frame, (cx - size, cy - size), (cx + size, cy + size), (220, 30, 30), -1)
        sensor_noise = self._rng.integers(-3, 4, frame.shape, dtype=np.int16)
        noisy: npt.NDArray[Any] = np.clip(frame.astype(np.int16) + sensor_noise, 0, 255).astype(np.uint8)
        if spec.kind is StreamKind.DEPTH:
            depth: npt.NDArray[Any] = (800 + 4 * noisy[:, :, 0].astype(np.uint16)).astype(np.uint16)
            return depth
        if spec.channels == 1:
            gray: npt.NDArray[Any] = cv2.cvtColor(noisy, cv2.COLOR_RGB2GRAY)
            return gray
        return noisy
