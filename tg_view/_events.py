"""What people and tools said about the episode, as labelled events at their times, and its metadata.

Annotation phases and gripper events (``tg annotate``) and QA findings
(``tg validate --write``) become text-log entries on the ``time`` timeline;
the metadata is one text document. Episodes never annotated or validated
simply have fewer events.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import rerun as rr

import episodes
from episodes import EpisodeReader, Finding, Severity
from tg_view._streams import TIMELINE

__all__ = ["EVENT_ENTITIES", "METADATA_ENTITY", "EventCounts", "log_events", "log_metadata"]

METADATA_ENTITY = "metadata"
PHASES, GRIPPERS, QA = "events/phases", "events/gripper", "events/qa"
EVENT_ENTITIES = (PHASES, GRIPPERS, QA)
_LEVELS = {Severity.ERROR: "ERROR", Severity.WARNING: "WARN"}


@dataclass(frozen=True)
class EventCounts:
    """How many events of each kind went into the recording."""

    phases: int
    gripper_events: int
    findings: int


def log_metadata(reader: EpisodeReader, recording: rr.RecordingStream) -> None:
    """The episode's labels and provenance as a Markdown document (static: it holds at every time)."""
    m = reader.metadata
    rows = [
        ("episode", m.episode_id),
        ("task", m.task),
        ("instruction", m.instruction),
        ("success", "unknown" if m.success is None else str(m.success).lower()),
        ("robot", f"{m.robot.profile} ({m.robot.model})" if m.robot.model else m.robot.profile),
        ("operator", m.operator),
        ("station", m.station),
        ("source", m.source),
        ("recorded at", m.recorded_at),
        ("duration", f"{m.duration_s:.2f} s"),
        ("status", m.status),
        ("notes", m.notes),
    ]
    table = "\n".join(f"| {key} | {value} |" for key, value in rows if value)
    extra = json.dumps(m.extra, indent=1, sort_keys=True)
    text = f"# {m.task or 'episode'} {m.episode_id}\n\n| | |\n|---|---|\n{table}\n\n```json\n{extra}\n```\n"
    recording.log(METADATA_ENTITY, rr.TextDocument(text, media_type=rr.MediaType.MARKDOWN), static=True)


def log_events(reader: EpisodeReader, recording: rr.RecordingStream) -> EventCounts:
    """Phases, gripper events and QA findings at their times; what the file holds of them."""
    origin = reader.origin_ns()
    annotations = episodes.read_annotations(reader.path)
    findings = episodes.read_qa(reader.path) or ()
    phases = annotations.segments if annotations is not None else ()
    grippers = annotations.gripper_events if annotations is not None else ()
    for segment in phases:
        seconds = (segment.stop_ns - segment.start_ns) / 1e9
        _at(
            recording, segment.start_ns - origin, PHASES, f"{segment.label} ({segment.kind}, {seconds:.2f} s)"
        )
    for event in grippers:
        _at(recording, event.start_ns - origin, GRIPPERS, f"{event.gripper}: {event.event}")
    for finding in findings:
        start = finding.start_ns if finding.start_ns is not None else origin
        _at(recording, start - origin, QA, _finding_text(finding), _LEVELS[finding.severity])
    recording.reset_time()
    return EventCounts(len(phases), len(grippers), len(findings))


def _at(recording: rr.RecordingStream, offset_ns: int, entity: str, text: str, level: str = "INFO") -> None:
    recording.set_time(TIMELINE, duration=np.timedelta64(offset_ns, "ns"))
    recording.log(entity, rr.TextLog(text, level=level))


def _finding_text(finding: Finding) -> str:
    where = f" {finding.stream}" if finding.stream else ""
    columns = f" [{', '.join(finding.columns)}]" if finding.columns else ""
    return f"{finding.check}{where}{columns}: {finding.message}"
