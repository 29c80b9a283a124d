"""Camera streams scanned without decoding, or even reading, every frame.

Frames are read through the reader's :class:`FrameBytes` (memory-mapped chunks), all with numpy:

* structure: every frame starts with a JPEG or PNG signature and its last 32
  bytes hold the end marker (a frame cut short lacks it);
* format: the header of every frame (size, channels, encoding), parsed once
  per distinct header (frames from one encoder share it);
* repeats: a frame identical to the one before. Only frames of equal size and
  equal last bytes can be; those are compared in full (a frozen stretch is read
  once, in pieces of at most ``_COMPARE_BYTES``);
* a bounded sample of frames (evenly spaced, plus suspiciously small ones: a
  black or white frame compresses to almost nothing) is decoded at 1/8 scale
  for brightness and to prove it decodes.

So a healthy stream costs a few hundred bytes per frame plus the sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from episodes._images import read_header
from episodes._qa._access import EpisodeData
from episodes._qa._config import QaConfig
from episodes._qa._ranges import runs
from episodes._reader import FrameBytes
from episodes._spec import ImageStreamSpec, StreamKind

__all__ = ["PROBLEMS", "CameraScan", "FrameFormat", "parse_header", "scan_camera"]

Int64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]

_PREFIX = 512  # header bytes compared across frames; cv2's JPEG SOF sits at ~160
_TAIL = 32  # an end marker may be followed by a few padding bytes
_HEADER_PROBES = 8  # frames tried for the header length before falling back to _PREFIX
_COMPARE_BYTES = 8 << 20
_SMALL_SHARE = 0.25  # a frame under a quarter of the median size is decoded too
_SMALL_LIMIT = 4  # ... up to 4x the even sample

_PNG_MAGIC = np.frombuffer(b"\x89PNG\r\n\x1a\n", dtype=np.uint8)
_IEND = np.frombuffer(b"IEND", dtype=np.uint8)

FINE, NO_SIGNATURE, CUT_SHORT, BAD_HEADER, NO_DECODE = range(5)
PROBLEMS = {
    NO_SIGNATURE: "starts with neither a JPEG nor a PNG signature",
    CUT_SHORT: "is cut short (no end-of-image marker)",
    BAD_HEADER: "has a header that does not parse",
    NO_DECODE: "does not decode",
}


@dataclass(frozen=True)
class FrameFormat:
    """What a frame's header says."""

    encoding: str
    width: int
    height: int
    channels: int

    def describe(self) -> str:
        colour = {1: "mono", 3: "RGB"}.get(self.channels, f"{self.channels}-channel")
        return f"{self.width}x{self.height} {colour} {self.encoding}"


@dataclass(frozen=True)
class CameraScan:
    """Per-frame results of :func:`scan_camera`."""

    stamps: Int64Array
    sizes: Int64Array
    problem: npt.NDArray[np.int8]  # FINE or a key of PROBLEMS
    format_index: Int64Array  # into formats; -1 where the header is unknown
    formats: tuple[FrameFormat, ...]
    repeats: BoolArray  # frame i has exactly the bytes of frame i - 1
    sampled: Int64Array  # decoded frames, ascending
    dark: FloatArray  # share of dark pixels of each sampled frame; NaN if not measured
    bright: FloatArray


def parse_header(data: bytes) -> FrameFormat | None:
    """Encoding, size and channels from a JPEG (SOF marker) or PNG (IHDR) header; None if neither.

    >>> ok, jpg = cv2.imencode(".jpg", np.zeros((6, 8, 3), np.uint8))
    >>> parse_header(jpg.tobytes())
    FrameFormat(encoding='jpeg', width=8, height=6, channels=3)
    """
    found = _locate_header(data)
    return found[0] if found else None


def _header_end(data: bytes) -> int | None:
    found = _locate_header(data)
    return found[1] if found else None


def _locate_header(data: bytes) -> tuple[FrameFormat, int] | None:
    """The header's format and the offset just past what it was read from."""
    header = read_header(data)
    if header is None:
        return None
    return FrameFormat(header.encoding.value, header.width, header.height, header.channels), header.end


def scan_camera(data: EpisodeData, name: str, spec: ImageStreamSpec, config: QaConfig) -> CameraScan:
    """Scan every frame of camera stream ``name``, reading a few hundred bytes of most frames."""
    stamps = data.stamps(name)
    offsets, sizes = data.frame_index(name)
    store = data.frame_store(name)
    k = np.arange(_TAIL)
    tails = store.rows(offsets + sizes - _TAIL, _TAIL)
    tails[k[None, :] < _TAIL - sizes[:, None]] = 0  # bytes before the frame's start
    heads = store.rows(offsets, _header_length(store, offsets, sizes))
    heads[np.arange(heads.shape[1])[None, :] >= sizes[:, None]] = 0  # bytes past the frame's end
    problem = _structure(heads, tails, sizes)
    formats: dict[FrameFormat, int] = {}
    format_index = _formats(store, heads, offsets, sizes, problem, formats)
    problem[(format_index < 0) & (problem == FINE)] = BAD_HEADER
    repeats = _repeats(store, offsets, sizes, tails) & (problem == FINE)
    sampled = _sample(sizes, config.image_sample_frames)
    dark = np.full(sampled.shape, np.nan)
    bright = np.full(sampled.shape, np.nan)
    brightness = spec.kind is not StreamKind.DEPTH
    for j, i in enumerate(sampled.tolist()):  # a bounded sample, not every frame
        if problem[i] != FINE:
            continue
        pixels = store.span(int(offsets[i]), int(offsets[i] + sizes[i]))
        if brightness:
            grey = cv2.imdecode(pixels, cv2.IMREAD_REDUCED_GRAYSCALE_8)
            if grey is not None:
                dark[j] = float(np.mean(grey <= config.dark_level))
                bright[j] = float(np.mean(grey >= config.bright_level))
        else:
            grey = cv2.imdecode(pixels, cv2.IMREAD_UNCHANGED)
        if grey is None:
            problem[i] = NO_DECODE
    return CameraScan(
        stamps=stamps,
        sizes=sizes,
        problem=problem,
        format_index=format_index,
        formats=tuple(formats),
        repeats=repeats,
        sampled=sampled,
        dark=dark,
        bright=bright,
    )


