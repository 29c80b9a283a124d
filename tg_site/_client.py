"""``SiteClient``: what ``tg push`` and ``tg pull`` (and a station's agent) say to a site server.

Push sends an episode in chunks and, after a dropped connection, asks the
server's offset and goes on from there; an episode the site has already is
skipped. Pull fetches a manifest (a selection or a query) and downloads each
episode under a hidden name, resuming with ``Range``, and gives it its name only
after its SHA-256 matched; files already present with the right hash are skipped.
"""

from __future__ import annotations

import os
import ssl
import stat
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

import episodes
from tg_site._errors import SiteError
from tg_site._messages import CommitResult, Labels, ManifestEntry, UploadRequest, UploadState
from tg_site._records import file_sha256

__all__ = [
    "TOKEN_ENV",
    "PullResult",
    "PushResult",
    "SiteClient",
    "SiteClientError",
    "read_token",
]

TOKEN_ENV = "TG_SITE_TOKEN"
CHUNK_BYTES = 8 << 20
_RETRIES = 8
Progress = Callable[[int], None]
"""Called with the number of bytes just sent or received."""


class SiteClientError(SiteError):
    """The server refused a request (its status and message), or could not be reached."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


def read_token(token_file: Path | None) -> str:
    """The access token: from ``token_file`` (mode 0600 only) or else the ``TG_SITE_TOKEN`` variable.

    A token is never a command-line argument: other users see those in ``ps``.
    """
    if token_file is not None:
        try:
            mode = token_file.stat().st_mode
        except OSError as exc:
            raise SiteError(f"--token-file {token_file}: cannot read it ({exc.strerror})") from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise SiteError(
                f"--token-file {token_file}: others may read it (mode {stat.S_IMODE(mode):04o}); "
                f"run chmod 600 {token_file} and try again"
            )
        token = token_file.read_text(encoding="utf-8").strip()
    else:
        token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        where = f"--token-file {token_file} is empty" if token_file is not None else f"{TOKEN_ENV} is not set"
        raise SiteError(
            f"no site token: {where}; ask the site's admin for one (tg site token create) and put it "
            f"in {TOKEN_ENV} or a file with mode 0600 named by --token-file"
        )
    return token


@dataclass(frozen=True)
class PushResult:
    """One pushed file: ``uploaded`` (stored, arrival queued) or ``already_have``."""

    path: Path
    episode_id: str
    state: str
    bytes_sent: int


@dataclass(frozen=True)
class PullResult:
    """One pulled episode: ``downloaded`` or ``present`` (skipped: the same file was there)."""

    episode_id: str
    path: Path
    state: str


class SiteClient:
    """A site server at ``url`` with ``token``; ``verify``: False, True (the system's CAs) or an SSL context.

    >>> client = SiteClient("http://127.0.0.1:8470", "t0ken")  # doctest: +SKIP
    >>> client.push_file(Path("datasets/demo/01J....h5")).state  # doctest: +SKIP
    'uploaded'
    """

    def __init__(
        self, url: str, token: str, *, verify: bool | ssl.SSLContext = True, timeout_s: float = 60.0
    ) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token}"},
            verify=verify,
            timeout=httpx.Timeout(timeout_s, connect=10.0),
        )

    def __enter__(self) -> SiteClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request; a refusal becomes :class:`SiteClientError` with the server's message."""
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise SiteClientError(f"{self.url}: cannot reach the site ({type(exc).__name__}: {exc})") from exc
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            raise SiteClientError(f"{method} {path}: {response.status_code} {detail}", response.status_code)
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.request(method, path, **kwargs).json()

    # -- push ----------------------------------------------------------------------------------

    def announce(self, path: Path) -> UploadRequest:
        """What ``path`` is: id, raw digest, labels (from the file) and its SHA-256 and size."""
        try:
            with episodes.open(path) as reader:
                meta = reader.metadata
        except (episodes.EpisodeError, OSError) as exc:
            raise SiteError(f"{path}: not a readable episode ({exc}); nothing was pushed") from None
        if meta.content_digest is None:
            raise SiteError(f"{path}: the episode has no raw-content digest (still recording?); not pushed")
        return UploadRequest(
            meta.episode_id,
            meta.content_digest,
            file_sha256(path),
            path.stat().st_size,
            Labels(meta.instruction, meta.success),
        )

    def push_file(self, path: Path, on_progress: Progress | None = None) -> PushResult:
        """Send one episode file (resuming an upload begun before); skipped if the site has it."""
        request = self.announce(path)
        state = UploadState.from_json(self.json("POST", "/api/v1/uploads", json=request.to_json()))
        if state.state == "already_have":
            if on_progress is not None:
                on_progress(request.size)
            return PushResult(path, request.episode_id, "already_have", 0)
        if on_progress is not None and state.offset:
            on_progress(state.offset)
        sent = self._send(path, state, on_progress)
        done = CommitResult.from_json(self.json("POST", f"/api/v1/uploads/{state.upload_id}/commit"))
        return PushResult(path, done.episode_id, "uploaded" if done.state == "queued" else done.state, sent)

    def _send(self, path: Path, state: UploadState, on_progress: Progress | None) -> int:
        offset, sent, failures = state.offset, 0, 0
        with open(path, "rb") as f:
            while offset < state.size:
                f.seek(offset)
                chunk = f.read(CHUNK_BYTES)
                end = offset + len(chunk) - 1
                headers = {"Content-Range": f"bytes {offset}-{end}/{state.size}"}
                try:
                    answer = self._http.put(
                        f"/api/v1/uploads/{state.upload_id}", content=chunk, headers=headers
                    )
                except httpx.TransportError as exc:
                    failures += 1
                    if failures > _RETRIES:
                        raise SiteClientError(
                            f"{path}: the connection to {self.url} failed {failures} times ({exc}); "
                            "push again later: it resumes from what the site has"
                        ) from exc
                    time.sleep(min(0.2 * 2**failures, 5.0))
                    offset = self._offset(state.upload_id)
                    continue
                if answer.status_code == 409:  # another attempt moved the offset: ask
                    offset = self._offset(state.upload_id)
                    continue
                if answer.status_code >= 400:
                    self.request("GET", f"/api/v1/uploads/{state.upload_id}")  # raises with its message
                    raise SiteClientError(f"{path}: {answer.status_code} {answer.text}", answer.status_code)
                new = UploadState.from_json(answer.json()).offset
                if on_progress is not None:
                    on_progress(new - offset)
                sent += new - offset
                offset, failures = new, 0
        return sent

    def _offset(self, upload_id: str) -> int:
        return UploadState.from_json(self.json("GET", f"/api/v1/uploads/{upload_id}")).offset

    def push(self, paths: Iterable[Path], on_progress: Progress | None = None) -> list[PushResult]:
        return [self.push_file(p, on_progress) for p in paths]

    # -- pull ----------------------------------------------------------------------------------

    def manifest(
        self, *, selection: str | None = None, query: Mapping[str, Sequence[str]] | None = None
    ) -> list[ManifestEntry]:
        """The episodes (id, SHA-256, size) of a saved selection or of a query's filters."""
        if selection is not None:
            data = self.json("GET", f"/api/v1/selections/{selection}/manifest")
        else:
            data = self.json("GET", "/api/v1/manifest", params={k: list(v) for k, v in (query or {}).items()})
        return [ManifestEntry.from_json(e) for e in data["episodes"]]

    def pull(
        self, entries: Iterable[ManifestEntry], to: Path, on_progress: Progress | None = None
    ) -> list[PullResult]:
        """Download ``entries`` into ``to`` (``<id>.h5``), verified; files already there are kept."""
        to.mkdir(parents=True, exist_ok=True)
        return [self.pull_one(e, to, on_progress) for e in entries]

    def pull_one(self, entry: ManifestEntry, to: Path, on_progress: Progress | None = None) -> PullResult:
        target = to / f"{entry.episode_id}.h5"
        if target.exists() and target.stat().st_size == entry.size and file_sha256(target) == entry.sha256:
            if on_progress is not None:
                on_progress(entry.size)
            return PullResult(entry.episode_id, target, "present")
        work = to / f".{entry.episode_id}.h5.download"  # hidden: a dataset never lists it
        self._download(entry, work, on_progress)
        digest = file_sha256(work)
        if digest != entry.sha256:
            work.unlink()
            raise SiteClientError(
                f"episode {entry.episode_id}: the download has SHA-256 {digest}, the site announced "
                f"{entry.sha256}; nothing was kept, pull again"
            )
        os.replace(work, target)
        return PullResult(entry.episode_id, target, "downloaded")

    def _download(self, entry: ManifestEntry, work: Path, on_progress: Progress | None) -> None:
        failures = 0
        if work.exists() and on_progress is not None:
            on_progress(work.stat().st_size)  # an earlier pull's bytes, resumed with Range
        while (have := work.stat().st_size if work.exists() else 0) < entry.size:
            headers = {"Range": f"bytes={have}-"} if have else {}
            try:
                with self._http.stream(
                    "GET", f"/api/v1/episodes/{entry.episode_id}/file", headers=headers
                ) as r:
                    if r.status_code >= 400:
                        r.read()
                        raise SiteClientError(
                            f"episode {entry.episode_id}: download refused: {r.status_code} {r.text}",
                            r.status_code,
                        )
                    with open(work, "ab" if r.status_code == 206 else "wb") as f:
                        for block in r.iter_bytes(1 << 20):
                            f.write(block)
                            if on_progress is not None:
                                on_progress(len(block))
            except httpx.TransportError as exc:
                failures += 1
                if failures > _RETRIES:
                    raise SiteClientError(
                        f"episode {entry.episode_id}: download failed ({exc}); pull again"
                    ) from exc
                time.sleep(min(0.2 * 2**failures, 5.0))
