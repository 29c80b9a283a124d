"""The stations page's cards from the station board's JSON (the shape GET /api/v1/stations answers)."""

from __future__ import annotations

from typing import Any

from tg_site.console._stations_view import cards_from_board


def _view(
    station: str, state: str, report: dict[str, Any] | None = None, silent_s: float | None = 0.4
) -> dict[str, Any]:
    return {"station": station, "state": state, "last_seen_ns": 1, "silent_s": silent_s, "report": report}


def _report(station: str, **recorder: Any) -> dict[str, Any]:
    status = {
        "state": "idle",
        "episode_id": "",
        "elapsed_s": 0.0,
        "episodes_recorded": 3,
        "last_episode": "",
        "topics": {},
        "warnings": [],
        "error": "",
        **recorder,
    }
    return {
        "station": station,
        "recorder": status,
        "queue": 2,
        "pushing": "01ABCDEFGH",
        "pushed": 5,
        "push_error": "",
        "task": "叠毛巾",
        "instruction": "把毛巾叠好",
        "task_id": "t1",
        "operator": "阿娜",
    }


def test_cards_say_what_each_station_does_problems_first() -> None:
    topics = {
        "/camera/head": {"rate_hz": 29.8, "expected_hz": 30.0, "gaps": 0, "rejected": 0},
        "/joint_states": {"rate_hz": 31.0, "expected_hz": 50.0, "gaps": 2, "rejected": 7},
    }
    board = {
        "offline_after_s": 5.0,
        "stations": [
            _view(
                "st-01",
                "online",
                _report(
                    "st-01",
                    state="recording",
                    episode_id="01X",
                    elapsed_s=75.5,
                    topics=topics,
                    warnings=["camera /camera/head: frames stopped changing"],
                ),
            ),
            _view("st-02", "online", _report("st-02", error="disk full: /data")),
            _view("st-03", "offline", None, silent_s=42.0),
            _view("st-04", "never_seen", None, silent_s=None),
            _view("st-05", "online", _report("st-05")),
        ],
    }
    cards = cards_from_board(board, {"st-01": (10, 8, 6)})
    assert [(c.station, c.state) for c in cards] == [
        ("st-02", "error"),
        ("st-01", "recording"),
        ("st-05", "idle"),
        ("st-03", "offline"),
        ("st-04", "never seen"),
    ]
    recording = cards[1]
    assert (recording.task, recording.instruction, recording.elapsed_s) == ("叠毛巾", "把毛巾叠好", 75.5)
    assert recording.operator == "阿娜"
    assert [(t.topic, t.low, t.gaps, t.rejected) for t in recording.topics] == [
        ("/camera/head", False, 0, 0),
        ("/joint_states", True, 2, 7),
    ]
    assert recording.warnings == ("camera /camera/head: frames stopped changing",)
    assert (recording.queue, recording.pushed, recording.shift_episodes, recording.pass_rate) == (
        2,
        5,
        10,
        0.75,
    )
    assert cards[0].error == "disk full: /data"
    assert cards[3].silent_s == 42.0 and cards[4].pass_rate is None
