"""The stations page: one card per station, refreshed every second (htmx swaps the cards in)."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tg_site.api._common import site_of
from tg_site.console._pages_auth import User
from tg_site.console._state import console_of, render
from tg_site.console._stations_view import cards_from_board, read_board
from tg_site.console._stats import shift_figures

__all__ = ["SHIFT_S", "router"]

router = APIRouter(include_in_schema=False)
SHIFT_S = 12 * 3600  # "this shift": the last 12 hours


@router.get("/stations")
def stations_page(request: Request, user: User) -> Response:
    return render(request, user, "stations.html")


@router.get("/console/stations/cards")
def station_cards(request: Request, user: User) -> Response:
    """The cards alone (what the page polls): the board's reports plus this shift's catalogue figures."""
    board = read_board(request, user.info)
    if board is None:
        return render(request, user, "station_cards.html", cards=None)
    catalogue = site_of(request).catalogue
    # Every browser polls every second; the shift's figures change with arrivals, not that fast.
    shift = console_of(request).cached(
        "shift", lambda: shift_figures(catalogue, time.time_ns() - SHIFT_S * 1_000_000_000), 5.0
    )
    cards = cards_from_board(board, shift)
    return render(request, user, "station_cards.html", cards=cards)
