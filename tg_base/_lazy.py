"""A package facade whose heavy names load at their first use (PEP 562)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

__all__ = ["lazy_names"]


def lazy_names(
    package: str, table: Mapping[str, tuple[str, ...]], namespace: MutableMapping[str, Any]
) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports each name of ``table`` (module -> names)
    at its first lookup and keeps it in ``namespace`` (the package's ``globals()``).

    >>> getattr_ = lazy_names("demo", {"json": ("dumps",)}, {})
    >>> getattr_("dumps")([1])
    '[1]'
    """
    module_of = {name: module for module, names in table.items() for name in names}

    def lookup(name: str) -> Any:
        module = module_of.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value  # the next lookup is a plain attribute
        return value

    return lookup
