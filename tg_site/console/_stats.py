"""The dashboard's figures: episodes and hours per day by task, station and operator, QA, backlog.

Read with one SELECT of the few columns they need (not whole rows), days cut in
the site's time zone (``--time-zone``), as the API's per-day figures are.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select

from tg_site._catalogue import Catalogue
from tg_site._models import EpisodeRow

__all__ = ["Bar", "Dashboard", "dashboard", "shift_figures"]


@dataclass(frozen=True)
class Bar:
    """One row of a chart: its label, the figures printed beside it, and the bar's share of the widest."""

    label: str
    episodes: int
    hours: float
    share: float


@dataclass(frozen=True)
class Dashboard:
    days: int
    time_zone: str
    per_day: list[Bar]
    by_task: list[Bar]
    by_station: list[Bar]
    by_operator: list[Bar]
    validated: int
    passed: int
    top_findings: list[tuple[str, int]]
    backlog: int
    total: int = 0

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.validated if self.validated else None


def dashboard(catalogue: Catalogue, days: int, time_zone: str) -> Dashboard:
    zone = ZoneInfo(time_zone)
    today = dt.datetime.now(zone).date()
    first = dt.datetime.combine(today - dt.timedelta(days=days - 1), dt.time(), zone)
    columns = (
        EpisodeRow.recorded_at_ns,
        EpisodeRow.duration_s,
        EpisodeRow.task,
        EpisodeRow.station,
        EpisodeRow.operator,
        EpisodeRow.qa_passed,
        EpisodeRow.qa_errors,
        EpisodeRow.qa_warnings,
    )
    live = EpisodeRow.trashed_at_ns.is_(None)
    sums: dict[str, dict[str, list[float]]] = {
        k: defaultdict(lambda: [0, 0.0]) for k in ("day", "task", "station", "operator")
    }
    findings: Counter[str] = Counter()
    validated = passed = total = 0
    with catalogue.session() as s:
        since = int(first.timestamp()) * 1_000_000_000
        for at_ns, seconds, task, station, operator, qa_passed, errors, warnings in s.execute(
            select(*columns).where(live, EpisodeRow.recorded_at_ns >= since)
        ):
            total += 1
            day = dt.datetime.fromtimestamp(at_ns / 1e9, zone).date().isoformat()
            for key, label in (
                ("day", day),
                ("task", task or "—"),
                ("station", station or "—"),
                ("operator", operator or "—"),
            ):
                sums[key][label][0] += 1
                sums[key][label][1] += seconds / 3600
            if qa_passed is not None:
                validated += 1
                passed += bool(qa_passed)
            findings.update({check for check, n in {**(warnings or {}), **(errors or {})}.items() if n})
        backlog = s.execute(
            select(func.count()).where(live, EpisodeRow.review_state == "pending")
        ).scalar_one()
    day_names = [(today - dt.timedelta(days=k)).isoformat() for k in reversed(range(days))]
    return Dashboard(
        days=days,
        time_zone=time_zone,
        per_day=_bars({d: sums["day"].get(d, [0, 0.0]) for d in day_names}, keep_order=True),
        by_task=_bars(sums["task"]),
        by_station=_bars(sums["station"]),
        by_operator=_bars(sums["operator"]),
        validated=validated,
        passed=passed,
        top_findings=findings.most_common(10),
        backlog=int(backlog),
        total=total,
    )


def _bars(sums: dict[str, list[float]], *, keep_order: bool = False) -> list[Bar]:
    items = list(sums.items()) if keep_order else sorted(sums.items(), key=lambda kv: -kv[1][1])[:12]
    widest = max((v[1] for _, v in items), default=0.0) or 1.0
    return [Bar(label, int(v[0]), v[1], v[1] / widest) for label, v in items]


def shift_figures(catalogue: Catalogue, since_ns: int) -> dict[str, tuple[int, int, int]]:
    """Per station since ``since_ns``: (episodes, QA-validated, QA-passed), in one grouped query."""
    passed = func.sum(case((EpisodeRow.qa_passed.is_(True), 1), else_=0))
    validated = func.count(EpisodeRow.qa_passed)
    statement = (
        select(EpisodeRow.station, func.count(), validated, passed)
        .where(EpisodeRow.trashed_at_ns.is_(None), EpisodeRow.recorded_at_ns >= since_ns)
        .group_by(EpisodeRow.station)
    )
    with catalogue.session() as s:
        return {station: (int(n), int(v), int(p or 0)) for station, n, v, p in s.execute(statement)}
