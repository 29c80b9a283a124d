"""Errors of the robot profile and session config formats. All derive from :class:`TgError`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tg_base import TgError

__all__ = [
    "BagError",
    "BagReadError",
    "ConfigError",
    "FieldError",
    "MessageDefinitionError",
    "NodeExitedError",
    "RecorderError",
    "RecorderServiceError",
    "RecorderStateError",
    "SessionError",
    "TopicError",
    "UnknownProfileError",
]


class ConfigError(TgError):
    """A profile or session file cannot be read or is invalid.

    The message names the file and, for each problem, the field path within it,
    one problem per line: ``launch/x.yaml: cameras.head.width: ...``.
    """


class UnknownProfileError(ConfigError):
    """No robot profile of that name is shipped or on ``TG_PROFILE_PATH``."""

    def __init__(self, name: str, known: Sequence[str], where: str = "") -> None:
        self.name = name
        self.known = tuple(known)
        listed = ", ".join(self.known) if self.known else "(none)"
        prefix = f"{where}: " if where else ""
        super().__init__(
            f"{prefix}unknown robot profile {name!r}; known profiles: {listed} "
            "(shipped in collectors/profiles/ or found on TG_PROFILE_PATH)"
        )


class FieldError(TgError):
    """A stream's field expression does not fit its message type, or a message does not fit the stream.

    The message names where (bag and topic, or topic), the field expression and
    what was expected: ``kuavo.bag: /sensors_data_raw (kuavo_msgs/msg/sensorsData):
    field joint_data.joint_qq: kuavo_msgs/msg/jointData has no field 'joint_qq'; it has joint_q, ...``.
    """


class BagError(TgError):
    """A bag cannot be turned into episodes. The message starts with the bag's path."""


class BagReadError(BagError):
    """The bag cannot be read: not a bag, truncated, not indexed, or damaged."""


class TopicError(BagError):
    """A topic the profile requires is missing from the bag, or carries another message type."""


class MessageDefinitionError(BagError):
    """A message type has no definition, neither in the bag nor in the profile's ``msg_definitions``."""


class RecorderError(TgError):
    """The live recorder cannot do what it was asked."""


class RecorderStateError(RecorderError):
    """A request that does not fit the recorder's state: start while recording, stop while idle."""


class RecorderServiceError(RecorderError):
    """A recorder service did not answer in time or refused; the message names the service."""

    def __init__(self, service: str, message: str) -> None:
        self.service = service
        super().__init__(f"{service}: {message}")


class SessionError(TgError):
    """A recording session could not go on: a node is missing, refused a request or did not answer."""


class NodeExitedError(SessionError):
    """A node of the session exited; the message names it, its exit code and its log file."""

    def __init__(self, node: str, code: int, log_path: Path, tail: str = "") -> None:
        self.node, self.code, self.log_path = node, code, log_path
        how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
        last = f"; its last lines:\n{tail}" if tail else ""
        super().__init__(f"node {node!r} {how}; its log: {log_path}{last}")
