"""Checks, what they found, and the per-episode report."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from episodes._qa._report import EpisodeVisuals

__all__ = ["CHECKS", "CheckInfo", "EpisodeReport", "Finding", "Severity", "register_check"]


class Severity(str, Enum):
    """An error rejects the episode; a warning asks a person to look."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class CheckInfo:
    """A check: its stable id, severity, what it catches and the QaConfig fields that tune it."""

    id: str
    severity: Severity
    catches: str
    thresholds: tuple[str, ...] = ()


_E, _W = Severity.ERROR, Severity.WARNING
CHECKS: Mapping[str, CheckInfo] = MappingProxyType(
    {
        c.id: c
        for c in (
            CheckInfo("file.unreadable", _E, "not HDF5, not an episode, truncated or corrupt"),
            CheckInfo(
                "file.structure",
                _E,
                "readable, but not laid out as the schema says: damaged annotations, a stream of the "
                "aligned view missing, no readable URDF",
            ),
            CheckInfo(
                "file.name",
                _W,
                "the file name differs from its episode_id (a renamed copy?)",
            ),
            CheckInfo("config.profile", _W, "the episode's robot profile was not found; defaults were used"),
            CheckInfo("episode.status", _E, "status not complete (aborted, recovered, still recording)"),
            CheckInfo(
                "episode.duplicate",
                _W,
                "another file of the directory has the same episode id or raw-content digest; "
                "the loader and export keep only the first by path",
            ),
            CheckInfo(
                "episode.pending_update",
                _W,
                "an interrupted in-place update (annotations) is still in its journal: run tg recover",
            ),
            CheckInfo(
                "episode.missing_stream",
                _E,
                "a stream the profile or file requires is absent or empty",
                ("required_streams",),
            ),
            CheckInfo(
                "episode.duration",
                _E,
                "shorter or longer than the configured bounds",
                ("min_duration_s", "max_duration_s"),
            ),
            CheckInfo("time.non_monotonic", _E, "a stream's source stamps go backwards or repeat"),
            CheckInfo("time.gap", _E, "a gap longer than k x the expected period", ("gap_factor",)),
            CheckInfo(
                "time.rate",
                _E,
                "fewer samples over the episode than the expected rate, beyond the tolerance",
                ("expected_rates_hz", "rate_tolerance"),
            ),
            CheckInfo(
                "sync.skew",
                _E,
                "aligned view: a paired sample older than its period plus the threshold",
                ("skew_threshold_s",),
            ),
            CheckInfo(
                "time.clock_offset",
                _E,
                "source stamps consistently ahead of or behind arrival times",
                ("clock_offset_threshold_s",),
            ),
            CheckInfo("value.nonfinite", _E, "NaN or Inf in a numeric stream"),
            CheckInfo(
                "value.joint_limit",
                _E,
                "positions outside the profile's limits, closures outside 0..1",
                ("joint_limits", "limit_margin"),
            ),
            CheckInfo(
                "value.velocity_spike",
                _E,
                "finite-difference or reported velocity beyond the limit",
                ("joint_limits", "velocity_factor"),
            ),
            CheckInfo(
                "value.stuck",
                _E,
                "a signal expected to move stays within epsilon over a window",
                ("moving_joints", "moving_streams", "stuck_epsilon", "stuck_window_s", "idle_threshold"),
            ),
            CheckInfo("image.decode", _E, "a frame that does not decode", ("image_sample_frames",)),
            CheckInfo(
                "image.black",
                _W,
                "frames almost all dark",
                ("dark_level", "extreme_fraction", "image_sample_frames"),
            ),
            CheckInfo(
                "image.overexposed",
                _W,
                "frames almost all saturated",
                ("bright_level", "extreme_fraction", "image_sample_frames"),
            ),
            CheckInfo("image.frozen", _E, "the same encoded frame repeated for too long", ("frozen_min_s",)),
            CheckInfo("image.shape", _E, "frame size, channels or encoding differ from the stream's"),
        )
    }
)
"""Every check by id. Ids and severities are stable: scripts may rely on them."""
# A live view: checks of the layers above are added by :func:`register_check`.
_REGISTRY: dict[str, CheckInfo] = dict(CHECKS)
CHECKS = MappingProxyType(_REGISTRY)


def register_check(info: CheckInfo) -> None:
    """Add an opt-in check of a layer above the format (the simulation's ``replay.divergence``).

    Its module registers it on import, so a worker process that unpickles the
    check knows it too. Registering the same info again is a no-op.

    >>> register_check(CHECKS["time.gap"])
    >>> register_check(CheckInfo("time.gap", Severity.WARNING, "other"))
    Traceback (most recent call last):
    ...
    ValueError: check 'time.gap' is already registered with other settings
    """
    known = _REGISTRY.get(info.id)
    if known is not None and known != info:
        raise ValueError(f"check {info.id!r} is already registered with other settings")
    _REGISTRY[info.id] = info


@dataclass(frozen=True)
class Finding:
    """One problem: which check, where (stream, columns, ``[start_ns, stop_ns)``) and what.

    Times are on the stream's source-stamp clock (the aligned view's clock for
    ``sync.skew``); ``None`` for findings about the whole episode. ``count`` is
    how many samples, frames or ticks the range holds that the check flagged.
    """

    check: str
    severity: Severity
    message: str
    stream: str = ""
    start_ns: int | None = None
    stop_ns: int | None = None
    columns: tuple[str, ...] = ()
    count: int = 0

    @classmethod
    def of(
        cls,
        check: str,
        message: str,
        *,
        stream: str = "",
        start_ns: int | None = None,
        stop_ns: int | None = None,
        columns: tuple[str, ...] = (),
        count: int = 0,
    ) -> Finding:
        """A finding of ``check`` with the check's severity."""
        return cls(check, CHECKS[check].severity, message, stream, start_ns, stop_ns, columns, count)

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "severity": self.severity.value,
            "stream": self.stream,
            "start_ns": self.start_ns,
            "stop_ns": self.stop_ns,
            "columns": list(self.columns),
            "count": self.count,
            "message": self.message,
        }


@dataclass(frozen=True)
class EpisodeReport:
    """What the quality gate found in one episode file."""

    path: str
    episode_id: str
    findings: tuple[Finding, ...]
    size_bytes: int
    seconds: float
    written: bool = False
    """``write=True`` changed the file (it already held this result otherwise)."""
    visuals: EpisodeVisuals | None = None
    content_digest: str | None = None
    """The episode's raw-content digest, where the file has one."""

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity is Severity.ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity is Severity.WARNING)

    @property
    def passed(self) -> bool:
        """No error (warnings do not fail an episode)."""
        return self.errors == 0

    def counts(self) -> dict[str, int]:
        """Findings per check id."""
        return dict(Counter(f.check for f in self.findings))

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "episode_id": self.episode_id,
            "passed": self.passed,
            "errors": self.errors,
            "warnings": self.warnings,
            "counts": self.counts(),
            "size_bytes": self.size_bytes,
            "seconds": round(self.seconds, 4),
            "written": self.written,
            "findings": [f.to_json() for f in self.findings],
        }
