"""Screening of the live recorder's input: which samples are bad, and why. Pure functions, no state.

Bad input never stops a recording and never reaches the file. The recorder
asks these functions about each block of array samples (numpy arrays in, a
mask and the reasons out) and about each camera frame, then counts the
:class:`Rejection` s per topic. The reasons, as the status and the episode's
diagnostics name them:

* ``mismatch``: a message whose names or number of values do not fit the stream;
* ``zero_stamp``: a header stamp of 0 (the publisher does not stamp);
* ``not_finite``: NaN or infinite values;
* ``stamp_backwards``: a stamp earlier than the stream's previous sample;
* ``image_changed``: a camera whose encoding or size changes mid-episode;
* ``wrong_type``: a publisher of another message type than the profile's.

>>> import numpy as np
>>> where = Source("/imu", "imu")
>>> rows = np.array([[0.0], [np.nan], [2.0], [3.0]])
>>> stamps = np.array([10, 20, 5, 40])
>>> v = screen_block(rows, stamps, np.zeros(4, dtype=bool), last_stamp=0, source=where, header=True)
>>> v.good.tolist(), [(r.reason, r.count) for r in v.rejections]
([0, 3], [('not_finite', 1), ('stamp_backwards', 1)])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from collectors._errors import FieldError
from collectors._fields import FieldReader, normalize_msg_type
from collectors._live_inputs import Publisher
from episodes._images import read_header

__all__ = [
    "BlockVerdict",
    "Rejection",
    "Signature",
    "Source",
    "WrongPublisher",
    "frame_signature",
    "frame_stamp_problem",
    "header_stamps",
    "image_changed",
    "not_finite",
    "read_rows",
    "screen_block",
    "stamps_backwards",
    "wrong_publishers",
    "zero_stamps",
]

_NS = 1_000_000_000

Mask = npt.NDArray[np.bool_]
Rows = npt.NDArray[np.float64]
Stamps = npt.NDArray[np.int64]
# What must stay the same for every frame of an episode: (encoding, width, height[, channels]),
# or the format alone when a compressed frame's header cannot be read.
Signature = tuple[Any, ...]


@dataclass(frozen=True)
class Rejection:
    """``count`` samples refused for ``reason``; ``message`` says which and why, for the operator."""

    reason: str
    message: str
    count: int = 1


@dataclass(frozen=True)
class Source:
    """Where samples come from, as the messages name it: a topic and one of its streams."""

    topic: str
    stream: str


class BlockVerdict(NamedTuple):
    """The screening of a block of samples of one stream: ``good`` indices to record, in order.

    A named tuple, not a dataclass: one is made per block on the recorder's callback thread.
    """

    good: npt.NDArray[np.intp]
    bad: Mask
    rejections: tuple[Rejection, ...]


@dataclass(frozen=True)
class WrongPublisher:
    """A publisher of another type than the profile's: ``key`` identifies it, to report it once."""

    key: str
    rejection: Rejection


# ------------------------------------------------------------------ array samples


def header_stamps(picks: Sequence[Any]) -> Stamps:
    """Stamps in ns of ``(sec, nanosec)`` pairs (0 stays 0: :func:`zero_stamps` finds them)."""
    sec_ns = np.array(picks, dtype=np.int64).reshape(-1, 2)
    stamps: Stamps = sec_ns[:, 0] * _NS + sec_ns[:, 1]
    return stamps


def read_rows(reader: FieldReader, picked: Sequence[Any]) -> tuple[Rows, Mask, list[Rejection]]:
    """The values of many picks, with a ``mismatch`` for each that does not fit the stream (rows of NaN).

    One numpy conversion for the whole block when every message fits; only a
    block holding a misfit is read again message by message to find it.
    """
    n = len(picked)
    bad = np.zeros(n, dtype=bool)
    try:
        return reader.rows(picked), bad, []
    except FieldError:
        pass
    # Some message does not fit: find which, one by one (rare, so the slow path is fine).
    rows = np.full((n, reader.dim), np.nan)
    found: list[Rejection] = []
    for i, pick in enumerate(picked):
        try:
            rows[i] = reader.rows((pick,))[0]
        except (FieldError, ValueError, TypeError) as exc:
            bad[i] = True
            found.append(Rejection("mismatch", f"{exc}; not recorded"))
    return rows, bad, found


def zero_stamps(stamps: Stamps, bad: Mask, source: Source) -> tuple[Mask, Rejection | None]:
    """Samples not yet refused whose header stamp is 0."""
    return _refused(
        ~bad & (stamps == 0),
        "zero_stamp",
        lambda count: (
            f"{source.topic}: header.stamp is 0 in {count} message(s); not recorded "
            f"in stream {source.stream!r} (stamp: arrival in the profile records the arrival time)"
        ),
    )


