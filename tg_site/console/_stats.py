"""The dashboard's figures: episodes and hours per day by task, station and operator, QA, backlog.

Read with one SELECT of the few columns they need (not whole rows), days cut in
the site's time zone (``--time-zone``), as the API's per-day figures are.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select, text

from tg_site._catalogue import Catalogue
from tg_site._models import EpisodeRow

__all__ = ["Bar", "Dashboard", "dashboard", "shift_figures"]

_BUCKET_NS = 900 * 10**9
# Episodes per QA check id with findings (errors or warnings), in SQLite's JSON functions.
_TOP_FINDINGS = text(
    """
    SELECT key, COUNT(DISTINCT episode_id) AS n FROM (
      SELECT e.episode_id AS episode_id, j.key AS key FROM episodes e, json_each(e.qa_errors) j
        WHERE e.trashed_at_ns IS NULL AND j.value > 0
          AND e.recorded_at_ns >= :since AND e.recorded_at_ns < :until
      UNION ALL
      SELECT e.episode_id, j.key FROM episodes e, json_each(e.qa_warnings) j
        WHERE e.trashed_at_ns IS NULL AND j.value > 0
          AND e.recorded_at_ns >= :since AND e.recorded_at_ns < :until
    ) GROUP BY key ORDER BY n DESC, key LIMIT 10
    """
)


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
    """The figures of the last ``days`` days of the site's time zone, aggregated by SQLite.

    Days are cut from 15-minute UTC buckets (every time zone's offset is a multiple of
    15 minutes, so each bucket falls in one local day), which keeps the grouping in SQL.
    """
    zone = ZoneInfo(time_zone)
    today = dt.datetime.now(zone).date()
    first = dt.datetime.combine(today - dt.timedelta(days=days - 1), dt.time(), zone)
    since = int(first.timestamp()) * 10**9
    until = int(dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), zone).timestamp()) * 10**9
    live = EpisodeRow.trashed_at_ns.is_(None)
    where = (live, EpisodeRow.recorded_at_ns >= since, EpisodeRow.recorded_at_ns < until)
    count, hours = func.count(), func.sum(EpisodeRow.duration_s) / 3600
    day_sums: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    groups: dict[str, dict[str, list[float]]] = {}
    with catalogue.session() as s:
        bucket = EpisodeRow.recorded_at_ns // _BUCKET_NS
        for start, n, h in s.execute(select(bucket, count, hours).where(*where).group_by(bucket)):
            day = dt.datetime.fromtimestamp(int(start) * _BUCKET_NS / 1e9, zone).date().isoformat()
            day_sums[day][0] += n
            day_sums[day][1] += h or 0.0
        for name, column in (
            ("task", EpisodeRow.task),
            ("station", EpisodeRow.station),
            ("operator", EpisodeRow.operator),
        ):
            rows = s.execute(select(column, count, hours).where(*where).group_by(column))
            groups[name] = {(label or "—"): [n, h or 0.0] for label, n, h in rows}
        passed = func.sum(case((EpisodeRow.qa_passed.is_(True), 1), else_=0))
        total, validated, passed_n = s.execute(
            select(count, func.count(EpisodeRow.qa_passed), passed).where(*where)
        ).one()
        backlog = s.execute(
            select(count).where(EpisodeRow.trashed_at_ns.is_(None), EpisodeRow.review_state == "pending")
        ).scalar_one()
        findings = s.execute(_TOP_FINDINGS, {"since": since, "until": until}).all()
    day_names = [(today - dt.timedelta(days=k)).isoformat() for k in reversed(range(days))]
    return Dashboard(
        days=days,
        time_zone=time_zone,
        per_day=_bars({d: day_sums.get(d, [0, 0.0]) for d in day_names}, keep_order=True),
        by_task=_bars(groups["task"]),
        by_station=_bars(groups["station"]),
        by_operator=_bars(groups["operator"]),
        validated=int(validated),
        passed=int(passed_n or 0),
        top_findings=[(str(check), int(n)) for check, n in findings],
        backlog=int(backlog),
        total=int(total),
    )


def _bars(sums: dict[str, list[float]], *, keep_order: bool = False) -> list[Bar]:
    items = list(sums.items()) if keep_order else sorted(sums.items(), key=lambda kv: -kv[1][1])[:12]
    widest = max((v[1] for _, v in items), default=0.0) or 1.0
    return [Bar(label, int(v[0]), v[1], v[1] / widest) for label, v in items]


def shift_figures(catalogue: Catalogue, since_ns: int) -> dict[str, tuple[int, int, int]]:
    """Per station from ``since_ns`` until now: (episodes, QA-validated, QA-passed), one grouped query."""
    passed = func.sum(case((EpisodeRow.qa_passed.is_(True), 1), else_=0))
    validated = func.count(EpisodeRow.qa_passed)
    statement = (
        select(EpisodeRow.station, func.count(), validated, passed)
        .where(
            EpisodeRow.trashed_at_ns.is_(None),
            EpisodeRow.recorded_at_ns >= since_ns,
            EpisodeRow.recorded_at_ns < time.time_ns(),
        )
        .group_by(EpisodeRow.station)
    )
    with catalogue.session() as s:
        return {station: (int(n), int(v), int(p or 0)) for station, n, v, p in s.execute(statement)}
