"""Episode queries: filters, a sort key and keyset pagination over the catalogue.

A page is fetched with ``WHERE <filters> AND (key, id) > (last key, last id)``
``ORDER BY key, id LIMIT n``: the cost of a page does not grow with how far one
has paged, and rows arriving meanwhile neither repeat nor skip a row.
The cursor is the last row's key and id, opaque to clients (base64 JSON).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select

from tg_site._errors import SiteError
from tg_site._jsonable import fields_from_json, fields_to_json
from tg_site._models import EpisodeRow
from tg_site._records import EpisodeRecord

__all__ = [
    "SORT_KEYS",
    "EpisodePage",
    "EpisodeQuery",
    "QueryError",
    "decode_cursor",
    "encode_cursor",
    "episode_statement",
]

SORT_KEYS: Mapping[str, Any] = {
    "recorded_at": EpisodeRow.recorded_at_ns,
    "duration": EpisodeRow.duration_s,
    "size": EpisodeRow.size_bytes,
    "episode_id": EpisodeRow.episode_id,
    "station": EpisodeRow.station,
    "operator": EpisodeRow.operator,
    "task": EpisodeRow.task,
}
MAX_PAGE = 1000

# Filters that are one column equal to a value (or one of several values).
_EQUAL = {
    "dataset": EpisodeRow.dataset,
    "robot": EpisodeRow.robot_profile,
    "task_id": EpisodeRow.task_id,
    "task": EpisodeRow.task,
    "operator": EpisodeRow.operator,
    "station": EpisodeRow.station,
    "status": EpisodeRow.status,
    "review_state": EpisodeRow.review_state,
}


class QueryError(SiteError):
    """A query with an unknown sort key, a bad cursor or page size, or an unknown field."""


@dataclass(frozen=True)
class EpisodeQuery:
    """Which episodes, in which order, how many per page.

    Text filters match exactly (several values: any of them); ``instruction_text``
    matches a substring of the instruction. ``since_ns``/``until_ns`` bound the
    UTC wall-clock start (``recorded_at``), ``[since, until)``. Trashed episodes are
    left out unless ``include_trashed``.

    >>> EpisodeQuery.from_json(EpisodeQuery(station=("st-01",), qa_passed=True).to_json()).station
    ('st-01',)
    """

    dataset: tuple[str, ...] = ()
    robot: tuple[str, ...] = ()
    task_id: tuple[str, ...] = ()
    task: tuple[str, ...] = ()
    operator: tuple[str, ...] = ()
    station: tuple[str, ...] = ()
    status: tuple[str, ...] = ()
    review_state: tuple[str, ...] = ()
    success: bool | None = None
    qa_passed: bool | None = None
    since_ns: int | None = None
    until_ns: int | None = None
    instruction_text: str = ""
    include_trashed: bool = False
    sort: str = "recorded_at"
    descending: bool = False
    page_size: int = 100
    cursor: str | None = None

    def __post_init__(self) -> None:
        if self.sort not in SORT_KEYS:
            raise QueryError(f"sort key {self.sort!r} is not one of {', '.join(SORT_KEYS)}")
        if not 1 <= self.page_size <= MAX_PAGE:
            raise QueryError(f"page size {self.page_size} is out of range; ask for 1 to {MAX_PAGE} episodes")

    def to_json(self) -> dict[str, Any]:
        return fields_to_json(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EpisodeQuery:
        return cls(**fields_from_json(cls, data, tuples=_EQUAL, what="query", error=QueryError))

    def page_after(self, cursor: str | None) -> EpisodeQuery:
        """The same query, continuing after ``cursor``."""
        return type(self)(**{**{f.name: getattr(self, f.name) for f in fields(self)}, "cursor": cursor})


@dataclass(frozen=True)
class EpisodePage:
    """One page of a query's results; ``next_cursor`` is None on the last page."""

    records: Sequence[EpisodeRecord] = field(default_factory=tuple)
    next_cursor: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"records": [r.to_json() for r in self.records], "next_cursor": self.next_cursor}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EpisodePage:
        return cls(tuple(EpisodeRecord.from_json(r) for r in data["records"]), data.get("next_cursor"))


def episode_statement(query: EpisodeQuery) -> Select[EpisodeRow]:
    """The SELECT of one page (one row more than the page, to know whether another follows)."""
    key = SORT_KEYS[query.sort]
    statement = select(EpisodeRow).where(*_filters(query))
    if query.cursor is not None:
        statement = statement.where(_after(query, key, decode_cursor(query.cursor, query.sort)))
    if query.descending:
        statement = statement.order_by(key.desc(), EpisodeRow.episode_id.desc())
    else:
        statement = statement.order_by(key, EpisodeRow.episode_id)
    return statement.limit(query.page_size + 1)


def _filters(query: EpisodeQuery) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    for name, column in _EQUAL.items():
        values = getattr(query, name)
        if values:
            found.append(column.in_(values))
    if query.success is not None:
        found.append(EpisodeRow.success.is_(query.success))
    if query.qa_passed is not None:
        found.append(EpisodeRow.qa_passed.is_(query.qa_passed))
    if query.since_ns is not None:
        found.append(EpisodeRow.recorded_at_ns >= query.since_ns)
    if query.until_ns is not None:
        found.append(EpisodeRow.recorded_at_ns < query.until_ns)
    if query.instruction_text:
        escaped = query.instruction_text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        found.append(EpisodeRow.instruction.like(f"%{escaped}%", escape="\\"))
    if not query.include_trashed:
        found.append(EpisodeRow.trashed_at_ns.is_(None))
    return found


def _after(query: EpisodeQuery, key: Any, last: tuple[Any, str]) -> ColumnElement[bool]:
    value, episode_id = last
    if query.descending:
        return or_(key < value, and_(key == value, EpisodeRow.episode_id < episode_id))
    return or_(key > value, and_(key == value, EpisodeRow.episode_id > episode_id))


def encode_cursor(query: EpisodeQuery, row: EpisodeRow) -> str:
    value = getattr(row, SORT_KEYS[query.sort].key)
    raw = json.dumps([query.sort, value, row.episode_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, expected: str) -> tuple[Any, str]:
    try:
        sort, value, episode_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError, binascii.Error) as exc:
        raise QueryError(
            f"cursor {cursor[:40]!r} is not one this site gave out ({exc}); start again from the first page"
        ) from None
    if sort != expected or not isinstance(episode_id, str):
        raise QueryError(
            f"cursor {cursor[:40]!r} does not continue a query sorted by {expected!r}; "
            "start again from the first page"
        )
    return value, episode_id
