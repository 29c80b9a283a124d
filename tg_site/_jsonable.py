"""JSON form of the flat frozen dataclasses that cross the HTTP boundary (queries, task specs).

Tuples travel as lists and come back as tuples; a field the class does not have
is refused by name, so a typo in a client's request is an error, not ignored.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import fields
from typing import Any

from tg_site._errors import SiteError

__all__ = ["fields_from_json", "fields_to_json"]


def fields_to_json(obj: Any) -> dict[str, Any]:
    """Every field of the dataclass ``obj``, tuples as lists."""
    return {f.name: _plain(getattr(obj, f.name)) for f in fields(obj)}


def fields_from_json(
    cls: Any, data: Mapping[str, Any], *, tuples: Collection[str], what: str, error: type[SiteError]
) -> dict[str, Any]:
    """Constructor arguments of ``cls`` from ``data``; ``error`` names unknown fields of ``what``."""
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise error(f"unknown {what} fields {unknown}; known: {', '.join(sorted(known))}")
    return {k: tuple(v) if k in tuples else v for k, v in data.items()}


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
