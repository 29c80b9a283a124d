"""Everything the episode page shows, read from the stored file once: player data, findings, metadata.

Times for the browser are seconds from the episode's origin (the reader's
``origin_ns``), the same clock as the API's time series, so frames, plots, QA
findings and annotations share one timeline.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import episodes
from tg_site._tasks import AuditEntry

__all__ = ["AuditRow", "EpisodeView", "audit_rows", "read_view"]

_MAX_SERIES = 6


@dataclass(frozen=True)
class EpisodeView:
    """The page's data: ``player`` goes to the browser as JSON; the rest is rendered by the template."""

    metadata: dict[str, Any]
    findings: list[dict[str, Any]] | None
    player: dict[str, Any]
    streams: list[dict[str, Any]] = field(default_factory=list)
    recorder: list[dict[str, Any]] = field(default_factory=list)
    """The ROS recorder's diagnostics per topic (FORMAT.md, ``extra_json["recorder"]``)."""

    @property
    def player_json(self) -> str:
        # Inside <script type="application/json">: '</' must not close the script element.
        return json.dumps(self.player, ensure_ascii=False).replace("</", "<\\/")


def read_view(path: Path) -> EpisodeView:
    with episodes.open(path) as reader:
        origin = reader.origin_ns()
        meta = reader.metadata
        cameras: list[dict[str, Any]] = []
        series: list[dict[str, Any]] = []
        streams: list[dict[str, Any]] = []
        for name, info in reader.streams.items():
            streams.append(_stream_row(info))
            if info.is_image:
                stamps = (reader.times(name) - origin) / 1e9
                cameras.append(
                    {"name": name, "count": info.count, "t": [round(t, 4) for t in stamps.tolist()]}
                )
            elif isinstance(info.spec, episodes.ArrayStreamSpec) and info.count:
                series.append({"name": name, "kind": info.spec.kind.value, "role": info.spec.role.value})
        end = max((info.last_stamp_ns for info in reader.streams.values() if info.count), default=origin)
        findings = episodes.read_qa(reader)  # the open reader: the file is opened once per page
        annotations = episodes.read_annotations(reader)

    def seconds(ns: int | None) -> float | None:
        return None if ns is None else round((ns - origin) / 1e9, 4)

    found = (
        None
        if findings is None
        else [{**f.to_json(), "t0": seconds(f.start_ns), "t1": seconds(f.stop_ns)} for f in findings]
    )
    player = {
        "duration": round((end - origin) / 1e9, 4),
        "cameras": cameras,
        "plots": _plots(series),
        "findings": [f for f in found or [] if f["t0"] is not None],
        "phases": [],
        "gripper": [],
        "active": None,
    }
    if annotations is not None:
        player["phases"] = [
            {"t0": seconds(s.start_ns), "t1": seconds(s.stop_ns), "label": s.label}
            for s in annotations.segments
        ]
        player["gripper"] = [
            {"t0": seconds(e.start_ns), "t1": seconds(e.stop_ns), "label": f"{e.gripper} {e.event}"}
            for e in annotations.gripper_events
        ]
        player["active"] = [seconds(annotations.active_start_ns), seconds(annotations.active_stop_ns)]
    return EpisodeView(_metadata(meta), found, player, streams, _recorder_topics(meta.extra))


def _recorder_topics(extra: Any) -> list[dict[str, Any]]:
    recorder = extra.get("recorder") if isinstance(extra, dict) else None
    topics = recorder.get("topics") if isinstance(recorder, dict) else None
    if not isinstance(topics, dict):
        return []
    return [
        {
            "topic": name,
            "received": info.get("received", ""),
            "rejected": info.get("rejected", ""),
            "rejected_by": _counts(info.get("rejected_by")),
            "gaps": info.get("gap_count", ""),
            "errors": list(info.get("errors") or [])[:10],
        }
        for name, info in sorted(topics.items())
        if isinstance(info, dict)
    ]


def _plots(series: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Streams of one kind share a plot (commanded over measured); at most _MAX_SERIES plots."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for entry in series:
        groups.setdefault(entry["kind"], []).append(entry)
    # The measured (observation) stream first: its clock is the plot's x axis.
    return [sorted(g, key=lambda e: e["role"] == "action") for g in groups.values()][:_MAX_SERIES]


def _counts(value: Any, prefix: str = "") -> str:
    """``{"joint_position": {"not_finite": 2}}`` as ``joint_position not_finite 2``."""
    if not isinstance(value, dict):
        return f"{prefix}{value}"
    return ", ".join(_counts(v, f"{prefix}{k} ") for k, v in value.items())


def _stream_row(info: episodes.StreamInfo) -> dict[str, Any]:
    rate = getattr(info.spec, "rate_hz", None)
    return {
        "name": info.name,
        "type": "camera" if info.is_image else "array",
        "count": info.count,
        "duration_s": round(info.duration_s, 3),
        "expected_hz": rate,
        "measured_hz": round(info.measured_rate_hz, 2),
    }


def _metadata(meta: episodes.EpisodeMetadata) -> dict[str, Any]:
    return {
        "episode_id": meta.episode_id,
        "dataset": meta.dataset,
        "robot": f"{meta.robot.profile} {meta.robot.model}".strip(),
        "task": meta.task,
        "task_id": meta.task_id,
        "operator": meta.operator,
        "station": meta.station,
        "source": meta.source,
        "recorded_at": meta.recorded_at,
        "duration_s": round(meta.duration_s, 3),
        "status": meta.status,
        "abort_reason": meta.abort_reason,
        "software_version": meta.software_version,
        "notes": meta.notes,
        "content_digest": meta.content_digest or "",
        "extra": json.dumps(
            {k: v for k, v in meta.extra.items() if k != "recorder"}, ensure_ascii=False, sort_keys=True
        ),
    }


@dataclass(frozen=True)
class AuditRow:
    """One changed field of one audit entry: who, when, what, before, after."""

    when: str
    actor: str
    action: str
    field: str
    before: str
    after: str


def audit_rows(entries: Sequence[AuditEntry], time_zone: str) -> list[AuditRow]:
    """Audit entries as one row per changed field (a review's verdict fields flattened), newest first."""
    zone = ZoneInfo(time_zone)
    rows: list[AuditRow] = []
    for entry in sorted(entries, key=lambda e: -e.at_ns):
        when = dt.datetime.fromtimestamp(entry.at_ns / 1e9, zone).strftime("%Y-%m-%d %H:%M:%S")
        before, after = _flat(entry.detail.get("before")), _flat(entry.detail.get("after"))
        changed = [k for k in after if before.get(k) != after[k]] or [""]
        for name in changed:
            rows.append(
                AuditRow(when, entry.actor, entry.action, name, before.get(name, ""), after.get(name, ""))
            )
    return rows


def _flat(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    flat: dict[str, str] = {}
    for key, item in value.items():
        if isinstance(item, dict):
            flat.update({f"{key}.{k}": _text(v) for k, v in item.items() if k != "at_ns"})
        elif item is not None:
            flat[key] = _text(item)
    return flat


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
