"""Whole-array reads of an episode's raw datasets, for the checks (the reader's own API is per frame)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from h5py import h5d

from episodes import _layout as fmt
from episodes._reader import EpisodeReader, StreamInfo

__all__ = ["EpisodeData", "FrameStore", "chunk_offsets"]

Int64Array = npt.NDArray[np.int64]
_WINDOW_BYTES = 32 << 20


class EpisodeData:
    """An open episode's streams as numpy arrays, each read in one contiguous slice."""

    def __init__(self, reader: EpisodeReader) -> None:
        self.reader = reader
        self.infos: dict[str, StreamInfo] = reader.streams
        self._groups = reader._file[fmt.STREAMS]
        self._prefetched = False

    def _group(self, name: str) -> Any:
        return self._groups[name]

    def count(self, name: str) -> int:
        return self.infos[name].count

    def stamps(self, name: str) -> Int64Array:
        return np.asarray(self._group(name)["stamp_ns"][: self.count(name)], dtype=np.int64)

    def arrivals(self, name: str) -> Int64Array:
        return np.asarray(self._group(name)["arrival_ns"][: self.count(name)], dtype=np.int64)

    def values(self, name: str) -> npt.NDArray[np.float64]:
        """An array stream's samples as float64 (booleans and integers converted)."""
        return np.asarray(self._group(name)["data"][: self.count(name)], dtype=np.float64)

    def frame_index(self, name: str) -> tuple[Int64Array, Int64Array]:
        """A camera stream's frame offsets and sizes in its ``frames`` dataset."""
        g = self._group(name)
        n = self.count(name)
        return (
            np.asarray(g["frame_offset"][:n], dtype=np.int64),
            np.asarray(g["frame_size"][:n], dtype=np.int64),
        )

    def frame_store(self, name: str) -> FrameStore:
        """The bytes of a camera stream's ``frames``, read without HDF5 where the layout allows."""
        if not self._prefetched:
            self._prefetched = True
            _prefetch(self.reader.path)
        return FrameStore(self.reader.path, self._group(name)["frames"])


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


def chunk_offsets(dataset: Any) -> tuple[int, Int64Array] | None:
    """Where a 1-D byte dataset's chunks lie in its file: (chunk length, file offset of each chunk).

    None unless every chunk is stored as plain bytes (chunked, no filter, all allocated):
    only then can its bytes be read without HDF5.
    """
    size = int(dataset.shape[0])
    plist = dataset.id.get_create_plist()
    if not size or plist.get_nfilters() != 0 or plist.get_layout() != h5d.CHUNKED:
        return None
    chunk = int(dataset.chunks[0])
    bases = [dataset.id.get_chunk_info_by_coord((k * chunk,)).byte_offset for k in range(-(-size // chunk))]
    if any(b is None for b in bases):
        return None
    return chunk, np.array(bases, dtype=np.int64)


class FrameStore:
    """Byte access to a ``frames`` dataset: memory-mapped when its chunks are plain bytes in the file.

    The writer stores frames in unfiltered chunks, so a frame's bytes are at a
    known place in the file; reading a few hundred bytes of each of thousands
    of frames (headers, end markers) then costs what those bytes cost, not an
    HDF5 call each. Other layouts (filters, compact) are read through h5py.
    """

    def __init__(self, path: Path, dataset: Any) -> None:
        self.size = int(dataset.shape[0])
        self._dataset = dataset
        self._map: npt.NDArray[np.uint8] | None = None
        self._chunk = 0
        self._base = np.empty(0, dtype=np.int64)
        located = chunk_offsets(dataset)
        if located is not None:
            self._chunk, self._base = located
            self._map = np.memmap(path, dtype=np.uint8, mode="r")

    def rows(self, starts: Int64Array, length: int) -> npt.NDArray[np.uint8]:
        """``out[i] = bytes[starts[i] : starts[i] + length]``; bytes outside the dataset read as 0."""
        if starts.size == 0 or length <= 0:
            return np.zeros((starts.size, max(length, 0)), dtype=np.uint8)
        positions = starts[:, None] + np.arange(length)
        inside = (positions >= 0) & (positions < self.size)
        clipped = np.clip(positions, 0, self.size - 1)
        if self._map is not None:
            out = self._map[self._base[clipped // self._chunk] + clipped % self._chunk]
        else:
            out = self._gather_read(clipped)
        out[~inside] = 0
        return np.asarray(out, dtype=np.uint8)

    def span(self, start: int, stop: int) -> npt.NDArray[np.uint8]:
        """Bytes ``[start, stop)``: a view into the file within one chunk, else the chunks' slices joined."""
        start, stop = max(0, start), min(self.size, stop)
        if stop <= start:
            return np.zeros(0, dtype=np.uint8)
        if self._map is not None:
            pieces = []
            for chunk in range(start // self._chunk, (stop - 1) // self._chunk + 1):
                lo = max(start, chunk * self._chunk)
                hi = min(stop, (chunk + 1) * self._chunk)
                at = int(self._base[chunk]) + lo - chunk * self._chunk
                pieces.append(self._map[at : at + hi - lo])
            return pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
        return np.asarray(self._dataset[start:stop], dtype=np.uint8)

    def _gather_read(self, positions: Int64Array) -> npt.NDArray[np.uint8]:
        """Without a map: read windows of the dataset that hold the positions, one call each."""
        flat = positions.ravel()
        out = np.empty(flat.shape, dtype=np.uint8)
        order = np.argsort(flat, kind="stable")
        ordered = flat[order]
        window = _WINDOW_BYTES
        first = 0
        while first < ordered.size:  # one HDF5 read per window of at most _WINDOW_BYTES
            lo = int(ordered[first])
            stop = int(np.searchsorted(ordered, lo + window, side="left"))
            block = np.asarray(self._dataset[lo : int(ordered[stop - 1]) + 1], dtype=np.uint8)
            out[order[first:stop]] = block[ordered[first:stop] - lo]
            first = stop
        return out.reshape(positions.shape)
