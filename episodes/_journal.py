"""Small in-place changes to a finished episode, made crash-safe by a redo journal.

Annotations are a few kilobytes; copying a multi-gigabyte episode to add them
costs more than reading it. Instead HDF5 edits the file through an in-memory
overlay (:class:`_Overlay`, a file object for h5py's ``fileobj`` driver) that
keeps every byte HDF5 writes. The changed byte ranges then go to a journal
beside the episode (``.<name>.journal``, written, fsynced and renamed into place
in one step), and only then onto the episode, which is fsynced before the
journal is removed. Raw data is never among the changed bytes (HDF5 appends new
objects at the end of the file and rewrites only its own metadata), and:

* killed before the journal is in place: the episode is as before;
* killed after: the journal holds the whole change, and readers
  (:func:`open_overlaid`) see the episode through it until ``tg recover`` or the
  next update replays it (:func:`replay_journal`; replaying twice is harmless).

Layout of a journal (all integers little-endian): ``TG-JOURNAL-1\\n``, the
episode's final size (u64), the number of ranges (u64), per range its offset
(u64), length (u64) and bytes, then the SHA-256 of everything before it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py

from episodes._errors import CorruptEpisodeError, EpisodeBusyError, NotAnEpisodeError
from episodes._layout import fsync_path
from episodes._storage import remove_quietly, require_space, write_error

__all__ = [
    "has_pending_update",
    "journal_path",
    "journaled_update",
    "lock_updates",
    "open_for_update",
    "open_overlaid",
    "pending_journal",
    "replay_journal",
    "uncommitted_journal",
]

_MAGIC = b"TG-JOURNAL-1\n"
_PAGE = 4096
_HEADER = struct.Struct("<QQ")
_RANGE = struct.Struct("<QQ")
_DIGEST = 32


def journal_path(path: Path) -> Path:
    """Where an interrupted in-place update of ``path`` leaves its journal."""
    return path.with_name(f".{path.name}.journal")


def has_pending_update(path: str | os.PathLike[str]) -> bool:
    """Whether an in-place update of the episode ``path`` was interrupted after its journal was
    committed (``tg recover`` finishes it). A journal never committed (``.<name>.journal.tmp``)
    is no pending update: the episode was not touched; ``tg recover`` removes it.
    """
    return journal_path(Path(path)).exists()


def uncommitted_journal(path: str | os.PathLike[str]) -> Path:
    """Where an update writes its journal before committing it (left by one that failed or was killed)."""
    journal = journal_path(Path(path))
    return journal.with_name(journal.name + ".tmp")


class _Overlay(io.RawIOBase):
    """A file object over ``base`` whose writes stay in memory, in pages, until :meth:`changes`."""

    def __init__(self, base: Any, size: int) -> None:
        super().__init__()
        self._base = base
        self._size = size
        self._pos = 0
        self._pages: dict[int, bytearray] = {}

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        origin = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = origin + offset
        return self._pos

    def tell(self) -> int:
        return self._pos

    def truncate(self, size: int | None = None) -> int:
        self._size = self._pos if size is None else size
        for page in [p for p in self._pages if p * _PAGE >= self._size]:
            del self._pages[page]
        return self._size

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        n = max(min(len(view), self._size - self._pos), 0)
        done = 0
        while done < n:
            pos = self._pos + done
            page, skip = divmod(pos, _PAGE)
            take = min(_PAGE - skip, n - done)
            stored = self._pages.get(page)
            if stored is not None:
                view[done : done + take] = stored[skip : skip + take]
            else:
                # Untouched pages are read from the episode in one call, up to the next changed one.
                while take < n - done and (pos + take) // _PAGE not in self._pages:
                    take = min(take + _PAGE, n - done)
                view[done : done + take] = self._base_bytes(pos, take)
            done += take
        self._pos += n
        return n

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        done = 0
        while done < len(view):
            page, skip = divmod(self._pos + done, _PAGE)
            take = min(_PAGE - skip, len(view) - done)
            stored = self._pages.get(page)
            if stored is None:
                stored = self._pages[page] = bytearray(self._base_bytes(page * _PAGE, _PAGE))
            stored[skip : skip + take] = view[done : done + take]
            done += take
        self._pos += done
        self._size = max(self._size, self._pos)
        return done

    def flush(self) -> None:
        pass

    def _base_bytes(self, offset: int, length: int) -> bytes:
        # Past the episode's end (a journal that grows the file, replayed only in part): zeros.
        return os.pread(self._base.fileno(), length, offset).ljust(length, b"\0")

    def changes(self) -> tuple[int, list[tuple[int, bytes]]]:
        """The final size and the changed byte ranges (adjacent pages joined), within that size."""
        ranges: list[tuple[int, bytearray]] = []
        for page in sorted(self._pages):
            start = page * _PAGE
            if start >= self._size:
                break
            data = self._pages[page][: self._size - start]
            if ranges and ranges[-1][0] + len(ranges[-1][1]) == start:
                ranges[-1][1].extend(data)
            else:
                ranges.append((start, bytearray(data)))
        return self._size, [(offset, bytes(data)) for offset, data in ranges]


@contextlib.contextmanager
def journaled_update(path: Path) -> Iterator[Any]:
    """A writable ``h5py.File`` of the finished episode ``path``, changed in place when the block ends.

    If the block raises, nothing is written. Another update of the same file at
    the same time is refused (``EpisodeBusyError``).
    """
    with open_for_update(path) as base:
        _replay(base, path)  # an earlier update was interrupted: finish it first
        overlay = _Overlay(base, os.fstat(base.fileno()).st_size)
        try:
            f = h5py.File(overlay, "r+", libver="latest")
        except OSError as exc:
            raise NotAnEpisodeError(f"{path}: not a readable HDF5 file, so not an episode ({exc})") from None
        with f:
            yield f
        size, ranges = overlay.changes()
        if not ranges and size == os.fstat(base.fileno()).st_size:
            return
        growth = max(size - os.fstat(base.fileno()).st_size, 0)
        # The journal, then the episode's growth: both must fit, or the update is refused untouched.
        require_space(path, sum(len(data) for _, data in ranges) + growth, f"updating {path.name} in place")
        journal = _write_journal(path, size, ranges)
        try:
            _apply(base, size, ranges)
        except OSError as exc:
            raise write_error(
                exc,
                path,
                "updating it in place",
                left=f"the update is kept in {journal.name}, and `tg recover {path}` finishes it",
            ) from None
        # Not fsynced: should the removal be lost, the journal is replayed once more, harmlessly.
        journal.unlink(missing_ok=True)


@contextlib.contextmanager
def open_for_update(path: Path) -> Iterator[Any]:
    """``path`` opened for writing, other updates held off (:func:`lock_updates`) until the block ends.

    A file that cannot be opened for writing (read-only mount, immutable) is an
    ``EpisodeWriteError`` naming it; one another process updates, ``EpisodeBusyError``.
    """
    try:
        base = open(path, "r+b")  # noqa: SIM115 - closed by the with below
    except FileNotFoundError:
        raise NotAnEpisodeError(f"{path}: no such file") from None
    except OSError as exc:
        raise write_error(exc, path, "opening it for an update", left="the episode is unchanged") from None
    with base:
        lock_updates(base, path)
        _same_file(base, path)
        yield base


def _same_file(base: Any, path: Path) -> None:
    """Refuse (``EpisodeBusyError``) when ``path`` was replaced between opening and locking it.

    A realign renames its rewritten copy over the episode and only then lets go of the
    lock: an update that opened the old file just before would change a file no longer
    there, and its change would be lost.
    """
    try:
        now = os.stat(path)
    except FileNotFoundError:
        now = None
    held = os.fstat(base.fileno())
    if now is None or (now.st_dev, now.st_ino) != (held.st_dev, held.st_ino):
        raise EpisodeBusyError(f"{path}: replaced by another update while this one started; try again")


def lock_updates(base: Any, path: Path) -> None:
    """Hold off other updates of ``path`` while ``base`` (opened for writing) stays open.

    An open-file-description lock: HDF5 itself uses flock() on the file (a shared one
    for every reader), which this does not touch, so readers are never blocked.
    """
    try:
        if hasattr(fcntl, "F_OFD_SETLK"):
            fcntl.fcntl(base.fileno(), fcntl.F_OFD_SETLK, struct.pack("hhqqi", fcntl.F_WRLCK, 0, 0, 0, 0))
        else:  # not Linux: a per-process record lock
            fcntl.lockf(base.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        raise EpisodeBusyError(f"{path}: another update of this episode is in progress; try again") from None


def replay_journal(path: Path) -> bool:
    """Finish an interrupted in-place update of ``path`` from its journal; True if there was one.

    A journal that never reached its final name (killed while it was written)
    is discarded: the episode was not touched yet. Refused (``EpisodeBusyError``)
    while another process updates the episode.
    """
    path = Path(path)
    if not has_pending_update(path):
        return False
    with open_for_update(path) as base:
        return _replay(base, path)


def _replay(base: Any, path: Path) -> bool:
    journal = journal_path(path)
    uncommitted_journal(path).unlink(missing_ok=True)
    found = pending_journal(path)
    if found is None:
        if journal.exists():
            raise CorruptEpisodeError(
                f"{journal}: damaged update journal of {path.name} (checksum mismatch); the episode may be "
                "half-updated: restore it from a copy, or delete the journal to keep it as it is"
            )
        return False
    size, ranges = found
    _apply(base, size, ranges)
    journal.unlink(missing_ok=True)
    fsync_path(path.parent)
    return True


def pending_journal(path: Path) -> tuple[int, list[tuple[int, bytes]]] | None:
    """The final size and byte ranges of the complete journal beside ``path``, or None."""
    try:
        blob = journal_path(Path(path)).read_bytes()
    except FileNotFoundError:
        return None
    body, digest = blob[:-_DIGEST], blob[-_DIGEST:]
    if not blob.startswith(_MAGIC) or hashlib.sha256(body).digest() != digest:
        return None
    at = len(_MAGIC)
    size, count = _HEADER.unpack_from(body, at)
    at += _HEADER.size
    ranges = []
    for _ in range(count):
        offset, length = _RANGE.unpack_from(body, at)
        at += _RANGE.size
        ranges.append((offset, body[at : at + length]))
        at += length
    return size, ranges


def open_overlaid(path: Path) -> h5py.File | None:
    """``path`` opened read-only as its pending journal leaves it, or None when nothing is pending."""
    found = pending_journal(path)
    if found is None:
        return None
    size, ranges = found
    base = open(path, "rb")  # noqa: SIM115 - lives as long as the h5py file that reads through it
    overlay = _Overlay(base, max(size, os.fstat(base.fileno()).st_size))
    for offset, data in ranges:
        overlay.seek(offset)
        overlay.write(data)
    overlay.truncate(size)
    return h5py.File(overlay, "r")


def _write_journal(path: Path, size: int, ranges: list[tuple[int, bytes]]) -> Path:
    parts = [_MAGIC, _HEADER.pack(size, len(ranges))]
    for offset, data in ranges:
        parts += [_RANGE.pack(offset, len(data)), data]
    body = b"".join(parts)
    journal = journal_path(path)
    work = uncommitted_journal(path)
    try:
        with open(work, "wb") as out:
            out.write(body + hashlib.sha256(body).digest())
            out.flush()
            os.fsync(out.fileno())
        os.replace(work, journal)
    except OSError as exc:
        remove_quietly(work)
        doing = f"writing the update journal of {path.name}"
        raise write_error(exc, work, doing, left="the episode is unchanged") from None
    # The journal's name is the commit: it must be durable before the episode changes.
    fsync_path(path.parent)
    return journal


def _apply(base: Any, size: int, ranges: list[tuple[int, bytes]]) -> None:
    fd = base.fileno()
    for offset, data in ranges:
        os.pwrite(fd, data, offset)
    os.ftruncate(fd, size)
    os.fsync(fd)
