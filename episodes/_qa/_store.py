"""Reading annotation groups' values (written by episodes._writer_annotations; layout in episodes/QA.md)."""

from __future__ import annotations

from typing import Any

__all__ = ["strings", "text"]


def strings(group: Any, name: str) -> tuple[str, ...]:
    return tuple(text(v) for v in group[name][()])


def text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)