def not_finite(rows: Rows, bad: Mask, source: Source) -> tuple[Mask, Rejection | None]:
    """Samples not yet refused holding NaN or an infinity."""
    return _refused(
        ~bad & ~np.isfinite(rows).all(axis=1),
        "not_finite",
        lambda count: (
            f"{source.topic}: {count} message(s) hold NaN or infinite values for stream "
            f"{source.stream!r}; not recorded"
        ),
    )


def stamps_backwards(kept: Stamps, last_stamp: int, source: Source) -> tuple[Mask, Rejection | None]:
    """Which of ``kept`` (in arrival order) are earlier than a sample before them, ``last_stamp`` included."""
    before = np.maximum.accumulate(np.concatenate(([last_stamp], kept)))[:-1]
    return _refused(
        kept < before,
        "stamp_backwards",
        lambda count: (
            f"{source.topic}: {count} message(s) stamped earlier than the previous "
            f"sample of stream {source.stream!r}; not recorded"
        ),
    )


def _refused(mask: Mask, reason: str, message: Callable[[int], str]) -> tuple[Mask, Rejection | None]:
    # The message is only written when something is refused: most blocks have nothing to say.
    if not mask.any():
        return mask, None
    count = int(mask.sum())
    return mask, Rejection(reason, message(count), count)


def screen_block(
    rows: Rows, stamps: Stamps, bad: Mask, *, last_stamp: int, source: Source, header: bool
) -> BlockVerdict:
    """Screen a block of one stream (``bad``: already refused); ``header``: stamps are header stamps.

    Checks run in this order, each on what the ones before kept: zero stamps,
    non-finite values, stamps going backwards.
    """
    found: list[Rejection] = []
    if header:
        zero, why = zero_stamps(stamps, bad, source)
        if why is not None:
            found.append(why)
            bad = bad | zero
    nan, why = not_finite(rows, bad, source)
    if why is not None:
        found.append(why)
        bad = bad | nan
    good = np.flatnonzero(~bad)
    if good.size:
        back, why = stamps_backwards(stamps[good], last_stamp, source)
        if why is not None:
            found.append(why)
            bad = bad.copy()
            bad[good[back]] = True
            good = good[~back]
    return BlockVerdict(good, bad, tuple(found))


# ------------------------------------------------------------------ camera frames


def frame_signature(msg: Any, compressed: bool) -> Signature:
    """What must stay the same for every frame of an episode: encoding and size."""
    if compressed:
        header = read_header(bytes(msg.data))
        if header is None:
            return (str(msg.format),)
        return (header.encoding.value, header.width, header.height, header.channels)
    return (str(msg.encoding), int(msg.width), int(msg.height))


def image_changed(first: Signature, signature: Signature, topic: str, camera: str) -> Rejection | None:
    """A frame unlike the episode's first (``first``) of ``camera``."""
    if signature == first:
        return None
    return Rejection(
        "image_changed",
        f"{topic}: camera {camera!r} changed from {_describe(first)} to "
        f"{_describe(signature)} mid-episode; frames that differ from the first are not recorded",
    )


def frame_stamp_problem(stamp: int, last_stamp: int, *, header: bool, topic: str) -> Rejection | None:
    """A frame stamped 0 (``header``: a header stamp) or earlier than the camera's previous frame."""
    if header and stamp == 0:
        return Rejection("zero_stamp", f"{topic}: header.stamp is 0; the frame is not recorded")
    if stamp < last_stamp:
        return Rejection(
            "stamp_backwards",
            f"{topic}: header.stamp {stamp} ns is earlier than the previous frame's "
            f"{last_stamp} ns; the frame is not recorded",
        )
    return None


def _describe(signature: Signature) -> str:
    if len(signature) >= 3:
        return f"{signature[0]} {signature[1]}x{signature[2]}"
    return str(signature[0])


# ------------------------------------------------------------------ publishers


def wrong_publishers(
    topic: str, msg_type: str, publishers: Sequence[Publisher], reported: AbstractSet[str]
) -> list[WrongPublisher]:
    """The publishers of ``topic`` sending another type than ``msg_type``, not yet ``reported``.

    DDS never delivers their messages (the types do not match), so the graph is
    the only way to see them. Each is keyed by its endpoint id, which is stable,
    where a node's name may only be known once discovery settles.
    """
    found: list[WrongPublisher] = []
    seen = set(reported)
    for pub in publishers:
        if normalize_msg_type(pub.msg_type) == msg_type:
            continue
        key = pub.endpoint or f"{pub.node} ({pub.msg_type})"
        if key in seen:
            continue
        seen.add(key)
        message = (
            f"{topic}: publisher {pub.node} sends {pub.msg_type}, but the profile expects "
            f"{msg_type}; its messages cannot be received"
        )
        found.append(WrongPublisher(key, Rejection("wrong_type", message)))
    return found