def _header_length(store: FrameBytes, offsets: Int64Array, sizes: Int64Array) -> int:
    """Bytes that hold a frame's header: up to the first frame's size marker (or ``_PREFIX``)."""
    for i in range(min(int(sizes.size), _HEADER_PROBES)):  # the first frames, until one parses
        head = store.span(int(offsets[i]), int(offsets[i]) + min(int(sizes[i]), _PREFIX)).tobytes()
        end = _header_end(head)
        if end is not None:
            return end
    return _PREFIX


def _sample(sizes: Int64Array, count: int) -> Int64Array:
    n = int(sizes.shape[0])
    if n == 0:
        return np.empty(0, dtype=np.int64)
    even = np.linspace(0, n - 1, min(count, n)).round().astype(np.int64)
    small = np.flatnonzero(sizes < _SMALL_SHARE * np.median(sizes))
    if small.size > _SMALL_LIMIT * count:
        small = small[np.linspace(0, small.size - 1, _SMALL_LIMIT * count).round().astype(np.int64)]
    return np.union1d(even, small).astype(np.int64)


def _structure(
    heads: npt.NDArray[np.uint8], tails: npt.NDArray[np.uint8], size: Int64Array
) -> npt.NDArray[np.int8]:
    """FINE, NO_SIGNATURE or CUT_SHORT for each frame, from its first and last bytes."""
    head = np.zeros((heads.shape[0], 8), dtype=np.uint8)
    head[:, : min(8, heads.shape[1])] = heads[:, :8]
    is_jpeg = (head[:, 0] == 0xFF) & (head[:, 1] == 0xD8) & (size >= 4)
    is_png = (head == _PNG_MAGIC).all(axis=1) & (size >= 8)
    jpeg_end = ((tails[:, :-1] == 0xFF) & (tails[:, 1:] == 0xD9)).any(axis=1)
    windows = np.lib.stride_tricks.sliding_window_view(tails, 4, axis=1)
    png_end = (windows == _IEND).all(axis=2).any(axis=1)
    ended = np.where(is_jpeg, jpeg_end, png_end)
    out = np.where(is_jpeg | is_png, np.where(ended, FINE, CUT_SHORT), NO_SIGNATURE)
    return out.astype(np.int8)


def _formats(
    store: FrameBytes,
    heads: npt.NDArray[np.uint8],
    offsets: Int64Array,
    sizes: Int64Array,
    problem: npt.NDArray[np.int8],
    formats: dict[FrameFormat, int],
) -> Int64Array:
    """Index into ``formats`` (extended as new ones appear) of each frame's header; -1 if unknown."""
    out = np.full(offsets.shape, -1, dtype=np.int64)
    fine = np.flatnonzero(problem == FINE)
    if fine.size == 0:
        return out
    keys = np.ascontiguousarray(heads[fine]).view(np.dtype((np.void, heads.shape[1]))).ravel()
    unique, inverse = np.unique(keys, return_inverse=True)
    for u in range(unique.shape[0]):  # one per encoder setting, not per frame
        members = fine[inverse.ravel() == u]
        found = parse_header(unique[u].tobytes())
        if found is not None:
            out[members] = formats.setdefault(found, len(formats))
            continue
        # This header is longer than the first frame's (other metadata segments): parse in full.
        for i in members.tolist():
            whole = parse_header(store.span(int(offsets[i]), int(offsets[i] + sizes[i])).tobytes())
            if whole is not None:
                out[i] = formats.setdefault(whole, len(formats))
    return out


def _repeats(
    store: FrameBytes, offsets: Int64Array, sizes: Int64Array, tails: npt.NDArray[np.uint8]
) -> BoolArray:
    """``out[i]``: frame i has exactly the bytes of frame i - 1.

    Only frames of equal size with equal last bytes can be; those are compared
    in full, a stretch of consecutive candidates per read.
    """
    out = np.zeros(offsets.shape, dtype=bool)
    candidate = np.zeros(offsets.shape, dtype=bool)
    candidate[1:] = (sizes[1:] == sizes[:-1]) & (sizes[1:] > 0) & (tails[1:] == tails[:-1]).all(axis=1)
    starts, stops = runs(candidate)
    for first, stop in zip(starts.tolist(), stops.tolist(), strict=True):  # one per repeated stretch
        piece = first
        while piece < stop:
            # Frames piece - 1 .. end - 1 in one read of at most _COMPARE_BYTES (at least one pair).
            end = piece + 1
            while end < stop and int(offsets[end] + sizes[end] - offsets[piece - 1]) <= _COMPARE_BYTES:
                end += 1
            base = int(offsets[piece - 1])
            blob = store.span(base, int((offsets[piece - 1 : end] + sizes[piece - 1 : end]).max()))
            # A stretch of candidates has one size: frame i and i - 1 are rows of one window view.
            frames = np.lib.stride_tricks.sliding_window_view(blob, int(sizes[piece]))
            local = offsets[piece - 1 : end] - base
            out[piece:end] = (frames[local[1:]] == frames[local[:-1]]).all(axis=1)
            piece = end
    return out
