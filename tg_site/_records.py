"""One catalogue row as a typed record, and how it is read from an episode file.

Everything in an :class:`EpisodeRecord` comes from the file (the source of truth):
metadata, the raw-content digest, the QA result ``tg validate --write`` stored, the
annotation summary ``tg annotate`` stored, review state and task id, cameras, size
and hash. ``reindex`` rebuilds the catalogue by calling :func:`record_from_file`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import episodes
from tg_site._errors import SiteError

__all__ = ["EpisodeRecord", "file_sha256", "record_from_file", "stat_changed"]

_HASH_BLOCK = 4 * 1024 * 1024
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@dataclass(frozen=True)
class EpisodeRecord:
    """What the catalogue knows about one episode (one row). Times are ns; ``recorded_at_ns`` is UTC.

    ``qa_passed`` is None until the quality gate stored a result; ``qa_errors`` and
    ``qa_warnings`` count findings per check id. ``cameras`` maps each camera to
    its frame count; ``annotations`` summarises what ``tg annotate`` stored.
    """

    episode_id: str
    raw_digest: str
    dataset: str
    robot_profile: str
    robot_model: str
    task_id: str
    task: str
    instruction: str
    operator: str
    station: str
    source: str
    recorded_at: str
    recorded_at_ns: int
    start_time_ns: int
    end_time_ns: int
    duration_s: float
    success: bool | None
    status: str
    qa_passed: bool | None
    qa_errors: Mapping[str, int]
    qa_warnings: Mapping[str, int]
    annotations: Mapping[str, Any]
    review_state: str
    review_reason: str
    review_note: str
    reviewer: str
    reviewed_at_ns: int
    size_bytes: int
    file_sha256: str
    file_mtime_ns: int
    cameras: Mapping[str, int] = field(default_factory=dict)
    has_thumbnail: bool = False
    trashed_at_ns: int | None = None

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        for key in ("qa_errors", "qa_warnings", "annotations", "cameras"):
            data[key] = dict(data[key])
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EpisodeRecord:
        names = {f.name for f in dataclasses.fields(cls)}
        missing = sorted(n for n in names if n not in data and _required(n))
        if missing:
            raise SiteError(
                f"episode record lacks fields {missing}; send every field of EpisodeRecord.to_json()"
            )
        return cls(**{k: v for k, v in data.items() if k in names})

    @property
    def review(self) -> episodes.ReviewState | None:
        if not self.reviewer and self.review_state == "pending" and not self.reviewed_at_ns:
            return None
        return episodes.ReviewState(
            self.review_state, self.review_reason, self.review_note, self.reviewer, self.reviewed_at_ns
        )


def _required(name: str) -> bool:
    return name not in ("cameras", "has_thumbnail", "trashed_at_ns")


def record_from_file(path: Path, *, sha256: str | None = None) -> EpisodeRecord:
    """The catalogue record of the finished episode ``path`` (read through ``episodes.open``).

    ``sha256``: the file's hash where the caller just computed it (an upload it
    verified); otherwise the file is read once to hash it.
    """
    path = Path(path)
    stat = path.stat()
    with episodes.open(path) as ep:  # once: opening costs more than reading what is needed
        meta = ep.metadata
        cameras = {name: info.count for name, info in ep.streams.items() if info.is_image}
        findings = episodes.read_qa(ep)
        annotations = _annotation_summary(episodes.read_annotations(ep))
    digest = meta.content_digest or episodes.content_digest(path)
    review = meta.review or episodes.ReviewState("pending")
    return EpisodeRecord(
        episode_id=meta.episode_id,
        raw_digest=digest,
        dataset=meta.dataset,
        robot_profile=meta.robot.profile,
        robot_model=meta.robot.model,
        task_id=meta.task_id,
        task=meta.task,
        instruction=meta.instruction,
        operator=meta.operator,
        station=meta.station,
        source=meta.source,
        recorded_at=meta.recorded_at,
        recorded_at_ns=_recorded_ns(meta.recorded_at, meta.episode_id),
        start_time_ns=meta.start_time_ns,
        end_time_ns=meta.end_time_ns,
        duration_s=meta.duration_s,
        success=meta.success,
        status=meta.status,
        qa_passed=None
        if findings is None
        else not any(f.severity is episodes.Severity.ERROR for f in findings),
        qa_errors=_per_check(findings, episodes.Severity.ERROR),
        qa_warnings=_per_check(findings, episodes.Severity.WARNING),
        annotations=annotations,
        review_state=review.state,
        review_reason=review.reason,
        review_note=review.note,
        reviewer=review.reviewer,
        reviewed_at_ns=review.at_ns,
        size_bytes=stat.st_size,
        file_sha256=sha256 or file_sha256(path),
        file_mtime_ns=stat.st_mtime_ns,
        cameras=cameras,
    )


def file_sha256(path: Path) -> str:
    """SHA-256 (hex) of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_HASH_BLOCK):
            h.update(block)
    return h.hexdigest()


def _per_check(findings: tuple[episodes.Finding, ...] | None, severity: episodes.Severity) -> dict[str, int]:
    counts: dict[str, int] = {}
    for finding in findings or ():
        if finding.severity is severity:
            counts[finding.check] = counts.get(finding.check, 0) + 1
    return counts


def _annotation_summary(found: episodes.EpisodeAnnotations | None) -> dict[str, Any]:
    if found is None:
        return {"annotated": False}
    return {
        "annotated": True,
        "active_s": max(0, found.active_stop_ns - found.active_start_ns) / 1e9,
        "motion_detected": found.motion_detected,
        "segments": len(found.segments),
        "gripper_events": len(found.gripper_events),
        "instruction_source": found.instruction_source,
        "success_source": found.success_source,
    }


def _recorded_ns(recorded_at: str, episode_id: str) -> int:
    """Wall-clock start in UTC ns: ``recorded_at``, else the time in the episode's ULID."""
    try:
        when = dt.datetime.fromisoformat(recorded_at.replace("Z", "+00:00"))
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.timezone.utc)
        return int(when.timestamp()) * 1_000_000_000 + when.microsecond * 1000
    except ValueError:
        pass
    if not episodes.is_episode_id(episode_id):
        return 0
    value = 0
    for char in episode_id[:10]:
        value = value * 32 + _CROCKFORD.index(char)
    return value * 1_000_000


def stat_changed(record: EpisodeRecord, path: Path) -> bool:
    """Whether ``path`` differs in size or modification time from when ``record`` was made."""
    stat = os.stat(path)
    return (stat.st_size, stat.st_mtime_ns) != (record.size_bytes, record.file_mtime_ns)
