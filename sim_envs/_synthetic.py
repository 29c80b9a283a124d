"""Synthetic episodes for any profile: a scripted pick-and-place and textured, changing images.

Used by `tg demo` until the simulation exists and by tests that need realistic
files. Every stream is generated from its declared kind, rate and joint limits,
so it works for any robot profile, never for one hard-coded robot.

The motion follows a script, as a teleoperated pick-and-place does: the robot
stands still, reaches (minimum-jerk moves of every joint declared ``moves``),
closes its grippers, carries, opens them, retreats, and stands still again.
Moves stay within half of each joint's velocity limit. The script's phase
times, as the commands carry them, are stored in the episode's ``extra_json``
under ``script``, so tools that segment episodes can be checked against them.
"""

from __future__ import annotations

import dataclasses
import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from episodes import ArrayStreamSpec, EpisodeWriter, ImageStreamSpec, Role, StreamKind, StreamSpec
from tg_config import ResolvedSession

__all__ = ["record_synthetic_episode"]

_DEFAULT_RATE_HZ = 30.0
_ACTION_LEAD_S = 0.1  # a command leads the state it produces
_IDLE_S, _IDLE_FRACTION = 1.0, 0.1  # standing still before and after: 1 s or 10 %, at least
_GRIP_S, _GRIP_FRACTION = 0.6, 0.08  # closing or opening the grippers
_MOVE_S = 6.0  # longest reach, transport or retreat
_VELOCITY_SHARE = 0.5  # moves peak at this share of a joint's velocity limit
_MIN_JERK_PEAK = 1.875  # peak of d/dtau of the minimum-jerk law 10t^3 - 15t^4 + 6t^5
_CLOSED = (0.55, 0.75)  # closure when the fingers meet the object
# Per phase of the script: the waypoint it starts from and the one it moves to (equal: a hold).
_LEGS = ((0, 0), (0, 1), (1, 1), (1, 2), (2, 2), (2, 0), (0, 0))
_POSITION_NOISE = 1e-4  # rad: encoder noise
_CLOSURE_NOISE = 2e-3


def record_synthetic_episode(
    run: ResolvedSession,
    *,
    duration_s: float = 10.0,
    seed: int = 0,
    success: bool | None = None,
) -> Path:
    """Record one synthetic episode of ``run``'s streams into ``run.out``; return its path.

    >>> from tg_config import load_profile, load_session
    >>> run = load_session("launch/sim_pick_place.yaml").resolve()  # doctest: +SKIP
    >>> record_synthetic_episode(run, duration_s=2.0)  # doctest: +SKIP
    PosixPath('datasets/sim_pick_place/01J....h5')
    """
    rng = np.random.default_rng(seed)
    script = _Script.of(duration_s)
    motion = _Motion(run, script, rng)
    info = run.episode_info("synthetic")
    info = dataclasses.replace(info, extra={**info.extra, "seed": seed, "script": script.to_json()})
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


@dataclass(frozen=True)
class _Script:
    """Phase boundaries of the scripted pick-and-place, in seconds from the start."""

    bounds: tuple[float, ...]  # start of each phase, then the end of the last
    labels: tuple[str, ...] = ("idle", "reach", "grasp", "transport", "release", "retreat", "idle")

    @classmethod
    def of(cls, duration_s: float) -> _Script:
        grip = min(_GRIP_S, _GRIP_FRACTION * duration_s)
        # A person's moves take seconds, however long the recording: a long one idles longer.
        move = min(_MOVE_S, (duration_s - 2 * min(_IDLE_S, _IDLE_FRACTION * duration_s) - 2 * grip) / 3)
        idle = (duration_s - 2 * grip - 3 * move) / 2
        steps = (idle, move, grip, move, grip, move, idle)
        return cls(tuple(float(b) for b in np.concatenate([[0.0], np.cumsum(steps)])))

    def phase(self, t: float) -> tuple[int, float]:
        """Index of the phase at ``t`` and how far through it (0..1)."""
        i = int(np.clip(np.searchsorted(self.bounds, t, side="right") - 1, 0, len(self.labels) - 1))
        start, stop = self.bounds[i], self.bounds[i + 1]
        return i, float(np.clip((t - start) / (stop - start), 0.0, 1.0)) if stop > start else 1.0

    def to_json(self) -> list[Any]:
        """``[[label, start_ns, stop_ns], ...]``: the operator's plan, as the commands carry it.

        Commands lead the state by ``_ACTION_LEAD_S``, so the phases the operator meant
        start that much before the state shows them (annotation dates phases on the command
        clock, episodes/QA.md). Stamps never go below 0.
        """
        times = [max(round((b - _ACTION_LEAD_S) * 1e9), 0) for b in self.bounds]
        return [[label, times[i], times[i + 1]] for i, label in enumerate(self.labels)]


