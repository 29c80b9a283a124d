"""The episodes table's filters: the catalogue's query plus two it cannot express (check id, duration).

Fields the catalogue filters go into an :class:`EpisodeQuery` (keyset pages in
SQL). A QA check id and a duration range are applied to the rows of those pages;
a page is filled by reading further pages, up to :data:`SCAN_LIMIT` rows.

>>> f = ConsoleFilters.from_params({"qa": "fail", "check": "stream.gap", "min_s": "2"}, "UTC")
>>> f.query().qa_passed, f.check, f.min_s
(False, 'stream.gap', 2.0)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from tg_site._catalogue import Catalogue
from tg_site._query import MAX_PAGE, SORT_KEYS, EpisodeQuery, encode_cursor
from tg_site._records import EpisodeRecord
from tg_site.console._errors import ConsoleError

__all__ = ["SCAN_LIMIT", "ConsoleFilters", "FilterError", "FilteredPage", "filtered_page"]

SCAN_LIMIT = 5000
_TRI = {"": None, "true": True, "false": False, "pass": True, "fail": False}


class FilterError(ConsoleError):
    """Filter fields the console cannot use; ``errors`` maps each field to its message for the form."""

    def __init__(self, errors: Mapping[str, str], filters: ConsoleFilters) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = dict(errors)
        self.filters = filters  # as typed, to show them again next to the messages


@dataclass(frozen=True)
class ConsoleFilters:
    """What the episodes form asks for, as typed (text), plus the parsed numbers."""

    robot: str = ""
    task: str = ""
    operator: str = ""
    station: str = ""
    since: str = ""
    until: str = ""
    success: str = ""
    qa: str = ""
    check: str = ""
    review: str = ""
    min_s: float | None = None
    max_s: float | None = None
    sort: str = "recorded_at"
    order: str = "desc"
    page_size: int = 25
    time_zone: str = "UTC"

    @classmethod
    def from_params(cls, params: Mapping[str, str], time_zone: str) -> ConsoleFilters:
        """The filters of a request; every bad field is reported at once (:class:`FilterError`)."""
        text = {
            f.name: str(params.get(f.name, "")).strip() for f in dataclasses.fields(cls) if f.type == "str"
        }
        text.pop("time_zone")
        text["sort"] = text["sort"] or "recorded_at"
        text["order"] = text["order"] or "desc"
        errors: dict[str, str] = {}
        numbers: dict[str, float | None] = {}
        for name in ("min_s", "max_s", "page_size"):
            numbers[name] = _number(params, name, errors)
        found = cls(
            **text,
            min_s=numbers["min_s"],
            max_s=numbers["max_s"],
            page_size=int(numbers["page_size"] or 25),
            time_zone=time_zone,
        )
        errors.update(found.problems())
        if errors:
            raise FilterError(errors, found)
        return found

    def problems(self) -> dict[str, str]:
        errors: dict[str, str] = {}
        if self.sort not in SORT_KEYS:
            errors["sort"] = f"{self.sort!r} is not one of {', '.join(SORT_KEYS)}"
        for name in ("success", "qa"):
            if getattr(self, name) not in _TRI:
                errors[name] = f"{getattr(self, name)!r}: choose any, yes or no"
        if not 1 <= self.page_size <= 200:
            errors["page_size"] = f"{self.page_size}: show 1 to 200 episodes a page"
        for name in ("since", "until"):
            try:
                self._day_ns(getattr(self, name), 0)
            except ValueError:
                errors[name] = f"{getattr(self, name)!r} is not a date; write it as YYYY-MM-DD"
        return errors

    def query(self, cursor: str | None = None) -> EpisodeQuery:
        """The catalogue's part of the filters (call :meth:`problems` first: it assumes valid fields)."""
        return EpisodeQuery(
            robot=_values(self.robot),
            task=_values(self.task),
            operator=_values(self.operator),
            station=_values(self.station),
            review_state=_values(self.review),
            success=_TRI[self.success],
            qa_passed=_TRI[self.qa],
            since_ns=self._day_ns(self.since, 0),
            until_ns=self._day_ns(self.until, 1),
            sort=self.sort,
            descending=self.order == "desc",
            page_size=self.page_size,
            cursor=cursor,
        )

    def _day_ns(self, day: str, offset: int) -> int | None:
        """Midnight of ``day`` (+offset days: ``until`` includes its day) in the site's time zone."""
        if not day:
            return None
        date = dt.date.fromisoformat(day)
        start = dt.datetime.combine(date + dt.timedelta(days=offset), dt.time(), ZoneInfo(self.time_zone))
        return int(start.timestamp()) * 1_000_000_000

    def matches(self, record: EpisodeRecord) -> bool:
        """The filters SQL does not apply: a QA check id with findings, a duration range."""
        if self.check and not (record.qa_errors.get(self.check) or record.qa_warnings.get(self.check)):
            return False
        if self.min_s is not None and record.duration_s < self.min_s:
            return False
        return self.max_s is None or record.duration_s <= self.max_s

    @property
    def scans(self) -> bool:
        return bool(self.check) or self.min_s is not None or self.max_s is not None

    def params(self, **changes: Any) -> str:
        """These filters as a query string (empty fields left out), with ``changes`` applied."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "time_zone"}
        data.update(changes)
        return urlencode({k: v for k, v in data.items() if v not in ("", None)})


@dataclass(frozen=True)
class FilteredPage:
    records: tuple[EpisodeRecord, ...]
    next_cursor: str | None
    scanned: int
    scan_stopped: bool


def filtered_page(catalogue: Catalogue, filters: ConsoleFilters, cursor: str | None) -> FilteredPage:
    """One page of the table: catalogue pages read until ``page_size`` rows match (or SCAN_LIMIT rows)."""
    if not filters.scans:
        page = catalogue.query(filters.query(cursor))
        return FilteredPage(tuple(page.records), page.next_cursor, len(page.records), False)
    batch = min(MAX_PAGE, max(100, 4 * filters.page_size))
    kept: list[EpisodeRecord] = []
    scanned = 0
    while True:
        query = dataclasses.replace(filters.query(cursor), page_size=batch)
        page = catalogue.query(query)
        for record in page.records:
            scanned += 1
            if filters.matches(record):
                kept.append(record)
                if len(kept) == filters.page_size:  # continue after this row next time
                    return FilteredPage(tuple(kept), encode_cursor(query, cast(Any, record)), scanned, False)
        cursor = page.next_cursor
        if cursor is None or scanned >= SCAN_LIMIT:
            return FilteredPage(tuple(kept), cursor, scanned, cursor is not None)


def _values(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.split(",") if v.strip())


def _number(params: Mapping[str, str], name: str, errors: dict[str, str]) -> float | None:
    text = str(params.get(name, "")).strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        errors[name] = f"{text!r} is not a number"
        return None
    return value
