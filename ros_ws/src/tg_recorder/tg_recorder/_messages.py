"""rclpy message classes and their schemas, by type name (``sensor_msgs/msg/Image``)."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Any

from collectors import FieldType, ros2_field_type
from tg_config import ConfigError

__all__ = ["message_class", "schemas_for"]


def message_class(msg_type: str) -> Any:
    """The rclpy class of ``pkg/msg/Type``; :class:`ConfigError` if its package is not installed."""
    pkg, _, name = msg_type.split("/")
    try:
        return getattr(importlib.import_module(f"{pkg}.msg"), name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(
            f"message type {msg_type}: cannot import {pkg}.msg.{name} ({exc}); "
            "install or source the package that defines it"
        ) from None


def schemas_for(msg_types: Iterable[str]) -> dict[str, list[tuple[str, FieldType]]]:
    """Every field of ``msg_types`` and of the message types they contain, as compile_fields wants."""
    schemas: dict[str, list[tuple[str, FieldType]]] = {}
    pending = list(msg_types)
    while pending:
        name = pending.pop()
        if name in schemas:
            continue
        fields = message_class(name).get_fields_and_field_types().items()
        schemas[name] = [(f, ros2_field_type(t)) for f, t in fields]
        pending += [t.name for _, t in schemas[name] if t.is_message]
    return schemas
