"""Whole-array reads of an episode's streams, for the checks (through the reader's public methods)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt

from episodes._errors import EpisodeError
from episodes._reader import EpisodeReader, FrameBytes, StreamInfo

__all__ = ["EpisodeData"]

Int64Array = npt.NDArray[np.int64]


class EpisodeData:
    """An open episode's streams as numpy arrays, each read in one contiguous slice."""

    def __init__(
        self, reader: EpisodeReader, on_error: Callable[[str, Exception], None] | None = None
    ) -> None:
        """``on_error(stream, exc)``: a stream that cannot be read is left out of :attr:`infos`
        (named in :attr:`unreadable`) instead of raising; without it, the error is raised."""
        self.reader = reader
        self.infos: dict[str, StreamInfo] = {}
        self.unreadable: set[str] = set()
        for name in reader.stream_names:
            try:
                self.infos[name] = reader.stream(name)
            except EpisodeError as exc:
                if on_error is None:
                    raise
                self.unreadable.add(name)
                on_error(name, exc)
        self._prefetched = False

    def count(self, name: str) -> int:
        return self.infos[name].count

    def stamps(self, name: str) -> Int64Array:
        return self.reader.times(name)

    def arrivals(self, name: str) -> Int64Array:
        return self.reader.times(name, "arrival")

    def values(self, name: str) -> npt.NDArray[np.float64]:
        """An array stream's samples as float64 (booleans and integers converted)."""
        return self.reader.values(name, dtype=np.float64)

    def frame_index(self, name: str) -> tuple[Int64Array, Int64Array]:
        """A camera stream's frame offsets and sizes in its ``frames`` dataset."""
        index = self.reader.frame_index(name)
        return index.offsets, index.sizes

    def frame_store(self, name: str) -> FrameBytes:
        """The bytes of a camera stream's ``frames``, read without HDF5 where the layout allows."""
        if not self._prefetched:
            self._prefetched = True
            _prefetch(self.reader.path)
        return self.reader.frame_bytes(name)


def _prefetch(path: Path) -> None:
    """Ask the kernel to read the file ahead, in large sequential reads.

    The frame checks touch a few hundred bytes of each frame; from a cold disk,
    page faults one frame after another would be many small random reads.
    Free when the file is already in the page cache.
    """
    if hasattr(os, "posix_fadvise"):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
        finally:
            os.close(fd)
