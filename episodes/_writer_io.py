"""The writer's background I/O: sample blocks in, HDF5 writes, periodic flushes, flow control.

The caller's thread (a ROS callback, a simulator loop) only copies a sample into
a chunk-sized block (:class:`WriterStream`); :class:`WriterIO`'s thread writes
full blocks, and every ``flush_interval_s`` also the partly filled ones, then
flushes the file: at most that much recorded data is lost if the process dies.
Images are encoded in a thread pool (OpenCV releases the GIL); a bounded number
of frames may wait for encoding, past which the caller blocks, so a slow disk
slows the recorder down instead of filling RAM. As it writes, the thread feeds
each stream's :class:`~episodes._schema_digest.StreamHasher`, so the content
digest costs no read-back at the end.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Union

import numpy as np
import numpy.typing as npt

from episodes import _layout as fmt
from episodes._errors import StreamSpecError
from episodes._schema_digest import StreamHasher
from episodes._spec import ArrayStreamSpec, CameraCalibration, ImageStreamSpec, StreamSpec

__all__ = ["EncodedFrame", "WriterIO", "WriterStream", "extend"]

_MAX_FRAMES_IN_FLIGHT_PER_THREAD = 6
_WAKE_AFTER_FRAMES = 4

EncodedFrame = Union["Future[npt.NDArray[np.uint8]]", npt.NDArray[np.uint8]]
PendingFrame = tuple[int, int, EncodedFrame]


@dataclass
class ArrayBlock:
    stamps: npt.NDArray[np.int64]
    arrivals: npt.NDArray[np.int64]
    data: npt.NDArray[Any]
    count: int = 0

    @classmethod
    def empty(cls, rows: int, spec: ArrayStreamSpec) -> ArrayBlock:
        return cls(
            stamps=np.empty(rows, np.int64),
            arrivals=np.empty(rows, np.int64),
            data=np.empty((rows, spec.dim), spec.dtype),
        )


@dataclass
class WriterStream:
    """One stream's buffers (caller's side, under the I/O lock) and what was written (I/O thread's)."""

    spec: StreamSpec
    group: Any
    block_rows: int
    last_stamp: int = -(2**63)
    # Filled by the caller's thread under the I/O lock, emptied by the I/O thread.
    block: ArrayBlock | None = None
    ready_blocks: list[ArrayBlock] = field(default_factory=list)
    pending_frames: list[PendingFrame] = field(default_factory=list)
    # Owned by the I/O thread.
    written: int = 0
    bytes_written: int = 0
    min_arrival: int = 2**63 - 1
    max_arrival: int = -(2**63)
    hasher: StreamHasher = field(default_factory=StreamHasher)

    def __post_init__(self) -> None:
        if isinstance(self.spec, ArrayStreamSpec):
            self.block = self.fresh_block()

    @property
    def is_image(self) -> bool:
        return isinstance(self.spec, ImageStreamSpec)

    def fresh_block(self) -> ArrayBlock:
        if not isinstance(self.spec, ArrayStreamSpec):
            raise StreamSpecError(f"stream {self.spec.name!r}: camera streams are not buffered in blocks")
        return ArrayBlock.empty(self.block_rows, self.spec)

    def buffer_rows(
        self, stamps: npt.NDArray[np.int64], arrivals: npt.NDArray[np.int64], rows: npt.NDArray[Any]
    ) -> None:
        """Copy rows into blocks; the caller holds the I/O lock and saw the stream open (``block``)."""
        start = 0
        while start < stamps.shape[0] and self.block is not None:
            block = self.block
            take = min(self.block_rows - block.count, stamps.shape[0] - start)
            sl = slice(block.count, block.count + take)
            block.stamps[sl] = stamps[start : start + take]
            block.arrivals[sl] = arrivals[start : start + take]
            block.data[sl] = rows[start : start + take]
            block.count += take
            start += take
            if block.count == self.block_rows:
                self.ready_blocks.append(block)
                self.block = self.fresh_block()


_Work = list[tuple[WriterStream, list[ArrayBlock], list[PendingFrame]]]


class WriterIO:
    """The I/O thread of one episode file, its encoder pool and the flow control between them."""

    def __init__(
        self,
        file: Any,
        streams: dict[str, WriterStream],
        *,
        name: str,
        flush_interval_s: float,
        encoder_threads: int,
        frames_in_flight: int | None,
        encoder_nice: int,
    ) -> None:
        self.file = file
        self.streams = streams
        self.lock = threading.Lock()
        self.error: BaseException | None = None
        self.closing = False
        self._wake = threading.Event()
        self._flush_interval = flush_interval_s
        self._calibrations: list[tuple[str, CameraCalibration]] = []
        threads = max(1, encoder_threads)
        in_flight = (
            frames_in_flight if frames_in_flight is not None else threads * _MAX_FRAMES_IN_FLIGHT_PER_THREAD
        )
        self._in_flight = threading.BoundedSemaphore(in_flight)
        self._pool = ThreadPoolExecutor(
            threads,
            thread_name_prefix=f"tg-encode-{name}",
            initializer=functools.partial(_lower_priority, encoder_nice) if encoder_nice > 0 else None,
        )
        self._thread = threading.Thread(target=self._loop, name=f"tg-writer-{name}", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ caller's side

    def wake(self) -> None:
        self._wake.set()

    def submit_frame(
        self,
        st: WriterStream,
        stamp: int,
        arrival: int,
        encode: Callable[[], npt.NDArray[np.uint8]],
        closed_error: Callable[[], BaseException],
    ) -> None:
        """Encode a frame in the pool and queue it; blocks while too many frames wait for encoding."""
        self._acquire_frame_slot(closed_error)
        try:
            future = self._pool.submit(encode)
        except RuntimeError as exc:  # pool already shut down by a failed I/O thread
            self._in_flight.release()
            raise closed_error() from exc
        try:
            self.queue_frame(st, stamp, arrival, future, closed_error)
        except BaseException:  # closed meanwhile by another thread: this frame is not recorded
            future.cancel()
            self._in_flight.release()
            raise

    def queue_frame(
        self,
        st: WriterStream,
        stamp: int,
        arrival: int,
        frame: EncodedFrame,
        closed_error: Callable[[], BaseException],
    ) -> None:
        with self.lock:
            if self.closing:
                raise closed_error()
            st.pending_frames.append((stamp, arrival, frame))
            if len(st.pending_frames) >= _WAKE_AFTER_FRAMES:
                self._wake.set()
        st.last_stamp = stamp

    def add_row(
        self,
        st: WriterStream,
        stamp: int,
        arrival: int,
        row: npt.NDArray[Any],
        closed_error: Callable[[], BaseException],
    ) -> None:
        """Buffer one array-stream sample (the per-sample path: no temporary arrays)."""
        with self.lock:
            block = st.block
            if block is None:
                raise closed_error()
            block.stamps[block.count] = stamp
            block.arrivals[block.count] = arrival
            block.data[block.count] = row
            block.count += 1
            if block.count == st.block_rows:
                st.ready_blocks.append(block)
                st.block = st.fresh_block()
                self._wake.set()
        st.last_stamp = stamp

    def add_rows(
        self,
        st: WriterStream,
        stamps: npt.NDArray[np.int64],
        arrivals: npt.NDArray[np.int64],
        rows: npt.NDArray[Any],
        closed_error: Callable[[], BaseException],
        *,
        wake: bool = False,
    ) -> None:
        """Buffer an array stream's rows; the I/O thread is woken once a block is full (or if ``wake``)."""
        with self.lock:
            if st.block is None:
                raise closed_error()
            ready = len(st.ready_blocks)
            st.buffer_rows(stamps, arrivals, rows)
            if wake or len(st.ready_blocks) > ready:
                self._wake.set()
        st.last_stamp = int(stamps[-1])

    def queue_calibration(self, camera: str, calibration: CameraCalibration) -> None:
        with self.lock:
            self._calibrations.append((camera, calibration))
        self._wake.set()

    def _acquire_frame_slot(self, closed_error: Callable[[], BaseException]) -> None:
        if self._in_flight.acquire(blocking=False):
            return
        # Every slot holds a frame the I/O thread has not collected yet: wake it, or with
        # many cameras each below the per-stream wake threshold we would wait for the flush timer.
        self._wake.set()
        while not self._in_flight.acquire(timeout=0.5):
            if self.error is not None or not self._thread.is_alive():
                raise closed_error()
            self._wake.set()

    def stop(self) -> None:
        """Write what is buffered, end the thread and the encoders (errors stay in ``error``)."""
        with self.lock:
            self.closing = True
        self._wake.set()
        self._thread.join()
        self._pool.shutdown(wait=True)

    # ------------------------------------------------------------------ I/O thread

    def _loop(self) -> None:
        next_flush = time.monotonic() + self._flush_interval
        while True:
            self._wake.wait(max(0.0, next_flush - time.monotonic()))
            self._wake.clear()
            closing = self.closing
            now = time.monotonic()
            flush_due = closing or now >= next_flush
            work, calibrations = self._take_work(flush_due, closing)
            try:
                for st, blocks, frames in work:
                    if blocks:
                        self._write_arrays(st, blocks)
                    if frames:
                        self._write_frames(st, frames)
                for camera, calib in calibrations:
                    text = fmt.json_attr(calib.to_json())
                    self.streams[camera].group.attrs.modify(fmt.ATTR_CALIBRATION, text)
                if flush_due:
                    self.file.flush()
                    next_flush = now + self._flush_interval
            except BaseException as exc:
                self.error = exc
                self._release_frames_after_failure(work)
                return
            if closing:
                return

    def _take_work(self, flush_due: bool, closing: bool) -> tuple[_Work, list[tuple[str, CameraCalibration]]]:
        work: _Work = []
        with self.lock:
            for st in self.streams.values():
                blocks = st.ready_blocks
                st.ready_blocks = []
                if flush_due and st.block is not None and st.block.count:
                    blocks.append(st.block)
                    st.block = st.fresh_block() if not closing else None
                elif closing:
                    st.block = None
                frames = st.pending_frames
                st.pending_frames = []
                if blocks or frames:
                    work.append((st, blocks, frames))
            calibrations = self._calibrations
            self._calibrations = []
        return work, calibrations

    def _release_frames_after_failure(self, work: _Work) -> None:
        # Callers may be blocked waiting for a frame slot: free them so they see the error.
        for _, _, frames in work:
            for _, _, frame in frames:
                if isinstance(frame, Future):
                    frame.cancel()
                    with contextlib.suppress(ValueError):
                        self._in_flight.release()

    def _write_arrays(self, st: WriterStream, blocks: list[ArrayBlock]) -> None:
        stamps = np.concatenate([b.stamps[: b.count] for b in blocks])
        arrivals = np.concatenate([b.arrivals[: b.count] for b in blocks])
        data = np.concatenate([b.data[: b.count] for b in blocks])
        start, stop = st.written, st.written + stamps.shape[0]
        g = st.group
        # Data before stamps: a reader sizes a stream by its shortest dataset, so a
        # crash between the two writes never exposes a stamp without its data.
        extend(g[fmt.DATA], start, stop, data)
        extend(g[fmt.ARRIVAL_NS], start, stop, arrivals)
        extend(g[fmt.STAMP_NS], start, stop, stamps)
        st.hasher.add_rows(stamps, arrivals, data)
        st.written = stop
        st.min_arrival = min(st.min_arrival, int(arrivals.min()))
        st.max_arrival = max(st.max_arrival, int(arrivals.max()))

    def _write_frames(self, st: WriterStream, frames: list[PendingFrame]) -> None:
        encoded: list[npt.NDArray[np.uint8]] = []
        for _, _, frame in frames:
            if isinstance(frame, Future):
                try:
                    encoded.append(frame.result())
                finally:
                    self._in_flight.release()
            else:
                encoded.append(frame)
        sizes = np.array([e.shape[0] for e in encoded], dtype=np.int64)
        offsets = st.bytes_written + np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
        blob = np.concatenate(encoded)
        stamps = np.array([f[0] for f in frames], dtype=np.int64)
        arrivals = np.array([f[1] for f in frames], dtype=np.int64)
        g = st.group
        start, stop = st.written, st.written + len(frames)
        extend(g[fmt.FRAMES], st.bytes_written, st.bytes_written + blob.shape[0], blob)
        extend(g[fmt.FRAME_OFFSET], start, stop, offsets)
        extend(g[fmt.FRAME_SIZE], start, stop, sizes)
        extend(g[fmt.ARRIVAL_NS], start, stop, arrivals)
        extend(g[fmt.STAMP_NS], start, stop, stamps)
        st.hasher.add_frames(stamps, arrivals, (blob,), sizes)
        st.written = stop
        st.bytes_written += int(blob.shape[0])
        st.min_arrival = min(st.min_arrival, int(arrivals.min()))
        st.max_arrival = max(st.max_arrival, int(arrivals.max()))


def extend(ds: Any, start: int, stop: int, values: npt.NDArray[Any]) -> None:
    ds.resize(stop, axis=0)
    ds[start:stop] = values


def _lower_priority(nice: int) -> None:
    """Run the calling thread ``nice`` steps below its process (Linux schedules threads one by one)."""
    with contextlib.suppress(AttributeError, OSError):  # no per-thread priority on this platform
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + nice)
