"""Episode ids: ULIDs, so files from many stations sort by time and never collide."""

from __future__ import annotations

import os
import re
import threading
import time

__all__ = ["is_episode_id", "new_episode_id"]

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ULID_RE = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")
_lock = threading.Lock()
_last_ms = -1
_last_random = 0


def new_episode_id() -> str:
    """A new ULID: 48-bit Unix milliseconds then 80 random bits, Crockford base32.

    Ids made in the same millisecond by one process increment the random part,
    so they still sort in creation order.

    >>> a, b = new_episode_id(), new_episode_id()
    >>> len(a), a < b
    (26, True)
    """
    global _last_ms, _last_random
    with _lock:
        now_ms = time.time_ns() // 1_000_000
        if now_ms <= _last_ms:
            now_ms = _last_ms
            _last_random = (_last_random + 1) & ((1 << 80) - 1)
        else:
            _last_random = int.from_bytes(os.urandom(10), "big")
        _last_ms = now_ms
        value = (now_ms << 80) | _last_random
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def is_episode_id(text: str) -> bool:
    return bool(_ULID_RE.match(text))
