"""What makes two files one episode, and which files of a set repeat an earlier one.

A dataset holds each episode once: a second file with the same episode id, or with
the same raw-content digest (the same recording under another id), is a repeat of
the first by path. The loader and the exporters skip repeats; ``tg validate``
reports them. One rule, used by both.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Identity", "Repeat", "episode_identities", "find_repeats"]

Identity = tuple[str, str]
"""(what, value): ``("episode id", "01J...")`` or ``("content digest", "9f2c...")``."""


@dataclass(frozen=True)
class Repeat:
    """``path`` repeats ``original`` (an earlier file by path): the same ``what``, ``value``."""

    path: Path
    what: str
    value: str
    original: Path

    def message(self, action: str) -> str:
        """E.g. ``b.h5: skipped, same episode id (01J...) as a.h5``."""
        return f"{self.path}: {action}, same {self.what} ({self.value}) as {self.original}"


def episode_identities(episode_id: str, content_digest: str | None) -> tuple[Identity, ...]:
    """The identities of an episode: its id, and its content digest where the file has one.

    >>> episode_identities("01J", None)
    (('episode id', '01J'),)
    """
    keys = [("episode id", episode_id)] if episode_id else []
    if content_digest:
        keys.append(("content digest", content_digest))
    return tuple(keys)


def find_repeats(files: Iterable[tuple[Path, Sequence[Identity]]]) -> dict[Path, Repeat]:
    """The files that repeat an earlier one (by path), each with what it repeats.

    >>> found = find_repeats([(Path("b.h5"), [("episode id", "x")]), (Path("a.h5"), [("episode id", "x")])])
    >>> found[Path("b.h5")].message("skipped")
    'b.h5: skipped, same episode id (x) as a.h5'
    """
    first: dict[Identity, Path] = {}
    repeats: dict[Path, Repeat] = {}
    for path, identities in sorted(files, key=lambda item: item[0]):
        seen = next((key for key in identities if key in first), None)
        if seen is not None:
            repeats[path] = Repeat(path, seen[0], seen[1], first[seen])
            continue
        for key in identities:
            first[key] = path
    return repeats
