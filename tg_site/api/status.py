"""Per-day figures in the site's time zone, a station's status, and the console's sign-in."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from tg_site._auth import ForbiddenError, require
from tg_site._messages import MessageError
from tg_site._query import MAX_PAGE, EpisodeQuery
from tg_site._tokens import Role, TokenInfo
from tg_site.api._common import Reader, site_of

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["status"])
_MAX_DAYS = 366
StationOrReader = Annotated[TokenInfo, Depends(require(Role.STATION, Role.REVIEWER, Role.RESEARCHER))]


@router.get("/stats/daily")
def daily(request: Request, token: Reader, days: int = 7) -> dict[str, Any]:
    """Episodes, hours and approved hours per day of the site's time zone (``--time-zone``), newest last."""
    if not 1 <= days <= _MAX_DAYS:
        raise MessageError(f"days={days}: ask for 1 to {_MAX_DAYS} days")
    site = site_of(request)
    zone = ZoneInfo(site.settings.time_zone)
    today = dt.datetime.now(zone).date()
    first = dt.datetime.combine(today - dt.timedelta(days=days - 1), dt.time(), zone)
    query = EpisodeQuery(since_ns=int(first.timestamp()) * 1_000_000_000, page_size=MAX_PAGE)
    buckets: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
    for record in site.catalogue.iter_query(query):
        day = dt.datetime.fromtimestamp(record.recorded_at_ns / 1e9, zone).date().isoformat()
        bucket = buckets[day]
        bucket[0] += 1
        bucket[1] += record.duration_s / 3600
        bucket[2] += record.duration_s / 3600 if record.review_state == "approved" else 0.0
    names = [(today - dt.timedelta(days=k)).isoformat() for k in reversed(range(days))]
    return {
        "time_zone": site.settings.time_zone,
        "days": [
            {
                "day": d,
                "episodes": int(buckets[d][0]),
                "hours": buckets[d][1],
                "approved_hours": buckets[d][2],
            }
            for d in names
        ],
    }


@router.get("/stations/{station}")
def station_status(station: str, request: Request, token: StationOrReader) -> dict[str, Any]:
    """A station's episodes on the site, its newest one and its push lag (a station token: its own only)."""
    if token.role is Role.STATION and token.station != station:
        raise ForbiddenError(
            f"this token belongs to station {token.station!r}; it may not see station {station!r}"
        )
    site = site_of(request)
    newest = site.catalogue.query(EpisodeQuery(station=(station,), descending=True, page_size=1)).records
    count, seconds = 0, 0.0
    for record in site.catalogue.iter_query(EpisodeQuery(station=(station,), page_size=MAX_PAGE)):
        count += 1
        seconds += record.duration_s
    return {
        "station": station,
        "episodes": count,
        "hours": seconds / 3600,
        "newest": newest[0].to_json() if newest else None,
        "push_lag_s": site.metrics.push_lag(station),
        "arrival_queue_depth": site.arrivals.depth,
    }


@router.post("/login")
async def login(request: Request) -> dict[str, Any]:
    """The console's sign-in with a token typed by a person: rate-limited per client address (429)."""
    site = site_of(request)
    site.logins.hit(request.client.host if request.client is not None else "unknown")
    body = await request.json()
    if not isinstance(body, dict) or not isinstance(body.get("token"), str):
        raise MessageError('login: send {"token": "..."}')
    info = await run_in_threadpool(site.tokens.verify, body["token"])
    await run_in_threadpool(site.write, lambda: site.catalogue.audit(info.name, "login", None, {}))
    return info.to_json()
