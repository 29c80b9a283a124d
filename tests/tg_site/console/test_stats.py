"""The dashboard's figures from a small catalogue with known rows (a real SQLite catalogue)."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from tests.tg_site.site_episodes import make_episode
from tg_site import Catalogue, Store, record_from_file
from tg_site.console._stats import dashboard, shift_figures

HOUR_NS = 3600 * 10**9


def test_figures_count_the_period_by_task_station_and_finding(tmp_path: Path) -> None:
    base = record_from_file(make_episode(tmp_path / "base"))
    now = time.time_ns()

    def row(n: int, **changes: object) -> object:
        values = {
            "episode_id": f"01J0000000000000000000000{n}",
            "recorded_at_ns": now - HOUR_NS,
            "duration_s": 1800.0,
        }
        return dataclasses.replace(base, **{**values, **changes})  # type: ignore[arg-type]

    rows = [
        row(1, task="pick", station="st-01", qa_passed=True, review_state="approved"),
        row(
            2,
            task="pick",
            station="st-02",
            qa_passed=False,
            qa_errors={"time.gap": 2},
            review_state="pending",
        ),
        row(
            3,
            task="fold",
            station="st-01",
            qa_passed=True,
            qa_warnings={"time.rate": 1},
            review_state="pending",
        ),
        row(
            4, task="pick", recorded_at_ns=now - 20 * 24 * HOUR_NS, review_state="pending"
        ),  # before the period
        row(5, task="pick", trashed_at_ns=now),  # in the trash
    ]
    with Catalogue.open(Store(tmp_path / "store")) as catalogue:
        catalogue.upsert_many(rows)  # type: ignore[arg-type]
        board = dashboard(catalogue, 14, "Asia/Shanghai")
        shift = shift_figures(catalogue, now - 12 * HOUR_NS)
    assert board.total == 3 and (board.validated, board.passed) == (3, 2)
    assert board.backlog == 3  # every pending episode, however old
    assert [(b.label, b.episodes, b.hours) for b in board.by_task] == [("pick", 2, 1.0), ("fold", 1, 0.5)]
    assert {b.label: b.episodes for b in board.by_station} == {"st-01": 2, "st-02": 1}
    assert len(board.per_day) == 14 and sum(b.episodes for b in board.per_day) == 3
    assert board.top_findings == [("time.gap", 1), ("time.rate", 1)]
    assert shift == {"st-01": (2, 2, 2), "st-02": (1, 1, 0)}
