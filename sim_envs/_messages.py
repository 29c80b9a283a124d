"""The messages between the simulated session's nodes, as JSON text on topics and services.

The simulator (``sim_bridge``), the scripted teleoperator (``scripted_teleop``) and the
session runner (``tg collect``) run as separate processes; what one sends the other
parses here, so that both ends share one declaration and a malformed message fails
with its type and field named, not as a ``KeyError`` deep in a node. No ROS is
imported: the nodes put the text into ``std_msgs/String`` and ``std_srvs/Trigger``.

=========================  ==========================================  ==========================
message                    sent as                                     read by
=========================  ==========================================  ==========================
:class:`SimScene`          ``/sim_bridge/scene``, ``~/reset`` answer   teleoperator, runner
:class:`SimVerdict`        ``/sim_bridge/evaluate`` answer             runner
:class:`TeleopStart`       ``/scripted_teleop/start`` answer           runner
:class:`TeleopStatus`      ``/scripted_teleop/status``                 runner
=========================  ==========================================  ==========================

>>> scene = SimScene(seed=3, task="pick_place", instruction="put it in", origin_ns=5, extra={})
>>> SimScene.from_json(scene.to_json()) == scene
True
>>> TeleopStatus.from_json('{"state": "ready", "seed": "3"}')
Traceback (most recent call last):
sim_envs._errors.SimError: TeleopStatus message: field 'seed' must be an integer or null, got '3'
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any, TypeVar

from episodes import JsonValue
from sim_envs._errors import SimError

__all__ = ["TELEOP_STATES", "SimScene", "SimVerdict", "TeleopStart", "TeleopStatus"]

# What the teleoperator is doing; "done": the script ended and the pose is held.
TELEOP_STATES = ("waiting", "planning", "ready", "running", "done", "stopped", "error")
_REQUIRED: Any = object()


class _Fields:
    """The fields of one JSON object, read with their types checked; errors name message and field."""

    def __init__(self, message: str, text: str) -> None:
        self.message = message
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise SimError(f"{message} message: not JSON ({exc}): {text[:200]!r}") from None
        if not isinstance(data, dict):
            raise SimError(f"{message} message: expected a JSON object, got {text[:200]!r}")
        self.data: dict[str, Any] = data

    def _get(self, name: str, default: Any) -> Any:
        if name in self.data:
            return self.data[name]
        if default is _REQUIRED:
            raise SimError(f"{self.message} message: field {name!r} is missing")
        return default

    def _wrong(self, name: str, expected: str) -> SimError:
        return SimError(f"{self.message} message: field {name!r} must be {expected}, got {self.data[name]!r}")

    def integer(self, name: str, default: Any) -> int:
        value = self._get(name, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._wrong(name, "an integer")
        return value

    def optional_integer(self, name: str, default: Any) -> int | None:
        value = self._get(name, default)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise self._wrong(name, "an integer or null")
        return value

    def number(self, name: str, default: Any) -> float:
        value = self._get(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._wrong(name, "a number")
        return float(value)

    def flag(self, name: str, default: Any) -> bool:
        value = self._get(name, default)
        if not isinstance(value, bool):
            raise self._wrong(name, "true or false")
        return value

    def text(self, name: str, default: Any) -> str:
        value = self._get(name, default)
        if not isinstance(value, str):
            raise self._wrong(name, "a string")
        return value

    def mapping(self, name: str, default: Any) -> dict[str, JsonValue]:
        value = self._get(name, default)
        if not isinstance(value, Mapping):
            raise self._wrong(name, "an object")
        return dict(value)

    def counts(self, name: str, default: Any) -> dict[str, int]:
        value = self.mapping(name, default)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in value.values()):
            raise self._wrong(name, "an object of integers")
        return {k: int(v) for k, v in value.items()}  # type: ignore[arg-type]  # checked above


# The reader of each field type a message declares (annotations are text: `from __future__`).
_READERS: dict[str, Callable[[_Fields, str, Any], Any]] = {
    "int": _Fields.integer,
    "int | None": _Fields.optional_integer,
    "float": _Fields.number,
    "bool": _Fields.flag,
    "str": _Fields.text,
    "Mapping[str, JsonValue]": _Fields.mapping,
    "Mapping[str, int]": _Fields.counts,
}
_M = TypeVar("_M", bound="_Message")


@dataclass(frozen=True)
class _Message:
    """JSON in and out, from the message's own field declarations: one declaration per message."""

    def to_json(self) -> str:
        """Every field, keys sorted, no NaN (which JSON does not have)."""
        return json.dumps(asdict(self), sort_keys=True, allow_nan=False)

    @classmethod
    def from_json(cls: type[_M], text: str) -> _M:
        """Parse a message; :class:`SimError` names the message type and the field that is wrong."""
        f = _Fields(cls.__name__, text)
        values = {}
        for declared in fields(cls):
            if declared.default is not MISSING:
                default = declared.default
            elif declared.default_factory is not MISSING:
                default = declared.default_factory()
            else:
                default = _REQUIRED
            values[declared.name] = _READERS[str(declared.type)](f, declared.name, default)
        message = cls(**values)
        message._check()
        return message

    def _check(self) -> None:
        """What the field types do not say (a message with a closed set of values overrides it)."""


