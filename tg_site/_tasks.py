"""Tasks, saved selections and audit entries: what the catalogue holds that no episode file does."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from tg_site._errors import SiteError
from tg_site._jsonable import fields_from_json, fields_to_json
from tg_site._query import EpisodeQuery

__all__ = ["AuditEntry", "Selection", "Task", "TaskProgress", "TaskSpec"]


@dataclass(frozen=True)
class TaskSpec:
    """A collection task: what to record, on which robot, how much, by whom.

    Targets are approved episodes (``target_episodes``) and/or approved hours
    (``target_hours``); ``stations``/``operators`` it is assigned to (empty: anyone);
    a closed task (``active`` False) is assigned to no station any more.

    >>> spec = TaskSpec("叠毛巾", "kuavo", ("fold the towel",), target_episodes=50)
    >>> TaskSpec.from_json(spec.to_json()) == spec
    True
    """

    name: str
    robot_profile: str = ""
    instructions: tuple[str, ...] = ()
    target_episodes: int | None = None
    target_hours: float | None = None
    priority: int = 0
    stations: tuple[str, ...] = ()
    operators: tuple[str, ...] = ()
    active: bool = True

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise SiteError("a task needs a name (e.g. 'pick_place'); got an empty one")
        if not isinstance(self.active, bool):
            raise SiteError(f"a task's active is true or false; got {self.active!r}")

    def updated(self, changes: Mapping[str, Any]) -> TaskSpec:
        """This spec with the fields in ``changes`` (their JSON form) replaced; unknown fields refused.

        >>> TaskSpec("t", stations=("st-01",)).updated({"stations": ["st-02"], "active": False}).stations
        ('st-02',)
        """
        return TaskSpec.from_json({**self.to_json(), **changes})

    def to_json(self) -> dict[str, Any]:
        return fields_to_json(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TaskSpec:
        tuples = ("instructions", "stations", "operators")
        return cls(**fields_from_json(cls, data, tuples=tuples, what="task", error=SiteError))


@dataclass(frozen=True)
class Task:
    task_id: str
    spec: TaskSpec
    created_ns: int

    def to_json(self) -> dict[str, Any]:
        return {"task_id": self.task_id, "spec": self.spec.to_json(), "created_ns": self.created_ns}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Task:
        return cls(data["task_id"], TaskSpec.from_json(data["spec"]), data["created_ns"])


@dataclass(frozen=True)
class TaskProgress:
    """Episodes recorded for a task (trashed ones left out), how many approved, and hours.

    ``fraction`` is approved over target (the smaller of the two targets' fractions
    when both are set; None without a target).
    """

    task_id: str
    episodes: int
    approved: int
    rejected: int
    hours: float
    approved_hours: float
    fraction: float | None

    def to_json(self) -> dict[str, Any]:
        return fields_to_json(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TaskProgress:
        return cls(**fields_from_json(cls, data, tuples=(), what="task progress", error=SiteError))


@dataclass(frozen=True)
class Selection:
    """A saved query; resolving it gives the episodes it matches now."""

    name: str
    query: EpisodeQuery
    created_ns: int

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "query": self.query.to_json(), "created_ns": self.created_ns}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Selection:
        return cls(data["name"], EpisodeQuery.from_json(data["query"]), data["created_ns"])


@dataclass(frozen=True)
class AuditEntry:
    """Who (``actor``: a token's name, or ``site``) did what, when (Unix ns), to which episode."""

    entry_id: int
    at_ns: int
    actor: str
    action: str
    episode_id: str | None
    detail: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            f.name: getattr(self, f.name) if f.name != "detail" else dict(self.detail) for f in fields(self)
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AuditEntry:
        return cls(**{f.name: data[f.name] for f in fields(cls)})
