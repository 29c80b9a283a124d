"""Stations on the site: what a station reports once a second, the live board the server keeps, assignments.

A station (the agent beside ``tg record`` or ``tg collect``) posts a
:class:`StationReport` about once a second; the server keeps the newest one per
station in memory (:class:`StationBoard`, lost on restart, refilled within a
second) and calls a station ``offline`` after :data:`OFFLINE_AFTER_S` of silence.
A station that has a token but never reported is ``never_seen``. Its current
task (:func:`current_task`) is the assigned task of highest priority, the newest
among equals; tasks with no stations named are open to anyone and assign nobody.

>>> board = StationBoard()
>>> board.post(StationReport("st-01", queue=2), now_ns=0)
>>> [(v.station, v.state) for v in board.views(["st-01", "st-02"], now_ns=6_000_000_000)]
[('st-01', 'offline'), ('st-02', 'never_seen')]
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from collectors import RecorderError, RecorderStatus
from tg_site._messages import MessageError

if TYPE_CHECKING:
    from tg_site._tasks import Task  # its module brings the catalogue (SQLAlchemy)

__all__ = [
    "OFFLINE_AFTER_S",
    "Assignment",
    "ReportError",
    "StationBoard",
    "StationReport",
    "StationView",
    "current_task",
]

OFFLINE_AFTER_S = 5.0
_NS = 1_000_000_000


class ReportError(MessageError):
    """A station report or assignment that is not one (HTTP 422)."""


@dataclass(frozen=True)
class StationReport:
    """What a station posts: its recorder's status (None before the recorder reports), queue, disk, task.

    >>> r = StationReport("st-01", queue=1, pushed=3, free_bytes=10, task="pick_place")
    >>> StationReport.from_json(r.to_json()) == r
    True
    """

    station: str
    recorder: RecorderStatus | None = None
    queue: int = 0  # finished episodes waiting to be pushed
    queue_bytes: int = 0
    pushing: str = ""  # the episode being pushed now
    pushed: int = 0  # episodes the site acknowledged since the agent started
    push_error: str = ""  # why the last push failed ("" after a success)
    free_bytes: int = -1  # free space where the station records (-1: unknown)
    task_id: str = ""
    task: str = ""
    instruction: str = ""
    operator: str = ""  # who records at the station (tg record --operator, the session's)
    sent_at_ns: int = 0

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {k: v for k, v in vars(self).items() if k != "recorder"}
        data["recorder"] = None if self.recorder is None else json.loads(self.recorder.to_json())
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StationReport:
        """A report from its JSON; :class:`ReportError` names what is wrong."""
        if not isinstance(data, Mapping) or not isinstance(data.get("station"), str):
            raise ReportError('a station report needs {"station": "<id>", ...}')
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ReportError(f"station report: unknown field(s) {', '.join(sorted(unknown))}")
        values = dict(data)
        recorder = values.pop("recorder", None)
        try:
            status = None if recorder is None else RecorderStatus.from_json(json.dumps(recorder))
            for name in ("queue", "queue_bytes", "pushed", "free_bytes", "sent_at_ns"):
                if name in values:
                    values[name] = int(values[name])
            for name in ("pushing", "push_error", "task_id", "task", "instruction"):
                if name in values:
                    values[name] = str(values[name])
        except (RecorderError, ValueError, TypeError) as exc:
            raise ReportError(f"station report of {data['station']!r}: {exc}") from None
        return cls(recorder=status, **values)

    @property
    def warnings(self) -> tuple[str, ...]:
        return () if self.recorder is None else self.recorder.warnings


@dataclass(frozen=True)
class StationView:
    """One station on the board: ``online``, ``offline`` (silent > 5 s) or ``never_seen``."""

    station: str
    state: str
    last_seen_ns: int | None = None
    silent_s: float | None = None
    report: StationReport | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "station": self.station,
            "state": self.state,
            "last_seen_ns": self.last_seen_ns,
            "silent_s": self.silent_s,
            "report": None if self.report is None else self.report.to_json(),
        }


class StationBoard:
    """The newest report of each station and when it came (server clock); thread-safe."""

    def __init__(self, offline_after_s: float = OFFLINE_AFTER_S) -> None:
        self.offline_after_s = offline_after_s
        self._lock = threading.Lock()
        self._latest: dict[str, tuple[int, StationReport]] = {}

    def post(self, report: StationReport, *, now_ns: int | None = None) -> None:
        at = time.time_ns() if now_ns is None else now_ns
        with self._lock:
            self._latest[report.station] = (at, report)

    def view(self, station: str, *, now_ns: int | None = None) -> StationView:
        now = time.time_ns() if now_ns is None else now_ns
        with self._lock:
            seen = self._latest.get(station)
        if seen is None:
            return StationView(station, "never_seen")
        at, report = seen
        silent = max(0, now - at) / _NS
        state = "offline" if silent > self.offline_after_s else "online"
        return StationView(station, state, at, round(silent, 3), report)

    def views(self, known: Iterable[str], *, now_ns: int | None = None) -> list[StationView]:
        """Every station that reported or is ``known`` (has a token), sorted by id."""
        with self._lock:
            names = set(self._latest) | set(known)
        return [self.view(name, now_ns=now_ns) for name in sorted(names)]


@dataclass(frozen=True)
class Assignment:
    """A station's current task: id, name and the instruction to record (the task's first).

    >>> Assignment("t1", "叠毛巾", "fold the towel").to_json()["task"]
    '叠毛巾'
    """

    task_id: str
    task: str
    instruction: str

    def to_json(self) -> dict[str, Any]:
        return {"task_id": self.task_id, "task": self.task, "instruction": self.instruction}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Assignment:
        try:
            return cls(str(data["task_id"]), str(data["task"]), str(data.get("instruction", "")))
        except (KeyError, TypeError) as exc:
            raise ReportError(f"task assignment: missing {exc}") from None


def current_task(tasks: Sequence[Task], station: str) -> Assignment | None:
    """The open task assigned to ``station`` by name: highest priority, then newest; None if none is."""
    mine = [t for t in tasks if t.spec.active and station in t.spec.stations]
    if not mine:
        return None
    task = max(mine, key=lambda t: (t.spec.priority, t.created_ns))
    instruction = task.spec.instructions[0] if task.spec.instructions else ""
    return Assignment(task.task_id, task.spec.name, instruction)
