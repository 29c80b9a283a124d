"""Disk faults as clean errors: free space checked before large writes, and the OS errors of a
write (full, read-only, protected) turned into one message naming the path and what to do.

HDF5 can crash the process when a write fails half-way (a segfault while closing a file it
could not extend), so writers of large HDF5 files check :func:`require_space` first; the
others convert what the OS said with :func:`write_error` or :func:`writing`.

>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> require_space(folder / "x.h5", 1000, "writing x")  # a few bytes: there is room
>>> try:
...     require_space(folder / "x.h5", 10**18, "writing x")
... except StorageFullError as exc:
...     print(str(exc).split(":")[0] == str(folder / "x.h5"), "needs about" in str(exc))
True True
"""

from __future__ import annotations

import contextlib
import errno as errnos
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

from episodes._errors import EpisodeError, EpisodeWriteError, StorageFullError

__all__ = [
    "FULL_ERRNOS",
    "error_number",
    "free_bytes",
    "megabytes",
    "remove_quietly",
    "require_space",
    "write_error",
    "writing",
]

FULL_ERRNOS = frozenset({errnos.ENOSPC, errnos.EFBIG, errnos.EDQUOT})
"""Out of space: the disk, the file-size limit (RLIMIT_FSIZE) or the user's quota."""
_UNWRITABLE_ERRNOS = frozenset({errnos.EROFS, errnos.EACCES, errnos.EPERM})
_ERRNO_RE = re.compile(r"errno = (\d+)|\[Errno (\d+)\]")
# What a write needs beyond its own bytes (HDF5 metadata, file-system blocks).
_SLACK_BYTES = 256 * 1024


def error_number(exc: BaseException) -> int | None:
    """The errno of ``exc``: its attribute, else the one HDF5 or FFmpeg wrote into the message."""
    number = getattr(exc, "errno", None)
    if isinstance(number, int):
        return number
    match = _ERRNO_RE.search(str(exc))
    return int(match.group(1) or match.group(2)) if match else None


def free_bytes(path: Path) -> int:
    """Free bytes (for this user) on the disk that holds ``path`` or its nearest existing parent."""
    where = Path(path)
    while not where.exists() and where != where.parent:
        where = where.parent
    try:
        return shutil.disk_usage(where).free
    except OSError:
        return 0


def megabytes(size: int) -> str:
    """``size`` bytes for a message: ``'12.3 MB'``.

    >>> megabytes(12_345_678)
    '12.3 MB'
    """
    return f"{size / 1e6:.1f} MB"


def remove_quietly(path: Path) -> None:
    """Remove the file ``path`` if it is there and can be: a cleanup must not hide the error it cleans up
    after (on a read-only mount even removing a missing file fails)."""
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def require_space(path: Path, needed: int, doing: str) -> None:
    """Refuse (``StorageFullError``) to start ``doing`` when ``path``'s disk lacks ``needed`` bytes."""
    free = free_bytes(path)
    if free < needed + _SLACK_BYTES:
        raise StorageFullError(
            f"{path}: not enough free space for {doing}: needs about {megabytes(needed + _SLACK_BYTES)}, "
            f"{megabytes(free)} free on its disk; free some space and run it again"
        )


def write_error(exc: BaseException, path: Path, doing: str, *, left: str = "") -> EpisodeWriteError:
    """What the OS said when writing ``path`` failed, as one message; ``left`` says what stays as it was.

    >>> str(write_error(OSError(30, "Read-only file system"), Path("/ro/x.h5"), "storing annotations"))[:68]
    '/ro/x.h5: not writable (Read-only file system) while storing annotat'
    """
    if isinstance(exc, EpisodeWriteError):
        return exc
    number = error_number(exc)
    tail = f"; {left}" if left else ""
    if number in FULL_ERRNOS:
        return StorageFullError(
            f"{path}: disk full while {doing} ({os.strerror(number)}, {megabytes(free_bytes(path))} free on "
            f"its disk){tail}; free some space and run it again"
        )
    if number in _UNWRITABLE_ERRNOS:
        return EpisodeWriteError(
            f"{path}: not writable ({os.strerror(number)}) while {doing}{tail}; make it writable "
            "(a read-only mount, an immutable file or missing permission) or choose another place"
        )
    why = os.strerror(number) if number is not None else f"{type(exc).__name__}: {exc}"
    return EpisodeWriteError(f"{path}: writing failed while {doing} ({why}){tail}")


@contextlib.contextmanager
def writing(path: Path, doing: str, *, left: str = "") -> Iterator[None]:
    """Turn an ``OSError`` raised in the block into :func:`write_error`'s message.

    Errors of ours (an :class:`EpisodeError`) pass through as they are.
    """
    try:
        yield
    except EpisodeError:
        raise
    except OSError as exc:
        raise write_error(exc, path, doing, left=left) from None
