"""Name -> class registries (robots, tasks, operators) whose errors list the known names."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Generic, TypeVar

from sim_envs._errors import UnknownNameError

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(Mapping[str, T], Generic[T]):
    """A read-mostly mapping of names to classes; :meth:`get_or_raise` names the known ones.

    >>> colours = Registry("colour", {"red": 1})
    >>> colours.register("blue", 2)
    >>> sorted(colours)
    ['blue', 'red']
    >>> colours.get_or_raise("green")
    Traceback (most recent call last):
    ...
    sim_envs._errors.UnknownNameError: unknown colour 'green'; known colours: blue, red
    """

    def __init__(self, what: str, entries: Mapping[str, T]) -> None:
        self._what = what
        self._entries = dict(entries)

    def __getitem__(self, name: str) -> T:
        return self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def register(self, name: str, value: T) -> None:
        """Add ``value`` under ``name`` (a plug-in's own robot, task or operator)."""
        if name in self._entries:
            raise ValueError(f"{self._what} {name!r} is already registered")
        self._entries[name] = value

    def get_or_raise(self, name: str, where: str = "") -> T:
        """The entry called ``name``; :class:`UnknownNameError` (listing the known ones) if none."""
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownNameError(self._what, name, sorted(self._entries), where) from None