@dataclass(frozen=True)
class SimScene(_Message):
    """A new scene, after a reset: what the teleoperator plans for and the recording is labelled with.

    ``origin_ns`` (the session clock when the scene was laid out) identifies the
    scene: a reset may repeat a seed. ``extra`` is the simulator's part of the
    episode's ``extra_json`` (:meth:`SimEpisode.world_extra`), its ``scene`` the layout.
    """

    seed: int
    task: str
    instruction: str
    origin_ns: int
    extra: Mapping[str, JsonValue]

    @property
    def layout(self) -> JsonValue:
        """The randomised layout (``extra["scene"]``), which the teleoperator checks its own against."""
        return self.extra.get("scene")


@dataclass(frozen=True)
class SimVerdict(_Message):
    """The task's success predicate on the simulator's state, and how the episode ran there.

    ``failure`` is "" on success, else ``not_achieved``; the runner refines it with
    the operator's report (:func:`judge_outcome`). The bridge adds the real-time
    factor and per-topic counts since the reset.
    """

    seed: int
    success: bool
    failure: str
    notes: str
    instruction: str
    scene: Mapping[str, JsonValue]
    real_time_factor: float = 0.0  # simulated / real time since the reset
    published: Mapping[str, int] = field(default_factory=dict)  # messages per topic since the reset
    rejected_commands: int = 0  # commands the simulator refused since it started


@dataclass(frozen=True)
class TeleopStart(_Message):
    """The teleoperator's answer to ``~/start``: when its script runs and its part of the metadata.

    ``extra`` is the operator's part of ``extra_json`` (:meth:`SimEpisode.operator_extra`),
    its ``sim.operator`` the operator's name.
    """

    seed: int
    origin_ns: int  # session clock at the script's first command
    end_ns: int  # session clock at its end (cut short to fit the episode length limit)
    extra: Mapping[str, JsonValue]

    @property
    def operator(self) -> str:
        """The operator's name (``extra["sim"]["operator"]``)."""
        sim = self.extra.get("sim")
        name = sim.get("operator") if isinstance(sim, Mapping) else None
        if not isinstance(name, str):
            raise SimError(f"TeleopStart message: field 'extra' has no sim.operator: {dict(self.extra)}")
        return name


@dataclass(frozen=True)
class TeleopStatus(_Message):
    """What the teleoperator is doing, for which scene (``scene_ns``: the scene's ``origin_ns``).

    ``injected`` and ``unreachable`` are the plan's scripted failure and inverse
    kinematics failure ("" if none), ``truncated`` that the script was cut at the
    episode length limit: what the runner needs to say why an episode failed.
    """

    state: str = "waiting"  # one of TELEOP_STATES
    seed: int | None = None
    scene_ns: int | None = None
    origin_ns: int = 0
    end_ns: int = 0
    injected: str = ""
    unreachable: str = ""
    truncated: bool = False
    error: str = ""

    def about(self, scene_ns: int, *states: str) -> bool:
        """Whether this status is about scene ``scene_ns`` and in one of ``states``."""
        return self.scene_ns == scene_ns and self.state in states

    def _check(self) -> None:
        if self.state not in TELEOP_STATES:
            raise SimError(
                f"TeleopStatus message: field 'state' must be one of {', '.join(TELEOP_STATES)}, "
                f"got {self.state!r}"
            )
