"""What the live recorder publishes about itself: the contract between the recorder node and its runners.

:class:`RecorderStatus` goes out on the node's ``~/status`` topic as JSON about
once a second; ``tg record``, the simulator session and the recorder client
read it back with :meth:`RecorderStatus.from_json`. ROS-free and free of the
recorder itself, so a runner needs only this module to understand the node.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from collectors._errors import RecorderError

__all__ = ["STATE_IDLE", "STATE_RECORDING", "RecorderStatus", "TopicStatus"]

STATE_IDLE = "idle"
STATE_RECORDING = "recording"


@dataclass(frozen=True)
class TopicStatus:
    """One subscribed topic as the status reports it.

    ``received`` counts the messages of the current episode (the last one when
    idle); ``rate_hz`` is measured over the last half second or more, idle or
    not; ``rejected`` counts bad input (``rejected_by`` by reason); ``gaps``
    the silences of the current episode; ``heard``: a message has arrived since
    the recorder started (before that, a rate of 0 means nothing).
    """

    msg_type: str
    streams: tuple[str, ...]
    received: int
    rate_hz: float
    expected_hz: float | None
    gaps: int
    rejected: int
    last_error: str = ""
    rejected_by: Mapping[str, int] = field(default_factory=dict)
    heard: bool = False


@dataclass(frozen=True)
class RecorderStatus:
    """What the recorder publishes on ``~/status`` about once a second, as JSON.

    ``elapsed_s`` is the recorder's clock since ``start``; ``recorded_s`` the
    span of the data written so far (first to last arrival), the figure the
    finished episode's ``duration_s`` reports. ``silent`` names the required
    streams nothing has been written to in this episode; ``warnings`` what the
    operator should see now (silent streams, clocks that disagree).

    >>> s = RecorderStatus(state="idle", episode_id="", elapsed_s=0.0, episodes_recorded=0, last_episode="")
    >>> RecorderStatus.from_json(s.to_json()) == s
    True
    """

    state: str  # "idle" | "recording"
    episode_id: str  # "" when idle
    elapsed_s: float
    episodes_recorded: int
    last_episode: str  # path of the last finished episode, "" before the first
    topics: Mapping[str, TopicStatus] = field(default_factory=dict)
    profile: str = ""
    out: str = ""
    success: str = "unknown"  # label of the current episode, else of the last one
    error: str = ""  # why the last episode ended on its own (the disk failed), "" otherwise
    recorded_s: float = 0.0
    silent: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def recording(self) -> bool:
        return self.state == STATE_RECORDING

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> RecorderStatus:
        """Parse a status message; :class:`RecorderError` says what is wrong with it."""
        try:
            data = json.loads(text)
            topics = {str(name): _topic_status(t) for name, t in data.get("topics", {}).items()}
            status = cls(
                state=str(data["state"]),
                episode_id=str(data["episode_id"]),
                elapsed_s=float(data["elapsed_s"]),
                episodes_recorded=int(data["episodes_recorded"]),
                last_episode=str(data["last_episode"]),
                topics=topics,
                profile=str(data.get("profile", "")),
                out=str(data.get("out", "")),
                success=str(data.get("success", "unknown")),
                error=str(data.get("error", "")),
                recorded_s=float(data.get("recorded_s", 0.0)),
                silent=tuple(str(n) for n in data.get("silent", ())),
                warnings=tuple(str(w) for w in data.get("warnings", ())),
            )
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise RecorderError(
                f"recorder status is not valid: {type(exc).__name__}: {exc}: {text[:200]}"
            ) from None
        if status.state not in (STATE_IDLE, STATE_RECORDING):
            raise RecorderError(f"recorder status: unknown state {status.state!r}")
        return status


def _topic_status(t: Mapping[str, Any]) -> TopicStatus:
    return TopicStatus(
        msg_type=str(t["msg_type"]),
        streams=tuple(str(s) for s in t["streams"]),
        received=int(t["received"]),
        rate_hz=float(t["rate_hz"]),
        expected_hz=None if t["expected_hz"] is None else float(t["expected_hz"]),
        gaps=int(t["gaps"]),
        rejected=int(t["rejected"]),
        last_error=str(t.get("last_error", "")),
        rejected_by={str(k): int(v) for k, v in t.get("rejected_by", {}).items()},
        heard=bool(t.get("heard", False)),
    )
