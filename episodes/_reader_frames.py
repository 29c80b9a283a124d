"""The one way frame bytes leave an episode file: :class:`FrameBytes`.

The writer stores a camera's encoded frames back to back in unfiltered chunks
of its ``frames`` dataset, so each frame's bytes lie at a known place in the
file. Reading them with ``pread`` (one call per chunk a frame spans) avoids
HDF5's per-call cost, which is larger than reading a frame; a gather over
thousands of frames (QA reads a few hundred bytes of each) goes through a
memory map instead. Other layouts (filters, unallocated chunks) are read through h5py.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from h5py import h5d

from episodes._errors import CorruptEpisodeError

__all__ = ["FrameBytes", "chunk_offsets"]

Int64Array = npt.NDArray[np.int64]
_WINDOW_BYTES = 32 << 20


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


class FrameBytes:
    """Byte access to one camera stream's ``frames`` (get it from ``EpisodeReader.frame_bytes``).

    :meth:`read` copies a range into private memory (``pread``: a map would count
    every frame a training run ever touched in its resident memory); :meth:`rows`
    and :meth:`span` gather from a memory map, made on first use.
    """

    def __init__(self, path: Path, dataset: Any, descriptor: Callable[[], int]) -> None:
        self.path = path
        self.size = int(dataset.shape[0])
        self._dataset = dataset
        self._descriptor = descriptor  # the reader's one plain descriptor of the file, opened on demand
        self._map: npt.NDArray[np.uint8] | None = None
        self._located = chunk_offsets(dataset)

    @property
    def is_plain(self) -> bool:
        """Whether the bytes are read without HDF5 (unfiltered, allocated chunks)."""
        return self._located is not None

    def read(self, start: int, length: int) -> npt.NDArray[np.uint8]:
        """Bytes ``[start, start + length)``; CorruptEpisodeError if they lie beyond what is stored."""
        if start < 0 or start + length > self.size:
            raise CorruptEpisodeError(
                f"{self.path}: frame bytes [{start}, {start + length}) lie beyond the end of "
                f"the stored frames ({self.size} bytes)"
            )
        if self._located is None:
            return np.asarray(self._dataset[start : start + length], dtype=np.uint8)
        chunk, bases = self._located
        fd = self._descriptor()
        stop = start + length
        pieces = []
        for k in range(start // chunk, (stop - 1) // chunk + 1):
            lo, hi = max(start, k * chunk), min(stop, (k + 1) * chunk)
            pieces.append(os.pread(fd, hi - lo, int(bases[k]) + lo - k * chunk))
        data = pieces[0] if len(pieces) == 1 else b"".join(pieces)
        if len(data) != length:
            raise CorruptEpisodeError(
                f"{self.path}: frame bytes [{start}, {stop}) lie beyond the end of the file"
            )
        return np.frombuffer(data, dtype=np.uint8)

    def __getitem__(self, span: slice) -> npt.NDArray[np.uint8]:
        """``frame_bytes[a:b]``, as a dataset slices: the same as :meth:`read`."""
        start = int(span.start or 0)
        return self.read(start, int(span.stop) - start)

    def rows(self, starts: Int64Array, length: int) -> npt.NDArray[np.uint8]:
        """``out[i] = bytes[starts[i] : starts[i] + length]``; bytes outside the dataset read as 0."""
        if starts.size == 0 or length <= 0:
            return np.zeros((starts.size, max(length, 0)), dtype=np.uint8)
        positions = starts[:, None] + np.arange(length)
        inside = (positions >= 0) & (positions < self.size)
        clipped = np.clip(positions, 0, self.size - 1)
        mapped = self._mapped()
        if mapped is not None and self._located is not None:
            chunk, base = self._located
            out = mapped[base[clipped // chunk] + clipped % chunk]
        else:
            out = self._gather_read(clipped)
        out[~inside] = 0
        return np.asarray(out, dtype=np.uint8)

    def span(self, start: int, stop: int) -> npt.NDArray[np.uint8]:
        """Bytes ``[start, stop)``: a view into the file within one chunk, else the chunks' slices joined."""
        start, stop = max(0, start), min(self.size, stop)
        if stop <= start:
            return np.zeros(0, dtype=np.uint8)
        mapped = self._mapped()
        if mapped is None or self._located is None:
            return np.asarray(self._dataset[start:stop], dtype=np.uint8)
        chunk, base = self._located
        pieces = []
        for k in range(start // chunk, (stop - 1) // chunk + 1):
            lo, hi = max(start, k * chunk), min(stop, (k + 1) * chunk)
            at = int(base[k]) + lo - k * chunk
            pieces.append(mapped[at : at + hi - lo])
        return pieces[0] if len(pieces) == 1 else np.concatenate(pieces)

    def _mapped(self) -> npt.NDArray[np.uint8] | None:
        if self._map is None and self._located is not None:
            self._map = np.memmap(self.path, dtype=np.uint8, mode="r")
        return self._map

    def _gather_read(self, positions: Int64Array) -> npt.NDArray[np.uint8]:
        """Without a map: read windows of the dataset that hold the positions, one call each."""
        flat = positions.ravel()
        out = np.empty(flat.shape, dtype=np.uint8)
        order = np.argsort(flat, kind="stable")
        ordered = flat[order]
        first = 0
        while first < ordered.size:  # one HDF5 read per window of at most _WINDOW_BYTES
            lo = int(ordered[first])
            stop = int(np.searchsorted(ordered, lo + _WINDOW_BYTES, side="left"))
            block = np.asarray(self._dataset[lo : int(ordered[stop - 1]) + 1], dtype=np.uint8)
            out[order[first:stop]] = block[ordered[first:stop] - lo]
            first = stop
        return out.reshape(positions.shape)
