"""Content identity: the SHA-256 of what an episode recorded, blind to labels and annotations.

What it covers is declared in :mod:`episodes._schema` (``identity=True``) and
specified in datasets/FORMAT.md, "Content identity". The writer feeds
:class:`StreamHasher` as its I/O thread writes each block (so finalising costs
no read-back); :func:`content_digest` computes the same value from any readable
file, for files written before digests existed and to check a stored one.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from episodes import _schema as schema
from episodes._reader import ArraySamples, EpisodeReader

__all__ = ["DIGEST_PREFIX", "StreamHasher", "combine_digest", "content_digest", "identity"]

DIGEST_PREFIX = b"tg-episode-content-1\n"
_IMAGE_ROWS = 256  # frames per read when computing from a file: bounded memory


class StreamHasher:
    """Running SHA-256s of one stream's stamps, arrival times, payload and (cameras) frame sizes."""

    def __init__(self) -> None:
        self.count = 0
        self._stamps = hashlib.sha256()
        self._arrivals = hashlib.sha256()
        self._payload = hashlib.sha256()
        self._sizes = hashlib.sha256()

    def add_rows(self, stamps: npt.NDArray[Any], arrivals: npt.NDArray[Any], data: npt.NDArray[Any]) -> None:
        """Array-stream samples: ``data`` rows in the stream's dtype."""
        self._times(stamps, arrivals)
        self._payload.update(_le_bytes(data))

    def add_frames(
        self,
        stamps: npt.NDArray[Any],
        arrivals: npt.NDArray[Any],
        frames: Iterable[Any],
        sizes: npt.NDArray[Any],
    ) -> None:
        """Camera samples: each frame's encoded bytes, in order, and their sizes."""
        self._times(stamps, arrivals)
        for frame in frames:
            self._payload.update(frame)
        self._sizes.update(_le_bytes(np.asarray(sizes, dtype=np.int64)))

    def _times(self, stamps: npt.NDArray[Any], arrivals: npt.NDArray[Any]) -> None:
        self.count += int(stamps.shape[0])
        self._stamps.update(_le_bytes(np.asarray(stamps, dtype=np.int64)))
        self._arrivals.update(_le_bytes(np.asarray(arrivals, dtype=np.int64)))

    def digest(self) -> bytes:
        return b"".join(h.digest() for h in (self._stamps, self._arrivals, self._payload, self._sizes))


def _le_bytes(values: npt.NDArray[Any]) -> memoryview:
    """The values' bytes, C order, little-endian (what every x86 and ARM file holds)."""
    array = np.ascontiguousarray(values, dtype=values.dtype.newbyteorder("<"))
    return array.data.cast("B")


def combine_digest(
    root: Mapping[str, Any],
    urdf: str,
    streams: Mapping[str, tuple[Mapping[str, Any], StreamHasher]],
) -> str:
    """The episode's digest from its decoded root attributes, URDF and per stream (attributes, hasher)."""
    record = {
        "metadata": _identity(root, schema.ROOT_ATTRS),
        "urdf": urdf,
        "streams": [
            {"name": name, "attrs": _identity(attrs, schema.STREAM_ATTRS), "count": hasher.count}
            for name, (attrs, hasher) in sorted(streams.items())
        ],
    }
    top = hashlib.sha256(DIGEST_PREFIX)
    # NaN (an undeclared rate) is written as the JSON extension token NaN: stable, if not strict JSON.
    top.update(json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    top.update(b"\n")
    for name in sorted(streams):
        top.update(streams[name][1].digest())
    return top.hexdigest()


def identity(decls: Iterable[schema.AttrDecl]) -> tuple[schema.AttrDecl, ...]:
    """The declarations the digest covers."""
    return tuple(d for d in decls if d.identity)


def _identity(values: Mapping[str, Any], decls: Iterable[schema.AttrDecl]) -> dict[str, Any]:
    return {
        d.name: list(v) if isinstance(v, tuple) else v
        for d in decls
        if d.identity and (v := values.get(d.name)) is not None
    }


def content_digest(path: str | os.PathLike[str]) -> str:
    """Compute the content digest of the episode ``path`` from its data (reads the whole file).

    Equals ``episodes.open(path).metadata.content_digest`` for files written with
    one; also works on files written before digests existed and on partial files.

    >>> content_digest("datasets/demo/01J....h5")  # doctest: +SKIP
    '3f2a...'
    """
    with EpisodeReader(path) as reader:
        streams: dict[str, tuple[Mapping[str, Any], StreamHasher]] = {}
        for name in reader.stream_names:
            hasher = StreamHasher()
            info = reader.stream(name)
            rows = _IMAGE_ROWS if info.is_image else 4096
            for block in reader.iter_samples(name, max_rows=rows):
                if isinstance(block, ArraySamples):
                    hasher.add_rows(block.stamp_ns, block.arrival_ns, np.asarray(block.data))
                else:
                    sizes = np.array([len(image.data) for image in block.images], dtype=np.int64)
                    hasher.add_frames(block.stamp_ns, block.arrival_ns, (i.data for i in block.images), sizes)
            streams[name] = (reader.stream_attrs(name), hasher)
        return combine_digest(reader.root_attrs(), reader.urdf, streams)
