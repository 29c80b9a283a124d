"""PyBullet, imported without its banner, and the choice of renderer.

PyBullet writes ``pybullet build time: ...`` from C when it is imported, and
its URDF loader prints warnings; neither belongs in the output of ``tg``. They
run with file descriptors 1 and 2 pointed at /dev/null (C buffers flushed
before they are restored).
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

__all__ = ["connect", "egl_available", "pb", "quiet"]


def _flush_c() -> None:
    try:
        ctypes.CDLL(None).fflush(None)
    except (OSError, TypeError, AttributeError):
        return


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence what C code writes to standard output and standard error inside the block."""
    for stream in (sys.__stdout__, sys.__stderr__):
        if stream is not None:
            stream.flush()
    saved: list[tuple[int, int]] = []
    try:
        with open(os.devnull, "wb") as devnull:
            for fd in (1, 2):
                try:
                    saved.append((fd, os.dup(fd)))
                    os.dup2(devnull.fileno(), fd)
                except OSError:
                    continue
            yield
    finally:
        _flush_c()
        for fd, copy in saved:
            os.dup2(copy, fd)
            os.close(copy)


def _import() -> ModuleType:
    with quiet():
        import pybullet

    module: ModuleType = pybullet
    return module


pb = _import()


def connect() -> int:
    """A new headless physics client (its own world, deterministic from a fresh start)."""
    client = int(pb.connect(pb.DIRECT))
    if client < 0:
        from sim_envs._errors import SimError

        raise SimError("PyBullet could not start a DIRECT physics client")
    return client


def _gpu_present() -> bool:
    dev = Path("/dev")
    return any(dev.glob("nvidia[0-9]*")) or any((dev / "dri").glob("renderD*"))


def egl_available(client: int) -> bool:
    """Load PyBullet's EGL renderer into ``client`` when a GPU is present; False otherwise.

    The plugin is only tried where a GPU device exists: on a machine without one,
    the CPU renderer (TinyRenderer) is used and nothing is required.
    """
    if not _gpu_present():
        return False
    try:
        found = importlib.util.find_spec("eglRenderer")
    except (ImportError, ValueError):
        return False
    filename = found.origin if found is not None else None
    if not filename:
        return False
    with quiet():
        plugin = int(pb.loadPlugin(filename, "_eglRendererPlugin", physicsClientId=client))
    return plugin >= 0
