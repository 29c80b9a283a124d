"""The stations page's cards, from the site's live station board (``GET /api/v1/stations``).

The board (reports posted by each station once a second) belongs to the stations
API; the console reads it in-process through that route's function and adds the
catalogue's figures for the shift (episodes and their QA pass rate). A server
without the station API shows a note instead of cards.

>>> board = {"offline_after_s": 5, "stations": [{"station": "st-09", "state": "never_seen",
...          "last_seen_ns": None, "silent_s": None, "report": None}]}
>>> [(c.station, c.state) for c in cards_from_board(board, {})]
[('st-09', 'never seen')]
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from tg_site._tokens import TokenInfo

__all__ = ["StationCard", "TopicRow", "cards_from_board", "read_board"]


@dataclass(frozen=True)
class TopicRow:
    """One topic of a station: measured rate against the expected one, gaps and rejected messages."""

    topic: str
    rate_hz: float
    expected_hz: float | None
    gaps: int
    rejected: int
    low: bool


@dataclass(frozen=True)
class StationCard:
    station: str
    state: str  # recording, idle, error, offline, never seen
    silent_s: float | None = None
    task: str = ""
    instruction: str = ""
    operator: str = ""
    episode_id: str = ""
    elapsed_s: float = 0.0
    topics: tuple[TopicRow, ...] = ()
    queue: int = 0
    pushing: str = ""
    pushed: int = 0
    error: str = ""
    warnings: tuple[str, ...] = ()
    shift_episodes: int = 0
    shift_passed: int = 0
    shift_validated: int = 0

    @property
    def pass_rate(self) -> float | None:
        return self.shift_passed / self.shift_validated if self.shift_validated else None


def read_board(request: Request, token: TokenInfo) -> dict[str, Any] | None:
    """The stations API's board as its JSON, or None when this server has no station API."""
    try:
        stations_api = importlib.import_module("tg_site.api.stations")
    except ModuleNotFoundError:
        return None
    board: dict[str, Any] = stations_api.list_stations(request, token)
    return board


def cards_from_board(
    board: Mapping[str, Any], shift: Mapping[str, tuple[int, int, int]]
) -> list[StationCard]:
    """One card per station, stations with a problem first.

    ``shift`` maps a station to its (episodes, QA-validated, QA-passed) of this shift.
    """
    cards = [_card(view, shift.get(view["station"], (0, 0, 0))) for view in board.get("stations", [])]
    order = {"error": 0, "recording": 1, "idle": 2, "offline": 3, "never seen": 4}
    return sorted(cards, key=lambda c: (order.get(c.state, 5), c.station))


def _card(view: Mapping[str, Any], shift: tuple[int, int, int]) -> StationCard:
    report = view.get("report") or {}
    recorder = report.get("recorder") or {}
    episodes_n, validated, passed = shift
    if view.get("state") != "online":
        state = "never seen" if view.get("state") == "never_seen" else "offline"
        return StationCard(
            view["station"],
            state,
            view.get("silent_s"),
            shift_episodes=episodes_n,
            shift_validated=validated,
            shift_passed=passed,
        )
    error = str(recorder.get("error") or report.get("push_error") or "")
    topics = tuple(
        TopicRow(
            name,
            float(t.get("rate_hz", 0.0)),
            t.get("expected_hz"),
            int(t.get("gaps", 0)),
            int(t.get("rejected", 0)),
            bool(t.get("expected_hz")) and float(t.get("rate_hz", 0.0)) < 0.9 * float(t["expected_hz"]),
        )
        for name, t in sorted((recorder.get("topics") or {}).items())
    )
    return StationCard(
        station=view["station"],
        state="error" if error else str(recorder.get("state") or "idle"),
        silent_s=view.get("silent_s"),
        task=str(report.get("task", "")),
        instruction=str(report.get("instruction", "")),
        operator=str(report.get("operator", "")),
        episode_id=str(recorder.get("episode_id", "")),
        elapsed_s=float(recorder.get("elapsed_s", 0.0)),
        topics=topics,
        queue=int(report.get("queue", 0)),
        pushing=str(report.get("pushing", "")),
        pushed=int(report.get("pushed", 0)),
        error=error,
        warnings=tuple(recorder.get("warnings") or ()),
        shift_episodes=episodes_n,
        shift_validated=validated,
        shift_passed=passed,
    )
