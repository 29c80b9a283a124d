"""Errors of recording: bags, field expressions and the live recorder. All derive from :class:`TgError`."""

from __future__ import annotations

from tg_base import TgError

__all__ = [
    "BagError",
    "BagReadError",
    "FieldError",
    "ImportFormatError",
    "MessageDefinitionError",
    "RecorderError",
    "RecorderServiceError",
    "RecorderStateError",
    "TopicError",
]


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


class ImportFormatError(TgError):
    """A dataset of another format (ALOHA/ACT) cannot be imported. The message starts with its path."""