def _min_jerk(tau: float) -> tuple[float, float]:
    """Position (0..1) and its derivative in tau of the minimum-jerk law."""
    return tau**3 * (10 - 15 * tau + 6 * tau**2), 30 * tau**2 * (1 - tau) ** 2


class _Motion:
    """The script's joint and gripper trajectories, and a scene a camera can look at."""

    def __init__(self, run: ResolvedSession, script: _Script, rng: np.random.Generator) -> None:
        profile = run.profile
        self._script = script
        self._index = {j.name: i for i, j in enumerate(profile.joints)}
        lower, upper = profile.joint_limits()
        n = len(profile.joints)
        moves = np.array([j.moves for j in profile.joints], dtype=bool)
        velocity = np.array([j.velocity for j in profile.joints], dtype=np.float64)
        mid, half = (lower + upper) / 2, (upper - lower) / 2
        move_s = script.bounds[2] - script.bounds[1]
        # Each move changes every moving joint by a visible amount (the grasp and the place are on
        # opposite sides of home), never faster than its share of the velocity limit: the
        # transport, from one side to the other, covers up to twice ``most``.
        most = np.minimum(0.3 * half, _VELOCITY_SHARE * velocity * move_s / (2 * _MIN_JERK_PEAK))
        side = rng.choice([-1.0, 1.0], n) * most
        home = mid + rng.uniform(-0.1, 0.1, n) * half
        grasp = home + side * rng.uniform(0.5, 1.0, n)
        self._waypoints = np.stack([home, grasp, home - side * rng.uniform(0.5, 1.0, n)])
        self._waypoints[:, ~moves] = mid[~moves]
        self._closed = rng.uniform(*_CLOSED)
        self._textures: dict[str, npt.NDArray[Any]] = {}
        self._rng = rng

    def _joints(self, t: float) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Positions and velocities of every profile joint at ``t``."""
        i, tau = self._script.phase(t)
        w = self._waypoints
        a, b = _LEGS[i]
        s, ds = _min_jerk(tau)
        span = self._script.bounds[i + 1] - self._script.bounds[i]
        position = w[a] + (w[b] - w[a]) * s
        velocity = (w[b] - w[a]) * ds / span if span > 0 else np.zeros_like(position)
        return position, velocity

    def _closure(self, t: float) -> float:
        i, tau = self._script.phase(t)
        label = self._script.labels[i]
        if label == "grasp":
            return self._closed * tau
        if label == "release":
            return self._closed * (1 - tau)
        return self._closed if label == "transport" else 0.0

    def _columns(self, values: npt.NDArray[np.float64], names: tuple[str, ...]) -> npt.NDArray[Any]:
        rows = np.array([self._index.get(n, -1) for n in names], dtype=np.int64)
        out = np.zeros(len(names))
        out[rows >= 0] = values[rows[rows >= 0]]
        return out

    def sample(self, spec: StreamSpec, t: float) -> npt.NDArray[Any]:
        if isinstance(spec, ImageStreamSpec):
            return self._frame(spec, t)
        return self._vector(spec, t)

    def _vector(self, spec: ArrayStreamSpec, t: float) -> npt.NDArray[Any]:
        noise = self._rng.normal(0.0, _POSITION_NOISE, spec.dim)
        if spec.role is Role.ACTION:
            t += _ACTION_LEAD_S
        kind = spec.kind
        if kind is StreamKind.JOINT_POSITION:
            return self._columns(self._joints(t)[0], spec.names) + noise
        if kind is StreamKind.JOINT_VELOCITY:
            return self._columns(self._joints(t)[1], spec.names) + noise
        if kind is StreamKind.GRIPPER:
            closure = np.full(spec.dim, self._closure(t))
            if spec.role is Role.OBSERVATION:
                closure += self._rng.normal(0.0, _CLOSURE_NOISE, spec.dim)
            clipped: npt.NDArray[Any] = np.clip(closure, 0.0, 1.0)
            return clipped
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
