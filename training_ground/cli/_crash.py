"""Crash logs: the traceback of an unexpected exception goes to a file, not to the operator's screen."""

from __future__ import annotations

import datetime
import os
import tempfile
import traceback
from collections.abc import Sequence
from pathlib import Path

from tg_base import __version__

__all__ = ["CRASH_DIR_ENV", "crash_dir", "write_crash_log"]

CRASH_DIR_ENV = "TG_CRASH_DIR"


def crash_dir() -> Path:
    """``$TG_CRASH_DIR``, else ``$XDG_CACHE_HOME/tg/crash`` (``~/.cache/tg/crash``)."""
    if os.environ.get(CRASH_DIR_ENV):
        return Path(os.environ[CRASH_DIR_ENV])
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "tg" / "crash"


def write_crash_log(exc: BaseException, argv: Sequence[str]) -> Path:
    """Write the command line, the version and ``exc``'s traceback to a new file; return its path.

    Falls back to the system's temporary directory when the crash folder cannot
    be written (a full or read-only home must not hide the bug behind another).

    >>> import tempfile
    >>> os.environ[CRASH_DIR_ENV] = tempfile.mkdtemp()
    >>> try:
    ...     {}["frame_offset"]
    ... except KeyError as exc:
    ...     log = write_crash_log(exc, ["tg", "info", "x.h5"])
    >>> "KeyError: 'frame_offset'" in log.read_text()
    True
    >>> del os.environ[CRASH_DIR_ENV]
    """
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    text = f"tg {__version__}\ncommand: {' '.join(argv)}\n\n" + "".join(
        traceback.format_exception(type(exc), exc, exc.__traceback__)
    )
    for folder in (crash_dir(), Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=f"tg-crash-{stamp}-", suffix=".log", dir=folder)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            return Path(name)
        except OSError:
            continue
    raise exc
