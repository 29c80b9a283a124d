"""Resumable, verified uploads: bytes appended at the acknowledged offset, checked before commit.

An upload is two files in the store's ``incoming/``: ``<id>.part`` (the bytes so
far: its size *is* the acknowledged offset, so a dropped connection or a killed
server resumes from what reached the disk) and ``<id>.json`` (the announced
:class:`UploadRequest` and who sent it). The id is derived from the episode id
and the announced SHA-256, so a client that starts over after a crash gets the
same upload back and goes on from its offset. Nothing gets a final name before
its hash matched and it opened as a finished episode of the right station.
"""

from __future__ import annotations

import errno
import hashlib
import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import episodes
from tg_site._errors import SiteError
from tg_site._messages import UploadRequest, UploadState
from tg_site._records import file_sha256
from tg_site._store import Store

__all__ = [
    "ContentRange",
    "StoreFullError",
    "UploadConflictError",
    "UploadError",
    "UploadTooLargeError",
    "Uploads",
    "Verified",
    "read_identity",
]

_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")


class UploadError(SiteError):
    """The upload cannot go on as sent (bad range, wrong hash, not an episode): HTTP 4xx."""


class UploadConflictError(UploadError):
    """The site holds this episode id with other content, or a range starts elsewhere than the offset."""


class UploadTooLargeError(UploadError):
    """More bytes than the announced size or the site's upload limit."""


class StoreFullError(SiteError):
    """Storing this upload would leave less than ``--min-free`` on the store's disk (HTTP 507)."""


@dataclass(frozen=True)
class ContentRange:
    """``Content-Range: bytes start-end/total`` of a chunk (``end`` inclusive)."""

    start: int
    end: int
    total: int

    @classmethod
    def parse(cls, header: str | None) -> ContentRange:
        match = _RANGE.match(header or "")
        if match is None:
            raise UploadError(
                f"Content-Range {header!r}: send 'bytes START-END/TOTAL' with each chunk "
                "(START: the offset HEAD reports)"
            )
        start, end, total = (int(g) for g in match.groups())
        if end < start or end >= total:
            raise UploadError(f"Content-Range {header!r}: END must be at least START and below TOTAL")
        return cls(start, end, total)

    @property
    def length(self) -> int:
        return self.end - self.start + 1


@dataclass(frozen=True)
class Verified:
    """A finished upload that passed every check: its identity as its own file states it."""

    request: UploadRequest
    station: str
    path: Path


class _Session:
    """An open upload's announced request and a running hash of the bytes appended in this process."""

    def __init__(self, request: UploadRequest, token_id: str, offset: int) -> None:
        self.request = request
        self.token_id = token_id
        self.lock = threading.Lock()
        # A hash running since byte 0 of this process's appends; a resumed upload hashes at commit.
        self.hasher: hashlib._Hash | None = hashlib.sha256() if offset == 0 else None


