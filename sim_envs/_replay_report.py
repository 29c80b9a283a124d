"""What a replay found: per-joint tracking error, the best-aligning lag, the worst moments.

Pure numpy over two arrays of joint positions (recorded and replayed) at the
recorded stamps, so it is tested without a simulator and shared by ``tg replay``
and the ``replay.divergence`` quality check.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["JointTracking", "ReplayReport", "Tracking", "WorstMoment", "compare_tracks"]

FloatArray = npt.NDArray[np.float64]

_LAG_GRID_HZ = 100.0  # the lag search resamples both tracks on this grid (10 ms resolution)
_MOMENT_SPACING_S = 0.5  # worst moments at least this far apart


@dataclass(frozen=True)
class JointTracking:
    """One joint's tracking error over the episode (radians, or metres for a prismatic joint)."""

    joint: str
    rms: float
    max: float
    worst_s: float  # seconds from the episode's start where the error is largest


@dataclass(frozen=True)
class WorstMoment:
    """One of the moments where the replay and the recording differ most."""

    time_s: float
    joint: str
    error: float
    recorded: float
    replayed: float


@dataclass(frozen=True)
class Tracking:
    """How closely the replayed joints follow the recorded ones.

    ``rms``/``max`` are over every compared joint and sample at zero lag; ``lag_s``
    is the shift of the replay that matches the recording best (positive: the
    replay trails the recording, i.e. the actions are stamped late against the
    states) and ``rms_at_lag`` the error after that shift.
    """

    joints: tuple[JointTracking, ...]
    rms: float
    max: float
    lag_s: float
    rms_at_lag: float
    worst: tuple[WorstMoment, ...]

    @property
    def worst_joint(self) -> JointTracking:
        """The joint with the largest RMS error."""
        return max(self.joints, key=lambda j: j.rms)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Tracking:
        return cls(
            joints=tuple(JointTracking(**j) for j in data["joints"]),
            rms=data["rms"],
            max=data["max"],
            lag_s=data["lag_s"],
            rms_at_lag=data["rms_at_lag"],
            worst=tuple(WorstMoment(**w) for w in data["worst"]),
        )


@dataclass(frozen=True)
class ReplayReport:
    """The result of replaying one episode's actions in the simulation.

    >>> tracking = Tracking((JointTracking("j", 0.1, 0.2, 0.5),), 0.1, 0.2, 0.0, 0.1, ())
    >>> report = ReplayReport("ep.h5", "01J", "joint_position", 0, "kuavo_humanoid", 1.0, 200.0, tracking, ())
    >>> ReplayReport.from_json(report.to_json()) == report
    True
    """

    episode: str
    episode_id: str
    stream: str  # the recorded state stream compared
    origin_ns: int  # the episode's start: times in seconds count from here
    robot: str
    duration_s: float
    physics_hz: float
    tracking: Tracking
    notes: tuple[str, ...]
    wall_s: float = 0.0
    hints: tuple[str, ...] = ()  # what the commands alone suggest (units, swapped joints)

    @property
    def real_time_factor(self) -> float:
        """Episode seconds replayed per wall-clock second."""
        return self.duration_s / self.wall_s if self.wall_s > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "real_time_factor": self.real_time_factor}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ReplayReport:
        return cls(
            episode=data["episode"],
            episode_id=data["episode_id"],
            stream=data["stream"],
            origin_ns=data["origin_ns"],
            robot=data["robot"],
            duration_s=data["duration_s"],
            physics_hz=data["physics_hz"],
            tracking=Tracking.from_json(data["tracking"]),
            notes=tuple(data["notes"]),
            wall_s=data["wall_s"],
            hints=tuple(data.get("hints", ())),
        )


@dataclass(frozen=True)
class _Tracks:
    names: tuple[str, ...]
    time_s: FloatArray  # (n,) seconds from the episode's start
    recorded: FloatArray  # (n, joints)
    replayed: FloatArray  # (n, joints)


def compare_tracks(
    names: Sequence[str],
    time_s: FloatArray,
    recorded: FloatArray,
    replayed: FloatArray,
    *,
    max_lag_s: float = 0.5,
    worst: int = 5,
) -> Tracking:
    """Per-joint errors, overall RMS and max, the best-aligning lag and the worst moments.

    >>> t = np.arange(200) / 100.0
    >>> rec = np.sin(t)[:, None]
    >>> tracking = compare_tracks(["j"], t, rec, np.sin(t - 0.2)[:, None])
    >>> round(tracking.lag_s, 2), tracking.rms_at_lag < 1e-9 < tracking.rms
    (0.2, True)
    """
    tracks = _Tracks(tuple(names), time_s, recorded, replayed)
    error = replayed - recorded
    absolute = np.abs(error)
    worst_rows = np.argmax(absolute, axis=0)
    joints = tuple(
        JointTracking(
            name,
            float(np.sqrt(np.mean(error[:, i] ** 2))),
            float(absolute[worst_rows[i], i]),
            float(time_s[worst_rows[i]]),
        )
        for i, name in enumerate(names)
    )
    lag_s, rms_at_lag = _best_lag(tracks, max_lag_s)
    return Tracking(
        joints=joints,
        rms=float(np.sqrt(np.mean(error**2))),
        max=float(absolute.max()),
        lag_s=lag_s,
        rms_at_lag=rms_at_lag,
        worst=_worst_moments(tracks, absolute, worst),
    )


def _best_lag(tracks: _Tracks, max_lag_s: float) -> tuple[float, float]:
    """The shift of the replay (seconds) that minimises the RMS error, and that error."""
    t = tracks.time_s
    if t.size < 2:
        return 0.0, 0.0
    grid = np.arange(t[0], t[-1], 1.0 / _LAG_GRID_HZ)
    rec = np.stack([np.interp(grid, t, tracks.recorded[:, i]) for i in range(len(tracks.names))], axis=1)
    rep = np.stack([np.interp(grid, t, tracks.replayed[:, i]) for i in range(len(tracks.names))], axis=1)
    most = min(round(max_lag_s * _LAG_GRID_HZ), grid.size // 2)
    best_k, best = 0, float(np.sqrt(np.mean((rep - rec) ** 2)))
    for k in range(-most, most + 1):
        # Shift k > 0: recorded at i is compared with replayed at i + k (the replay trails).
        a = rec[max(0, -k) : rec.shape[0] - max(0, k)]
        b = rep[max(0, k) : rep.shape[0] - max(0, -k)]
        err = float(np.sqrt(np.mean((b - a) ** 2)))
        if err < best - 1e-12:
            best_k, best = k, err
    return best_k / _LAG_GRID_HZ, best


def _worst_moments(tracks: _Tracks, absolute: FloatArray, count: int) -> tuple[WorstMoment, ...]:
    """The ``count`` largest errors over all joints, at least half a second apart (none if exact)."""
    per_row = absolute.max(axis=1)
    column = absolute.argmax(axis=1)
    picked: list[WorstMoment] = []
    for row in np.argsort(-per_row, kind="stable"):
        if per_row[row] <= 0.0:
            break  # the rest replays exactly: no moment is worth showing
        when = float(tracks.time_s[row])
        if any(abs(when - m.time_s) < _MOMENT_SPACING_S for m in picked):
            continue
        j = int(column[row])
        picked.append(
            WorstMoment(
                when,
                tracks.names[j],
                float(per_row[row]),
                float(tracks.recorded[row, j]),
                float(tracks.replayed[row, j]),
            )
        )
        if len(picked) == count:
            break
    return tuple(picked)
