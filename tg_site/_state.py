"""One running site: its store, catalogue, tokens, uploads, arrival pool and counters, and what ties them.

Catalogue writes all go through one thread (:meth:`SiteState.write`): SQLite
takes one writer at a time anyway, and one place orders them (an arrival's row
after its upload's row).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import episodes
from tg_exec import open_executor
from tg_site._arrival import ArrivalOutcome, Arrivals
from tg_site._auth import ForbiddenError, RateLimiter, TokenCheck
from tg_site._catalogue import Catalogue
from tg_site._messages import CommitResult, Labels, UploadRequest, UploadState
from tg_site._records import EpisodeRecord, record_from_file
from tg_site._settings import SiteSettings
from tg_site._store import EpisodeExistsInStoreError, Store
from tg_site._tokens import Role, TokenInfo, TokenStore
from tg_site._upload import UploadConflictError, Uploads, Verified, read_identity

__all__ = ["SiteState"]

T = TypeVar("T")
_log = logging.getLogger("tg_site")


class SiteState:
    """Everything one server process holds; made when the app starts, closed when it stops."""

    def __init__(self, settings: SiteSettings) -> None:
        from tg_site._metrics import Metrics

        self.settings = settings
        self.store = Store(settings.store)
        self.catalogue = Catalogue.open(self.store)
        self.tokens = TokenStore(self.catalogue)
        self.token_check = TokenCheck(self.tokens, RateLimiter(settings.requests_per_minute, "token"))
        self.logins = RateLimiter(settings.logins_per_minute, "address")
        self.uploads = Uploads(
            self.store, min_free_bytes=settings.min_free_bytes, max_upload_bytes=settings.max_upload_bytes
        )
        self.metrics = Metrics()
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="catalogue-writer")
        executor = open_executor(settings.arrival_executor)
        _log.info("arrival checks run on %s", executor.describe())
        self.arrivals = Arrivals(self.store, executor, self._arrived)
        self.ready = False

    def start(self) -> None:
        """Redo arrivals a crash cut short; then the server is ready."""
        again = self.arrivals.resume()
        if again:
            _log.info("redoing %d arrival(s) cut short: %s", len(again), ", ".join(again))
        self.ready = True

    def close(self) -> None:
        self.ready = False
        self.arrivals.close()
        self._writer.shutdown(wait=True)

    def record(self, path: Path, *, sha256: str | None = None) -> EpisodeRecord:
        """The catalogue record of a stored episode file, with whether its thumbnail exists."""
        record = record_from_file(path, sha256=sha256)
        thumb = self.store.thumbnail_path(record.episode_id).exists()
        return dataclasses.replace(record, has_thumbnail=thumb)

    def write(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` (a catalogue write) on the one writer thread and wait for it."""
        return self._writer.submit(fn).result()

    # -- uploads -------------------------------------------------------------------------------

    def start_upload(self, request: UploadRequest, token: TokenInfo) -> UploadState:
        """Open (or find) the upload ``request`` announces, unless the site has its content already."""
        final = self.store.episode_path(request.episode_id)  # refuses '../x' before anything else
        stored = self._stored_digest(request.episode_id, final)
        if stored is not None and stored != request.raw_digest:
            raise UploadConflictError(
                f"episode {request.episode_id}: the site holds it with raw digest {stored}, yours has "
                f"{request.raw_digest}; both copies are kept: give one of them a new id"
            )
        if stored is None:
            same = self.catalogue.find_by_digest(request.raw_digest)
            if same is not None:
                return UploadState("", same.episode_id, request.size, request.size, "already_have")
            return self.uploads.open(request, token.id)
        if request.labels is not None:
            self._merge_labels(request.episode_id, request.labels, token)
        return UploadState("", request.episode_id, request.size, request.size, "already_have")

    def _stored_digest(self, episode_id: str, final: Path) -> str | None:
        record = self.catalogue.get(episode_id)
        if record is not None and record.trashed_at_ns is None:
            return record.raw_digest
        if final.exists():  # stored, its row not written yet
            return read_identity(final)[1]
        return None

    def _merge_labels(self, episode_id: str, labels: Labels, token: TokenInfo) -> None:
        """The client's newer labels into the site's copy (journal), its row, and the audit log."""
        path = self.store.episode_path(episode_id)
        with episodes.open(path) as reader:
            meta = reader.metadata
        self._check_station(token, meta.station, episode_id)
        instruction = labels.instruction if labels.instruction != meta.instruction else None
        # An unknown success label in the client's copy says nothing new: only a known one is merged.
        success = labels.success if labels.success not in (None, meta.success) else None
        if instruction is None and success is None:
            return
        episodes.set_labels(path, instruction=instruction, success=success)
        before = {"instruction": meta.instruction, "success": meta.success}

        def write() -> None:
            self.catalogue.upsert(self.record(path))
            self.catalogue.audit(
                token.name, "labels.merge", episode_id, {"before": before, "after": labels.to_json()}
            )

        self.write(write)

    @staticmethod
    def _check_station(token: TokenInfo, station: str, episode_id: str) -> None:
        if token.role is Role.STATION and station != token.station:
            raise ForbiddenError(
                f"episode {episode_id} was recorded at station {station!r}; this token belongs to station "
                f"{token.station!r} and pushes only its own episodes"
            )

    def commit_upload(self, upload_id: str, token: TokenInfo) -> CommitResult:
        """Verify a complete upload, give it its final name, catalogue it and queue its arrival."""
        verified = self.uploads.verify(upload_id, token.id)
        episode_id = verified.request.episode_id
        try:
            self._check_station(token, verified.station, episode_id)
        except ForbiddenError:
            self.uploads.discard(upload_id)
            raise
        try:
            final = self.uploads.commit(verified)
        except EpisodeExistsInStoreError:
            return self._committed_meanwhile(upload_id, verified)
        self._catalogue_upload(final, verified, token)
        self.arrivals.submit(episode_id)
        return CommitResult(episode_id, verified.request.sha256, "queued")

    def _committed_meanwhile(self, upload_id: str, verified: Verified) -> CommitResult:
        """Another upload of this episode id was committed first: the same content, or a conflict."""
        self.uploads.discard(upload_id)
        r = verified.request
        stored = read_identity(self.store.episode_path(r.episode_id))[1]
        if stored != r.raw_digest:
            raise UploadConflictError(
                f"episode {r.episode_id}: the site holds it with raw digest {stored}, yours has "
                f"{r.raw_digest}; both copies are kept: give one of them a new id"
            )
        return CommitResult(r.episode_id, r.sha256, "already_have")

    def _catalogue_upload(self, final: Path, verified: Verified, token: TokenInfo) -> None:
        r = verified.request
        record = self.record(final, sha256=r.sha256)

        def write() -> None:
            self.catalogue.upsert(record)
            self.catalogue.audit(
                token.name,
                "upload",
                r.episode_id,
                {"sha256": r.sha256, "size": r.size, "station": verified.station},
            )

        self.write(write)
        self.metrics.station_pushed(verified.station or token.name, record.end_time_ns)

    # -- arrival -------------------------------------------------------------------------------

    def _arrived(self, outcome: ArrivalOutcome) -> None:
        """A worker finished (or died on) an episode: its row from the file as it is now (pool thread)."""
        self._writer.submit(self._catalogue_arrival, outcome)

    def _catalogue_arrival(self, outcome: ArrivalOutcome) -> None:
        path = self.store.episode_path(outcome.episode_id)
        try:
            if path.exists():
                self.catalogue.upsert(self.record(path))
                self.catalogue.audit("site", "arrival", outcome.episode_id, outcome.to_json())
        except Exception:  # the row stays as the upload left it; reindex rebuilds it
            _log.exception("arrival of %s: the catalogue row could not be updated", outcome.episode_id)
        result = "error" if outcome.error else ("passed" if outcome.qa_passed else "failed")
        self.metrics.arrived(result, outcome.stage_seconds)
        self.arrivals.done(outcome.episode_id)

    def trash(self, episode_id: str, actor: str) -> dict[str, object]:
        """Move an episode to the trash (file, thumbnail; its row marked) and audit it."""
        place = self.store.trash(episode_id)

        def write() -> None:
            self.catalogue.mark_trashed(episode_id)
            self.catalogue.audit(actor, "delete", episode_id, {"trash": str(place)})

        self.write(write)
        return {"episode_id": episode_id, "state": "trashed", "purge_after_days": self.settings.trash_days}

    def purge_trash(self) -> list[str]:
        """Delete trashed episodes older than ``--trash-days``; their ids."""
        horizon_ns = time.time_ns() - int(self.settings.trash_days * 86400e9)

        for upload_id in self.uploads.purge_idle(before_ns=horizon_ns):
            _log.info("removed upload %s, idle for more than %g days", upload_id, self.settings.trash_days)

        def write() -> list[str]:
            purged = self.catalogue.purge_trash(self.store, before_ns=horizon_ns)
            for episode_id in purged:
                self.catalogue.audit("site", "purge", episode_id, {"trash_days": self.settings.trash_days})
            return purged

        return self.write(write)
