"""What one process keeps for a training dataset: open files, cached episodes, episodes known bad.

A process pool pickles the task's function with every chunk of work it sends
(``Pool.imap(functools.partial(f, dataset), ...)``), so a worker unpickles the
same dataset again and again. Were each copy to start empty, the worker would
reopen the episode file and reload its state/action arrays every few samples:
measured, that was most of the CPU a 2-worker pool spent. Copies of one dataset
(the same ``token``) that arrive in a process therefore share one
:class:`ProcessState`, held in a small per-process registry; the registry keeps
the :data:`KEEP` most recently attached tokens and closes the files of older ones.

A forked child starts with an empty registry (handles never cross a fork) but
keeps the episodes its parent had cached (copy-on-write memory: the parent loaded
them for the normalisation statistics). A process other than the one that built
the dataset pins OpenCV to one thread: N worker processes each running OpenCV's
own thread pool would oversubscribe the cores (PyTorch's ``DataLoader`` sets one
torch thread per worker for the same reason). Every process that reads samples
has glibc keep freed buffers (:func:`keep_freed_memory`): that alone made a
640x480 sample from the prepared cache 8 times cheaper.

>>> state = attach("doc-token", home_pid=os.getpid())
>>> attach("doc-token", home_pid=os.getpid()) is state
True
>>> forget("doc-token")
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Protocol

import cv2

__all__ = ["KEEP", "ProcessState", "attach", "forget", "keep_freed_memory", "owner", "pin_threads"]

KEEP = 4
"""Datasets (tokens) whose state a process keeps after the last copy using it is gone."""


class _Closable(Protocol):
    def close(self) -> None: ...


@dataclass
class ProcessState:
    """One process's open files (episode -> handle), episode cache, bad and warned episodes, cache maps."""

    pid: int = field(default_factory=os.getpid)
    open: OrderedDict[int, Any] = field(default_factory=OrderedDict)
    cache: OrderedDict[int, Any] = field(default_factory=OrderedDict)
    bad: set[int] = field(default_factory=set)
    warned: set[int] = field(default_factory=set)
    frames: dict[str, Any] = field(default_factory=dict)
    owner: Any = None
    """The dataset object revived in this process for the token (a pool's copies all resolve to it)."""
    """``"<episode>/<camera>"`` -> the prepared cache's memory map (None: decode from the file)."""

    def close(self) -> None:
        """Close the open files (they reopen on demand); the caches stay."""
        handles: list[_Closable] = list(self.open.values())
        self.open.clear()
        self.frames.clear()
        for handle in handles:
            handle.close()


_LIVE: OrderedDict[str, ProcessState] = OrderedDict()
# Each dataset's state in the process that built it, for a forked child to take its cached episodes.
_HOME: weakref.WeakValueDictionary[str, ProcessState] = weakref.WeakValueDictionary()
_IMPORTED_IN = os.getpid()  # pin_threads leaves forked children alone
_PINNED: list[int] = []  # the pid whose threads were pinned (a fork child inherits the setting)
_TUNED: list[int] = []  # the pid whose allocator keep_freed_memory set


def attach(token: str, *, home_pid: int, shared: bool = True) -> ProcessState:
    """The state of dataset ``token`` in this process: the registered one, or a new one.

    ``shared=False`` gives the dataset's own state in the process that built it: not in
    the registry, so that its files close with it, only weakly referenced for a fork.
    """
    if os.getpid() != home_pid:
        pin_threads()
    if [os.getpid()] != _TUNED:
        keep_freed_memory()
        _TUNED[:] = [os.getpid()]
    if not shared:
        home = _HOME[token] = ProcessState()
        return home
    found = _LIVE.get(token)
    if found is None or found.pid != os.getpid():
        found = _LIVE[token] = ProcessState(cache=_inherited_cache(token))
    _LIVE.move_to_end(token)
    while len(_LIVE) > KEEP:
        _LIVE.popitem(last=False)[1].close()
    return found


def _inherited_cache(token: str) -> OrderedDict[int, Any]:
    """The cached episodes of ``token``'s home state when this process forked from its home."""
    home = _HOME.get(token)
    if home is None or home.pid == os.getpid():
        return OrderedDict()
    return OrderedDict(home.cache)


def owner(token: str) -> Any:
    """The dataset object registered for ``token`` in this process, or None."""
    state = _LIVE.get(token)
    return state.owner if state is not None and state.pid == os.getpid() else None


def forget(token: str) -> None:
    """Drop dataset ``token``'s registered state in this process, closing its files."""
    state = _LIVE.pop(token, None)
    if state is not None:
        state.close()


def pin_threads() -> None:
    """One OpenCV thread in this process (once per process): what a loader worker wants.

    Not in a process forked from the one that imported this module: there OpenCV's
    pthreads pool still believes in the parent's threads, and ``cv2.setNumThreads``
    waits for them forever (seen as a hung pool in the test suite). Spawned workers,
    and forked ones whose parent never started that pool, are where this matters.

    >>> pin_threads()
    """
    if os.getpid() != _IMPORTED_IN:
        return
    if [os.getpid()] != _PINNED:
        cv2.setNumThreads(1)
        _PINNED[:] = [os.getpid()]


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)


def keep_freed_memory() -> bool:
    """Have glibc keep freed sample buffers for reuse rather than hand them back to the kernel.

    A sample's float images are megabytes; by default glibc maps each such buffer
    afresh and unmaps it when freed, so the kernel zeroes every page again for the
    next sample: measured at 640x480 from the prepared cache, 7.5 of 8.7 ms of CPU
    per sample. Raising the mmap threshold to its maximum (32 MiB) and the trim
    threshold to 256 MiB keeps them in the heap. False where the C library is not glibc.

    >>> keep_freed_memory() in (True, False)
    True
    """
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, 32 << 20)) and bool(mallopt(_M_TRIM_THRESHOLD, 256 << 20))


def _after_fork() -> None:
    # The parent's handles belong to the parent: HDF5 handles must not cross a fork, so the
    # child forgets them and opens its own.
    _LIVE.clear()


os.register_at_fork(after_in_child=_after_fork)
