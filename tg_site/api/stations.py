"""``/api/v1/stations``: a station's live status posted once a second, the stations board, assignments.

The board lives in the server process (``app.state.stations``, made on first
use): reports are live state, not records, so a restarted server knows a
station again within a second of its next report.
"""

from __future__ import annotations

import threading
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from tg_site._auth import ForbiddenError, require
from tg_site._stations import StationBoard, StationReport, current_task
from tg_site._tokens import Role, TokenInfo
from tg_site.api._common import Reader, site_of

__all__ = ["board_of", "router"]

router = APIRouter(prefix="/api/v1", tags=["stations"])
Station = Annotated[TokenInfo, Depends(require(Role.STATION))]
_made = threading.Lock()
StationOrReader = Annotated[TokenInfo, Depends(require(Role.STATION, Role.REVIEWER, Role.RESEARCHER))]


def board_of(request: Request) -> StationBoard:
    """The app's station board (made on first use: the site's state is another module's)."""
    with _made:
        board: StationBoard | None = getattr(request.app.state, "stations", None)
        if board is None:
            board = request.app.state.stations = StationBoard()
        return board


def _own_station(token: TokenInfo, station: str) -> None:
    if token.role is Role.STATION and token.station != station:
        raise ForbiddenError(
            f"this token belongs to station {token.station!r}, not {station!r}: start the station with "
            f"--station {token.station} or ask the site's admin for a token of station {station!r}"
        )


@router.post("/stations/{station}/status")
async def post_status(station: str, request: Request, token: Station) -> dict[str, Any]:
    """A station's report (recorder status, queue, free disk, task); its own station only."""
    _own_station(token, station)
    report = StationReport.from_json(await request.json())
    if report.station != station:
        raise ForbiddenError(
            f"POST /api/v1/stations/{station}/status: the report is of station {report.station!r}; "
            "post it to its own station's URL"
        )
    board_of(request).post(report)
    return {"station": station, "offline_after_s": board_of(request).offline_after_s}


@router.get("/stations")
def list_stations(request: Request, token: Reader) -> dict[str, Any]:
    """Every station with a token or a report: ``online``, ``offline`` (silent > 5 s) or ``never_seen``."""
    known = [t.station for t in site_of(request).tokens.list() if t.station and t.state() == "active"]
    board = board_of(request)
    return {
        "offline_after_s": board.offline_after_s,
        "stations": [v.to_json() for v in board.views(known)],
    }


@router.get("/stations/{station}/live")
def station_live(station: str, request: Request, token: StationOrReader) -> dict[str, Any]:
    """One station's newest report and whether it is online (a station token: its own only)."""
    _own_station(token, station)
    return board_of(request).view(station).to_json()


@router.get("/stations/{station}/task")
async def station_task(station: str, request: Request, token: StationOrReader) -> dict[str, Any]:
    """The task assigned to ``station`` now (null if none): highest priority, then newest."""
    _own_station(token, station)
    tasks = await run_in_threadpool(site_of(request).catalogue.list_tasks)
    found = current_task(tasks, station)
    return {"station": station, "assignment": None if found is None else found.to_json()}