class Uploads:
    """Uploads in progress in ``store``: open, append, offset, verify (thread-safe)."""

    def __init__(self, store: Store, *, min_free_bytes: int, max_upload_bytes: int) -> None:
        self._store = store
        self._min_free = min_free_bytes
        self._max = max_upload_bytes
        self._sessions: dict[str, _Session] = {}
        self._lock = threading.Lock()

    @staticmethod
    def upload_id(request: UploadRequest) -> str:
        return f"{request.episode_id}-{request.sha256[:32]}"

    def open(self, request: UploadRequest, token_id: str) -> UploadState:
        """Start the upload ``request`` announces, or find the one already started; its state."""
        if request.size > self._max:
            raise UploadTooLargeError(
                f"episode {request.episode_id}: {request.size} bytes is over the site's upload limit of "
                f"{self._max} bytes; ask the site's admin to raise --max-upload"
            )
        upload_id = self.upload_id(request)
        part = self._store.incoming_path(upload_id)
        with self._lock:
            if not part.exists():
                self.check_room(request.size)
                _meta_path(part).write_text(
                    json.dumps({"request": request.to_json(), "token_id": token_id}), encoding="utf-8"
                )
                part.touch()
        return self.state(upload_id, token_id)

    def check_room(self, incoming: int) -> None:
        """Refuse (507) when ``incoming`` more bytes would leave less than ``--min-free`` free."""
        free = self._store.free_bytes()
        if free - incoming < self._min_free:
            raise StoreFullError(
                f"the store {self._store.root} has {free} bytes free; storing {incoming} more would leave "
                f"less than the {self._min_free} bytes --min-free keeps; free space there or lower --min-free"
            )

    def _session(self, upload_id: str, token_id: str) -> _Session:
        part = self._store.incoming_path(upload_id)
        with self._lock:
            session = self._sessions.get(upload_id)
            if session is None:
                meta = _meta_path(part)
                if not meta.exists() or not part.exists():
                    raise UploadError(
                        f"upload {upload_id}: no such upload in progress (committed, or never started); "
                        "POST /api/v1/uploads to start it"
                    )
                saved = json.loads(meta.read_text(encoding="utf-8"))
                session = _Session(
                    UploadRequest.from_json(saved["request"]), saved["token_id"], part.stat().st_size
                )
                self._sessions[upload_id] = session
        if session.token_id != token_id:
            raise UploadError(f"upload {upload_id} was started with another token; continue it with that one")
        return session

    def state(self, upload_id: str, token_id: str) -> UploadState:
        session = self._session(upload_id, token_id)
        part = self._store.incoming_path(upload_id)
        r = session.request
        return UploadState(upload_id, r.episode_id, part.stat().st_size, r.size, "open")

    def append(self, upload_id: str, token_id: str, where: ContentRange, chunks: list[bytes]) -> UploadState:
        """Append one chunk (its pieces in order) at ``where``; the new state. Partial writes stay."""
        session = self._session(upload_id, token_id)
        part = self._store.incoming_path(upload_id)
        with session.lock:
            offset = part.stat().st_size
            if where.total != session.request.size:
                raise UploadError(
                    f"upload {upload_id}: Content-Range total {where.total} differs from the announced "
                    f"size {session.request.size}"
                )
            if where.start != offset:
                raise UploadConflictError(
                    f"upload {upload_id}: the chunk starts at byte {where.start} but the site has "
                    f"{offset}; ask HEAD for the offset and send from there"
                )
            if sum(len(c) for c in chunks) > where.length:
                raise UploadTooLargeError(
                    f"upload {upload_id}: the body holds more bytes than Content-Range {where.start}-"
                    f"{where.end} announces"
                )
            self.check_room(where.length)
            self._write(part, offset, chunks, session)
        return self.state(upload_id, token_id)

    def _write(self, part: Path, offset: int, chunks: list[bytes], session: _Session) -> None:
        try:
            with open(part, "r+b") as f:
                f.seek(offset)
                for chunk in chunks:
                    f.write(chunk)
        except OSError as exc:
            with open(part, "r+b") as f:
                f.truncate(offset)  # what was acknowledged stays; the failed chunk is sent again
            session.hasher = None
            if exc.errno == errno.ENOSPC:
                raise StoreFullError(
                    f"the store {self._store.root} is full; free space there (the upload resumes "
                    f"from byte {offset})"
                ) from None
            raise
        if session.hasher is not None:
            for chunk in chunks:
                session.hasher.update(chunk)

    def verify(self, upload_id: str, token_id: str) -> Verified:
        """Check a complete upload: size, SHA-256, a readable finished episode with the announced identity.

        A wrong hash or a file that is not such an episode is deleted (the client
        sends it again, or not at all); a short one stays, to be resumed.
        """
        session = self._session(upload_id, token_id)
        part = self._store.incoming_path(upload_id)
        r = session.request
        with session.lock:
            have = part.stat().st_size
            if have != r.size:
                raise UploadError(
                    f"upload {upload_id}: {have} of {r.size} bytes arrived; send the rest from byte {have} "
                    "before committing"
                )
            digest = session.hasher.hexdigest() if session.hasher is not None else file_sha256(part)
            if digest != r.sha256:
                self.discard(upload_id)
                raise UploadError(
                    f"upload {upload_id}: the bytes have SHA-256 {digest}, not the announced {r.sha256}; "
                    "nothing was stored: upload the file again"
                )
            try:
                episode_id, raw, station = read_identity(part)
            except UploadError:
                self.discard(upload_id)
                raise
        if (episode_id, raw) != (r.episode_id, r.raw_digest):
            self.discard(upload_id)
            raise UploadError(
                f"upload {upload_id}: the file is episode {episode_id} with raw digest {raw}, not the "
                f"announced {r.episode_id} / {r.raw_digest}; nothing was stored"
            )
        return Verified(r, station, part)

    def commit(self, verified: Verified) -> Path:
        """Give the verified upload its final name; removes the upload's state."""
        final = self._store.commit(verified.path, verified.request.episode_id)
        self.forget(self.upload_id(verified.request))
        return final

    def discard(self, upload_id: str) -> None:
        part = self._store.incoming_path(upload_id)
        part.unlink(missing_ok=True)
        self.forget(upload_id)

    def purge_idle(self, *, before_ns: int) -> list[str]:
        """Remove uploads no byte reached since ``before_ns`` (clients that gave up); their ids."""
        removed = []
        for part in self._store.incoming_dir.glob("*.part"):
            if part.stat().st_mtime_ns < before_ns:
                upload_id = part.name.removesuffix(".part")
                with self._lock:
                    self._sessions.pop(upload_id, None)
                part.unlink(missing_ok=True)
                _meta_path(part).unlink(missing_ok=True)
                removed.append(upload_id)
        return removed

    def forget(self, upload_id: str) -> None:
        _meta_path(self._store.incoming_path(upload_id)).unlink(missing_ok=True)
        with self._lock:
            self._sessions.pop(upload_id, None)


def read_identity(path: Path) -> tuple[str, str, str]:
    """(episode id, raw-content digest, station) of a finished episode file, or :class:`UploadError`."""
    try:
        with episodes.open(path) as reader:
            meta = reader.metadata
            partial = reader.is_partial
    except (episodes.EpisodeError, OSError, KeyError, ValueError) as exc:
        raise UploadError(
            f"the uploaded file is not a readable episode ({type(exc).__name__}: {exc}); nothing was stored"
        ) from None
    if partial or meta.status != "complete":
        raise UploadError(
            f"episode {meta.episode_id} is not finished (status {meta.status!r}); run tg recover on it "
            "before pushing; nothing was stored"
        )
    if meta.content_digest is None:
        raise UploadError(
            f"episode {meta.episode_id} has no raw-content digest (written before digests existed); "
            "nothing was stored"
        )
    return meta.episode_id, meta.content_digest, meta.station


def _meta_path(part: Path) -> Path:
    return part.with_suffix(".json")
