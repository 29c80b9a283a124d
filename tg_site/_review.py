"""Reviews with optimistic concurrency: a verdict saved on a stale view of the episode is refused.

The version a reviewer saw is the episode's review time (``reviewed_at_ns``, 0
when never reviewed), which each save changes. The verdict and corrected labels
go into the file through its update journal, then into the catalogue and the
audit log.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import episodes
from tg_site._errors import SiteError
from tg_site._messages import ReviewRequest
from tg_site._state import SiteState
from tg_site._tokens import TokenInfo

__all__ = ["StaleReviewError", "review_episode"]

_locks: dict[str, threading.Lock] = {}
_locks_lock = threading.Lock()


class StaleReviewError(SiteError):
    """A review saved on a version another reviewer has replaced (HTTP 409, with the current state)."""

    def __init__(self, message: str, current: dict[str, Any]) -> None:
        super().__init__(message)
        self.current = current


def _lock(episode_id: str) -> threading.Lock:
    with _locks_lock:
        return _locks.setdefault(episode_id, threading.Lock())


def review_episode(
    site: SiteState, episode_id: str, review: ReviewRequest, token: TokenInfo
) -> dict[str, Any]:
    """Save ``review`` if the episode's review version is still ``review.expected_version``; its new row."""
    path = site.store.episode_path(episode_id)
    with _lock(episode_id):
        with episodes.open(path) as reader:
            meta = reader.metadata
        current = meta.review
        version = current.at_ns if current is not None else 0
        if version != review.expected_version:
            state = current.to_json() if current is not None else {"state": "pending"}
            raise StaleReviewError(
                f"episode {episode_id}: {state.get('reviewer') or 'someone'} saved a review "
                f"(version {version}) after the version {review.expected_version} you saw; "
                "reload the episode and review it again",
                {**state, "version": version, "instruction": meta.instruction, "success": meta.success},
            )
        verdict = episodes.ReviewState(
            review.state, review.reason, review.note, token.name, max(time.time_ns(), version + 1)
        )
        episodes.set_review(path, verdict)
        episodes.set_labels(path, instruction=review.instruction, success=review.success)
        before = {
            "review": None if current is None else current.to_json(),
            "instruction": meta.instruction,
            "success": meta.success,
        }
        after = {"review": verdict.to_json(), "instruction": review.instruction, "success": review.success}

        def write() -> dict[str, Any]:
            record = site.record(path)
            site.catalogue.upsert(record)
            site.catalogue.audit(token.name, "review", episode_id, {"before": before, "after": after})
            return record.to_json()

        return site.write(write)
