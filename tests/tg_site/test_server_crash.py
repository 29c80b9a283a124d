"""SIGKILL of the server during uploads and arrival: nothing half-stored, uploads resume, arrivals redone."""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

import episodes
from tests.processes import descendants, wait_gone
from tests.tg_site.conftest import SiteServer, make_tokens, wait_arrived
from tests.tg_site.site_episodes import make_episode
from tg_site import Catalogue, ReindexOptions, Store, reindex
from tg_site._client import SiteClient
from tg_site._messages import UploadRequest


@pytest.fixture
def store(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    return tmp_path / "store", make_tokens(tmp_path / "store")


def _final_files(store: Path) -> list[Path]:
    return sorted((store / "episodes").rglob("*.h5"))


def _every_final_file_is_whole(store: Path) -> None:
    for path in _final_files(store):
        with episodes.open(path) as reader:
            assert reader.metadata.status == "complete"


def test_killed_during_an_upload_it_resumes_after_restart(store, tmp_path: Path) -> None:
    root, tokens = store
    path = make_episode(tmp_path / "eps", seconds=3.0, seed=1)
    data = path.read_bytes()
    with episodes.open(path) as reader:
        digest = reader.metadata.content_digest
    assert digest is not None
    request = UploadRequest(path.stem, digest, hashlib.sha256(data).hexdigest(), len(data))
    server = SiteServer(root).start()
    first_part = threading.Event()

    def body() -> Iterator[bytes]:
        yield data[: len(data) // 2]
        first_part.set()
        time.sleep(30)  # the server dies meanwhile
        yield data[len(data) // 2 :]

    with server.client(tokens["station"]) as http:
        upload_id = http.post("/api/v1/uploads", json=request.to_json()).json()["upload_id"]
        headers = {"Content-Range": f"bytes 0-{len(data) - 1}/{len(data)}"}
        sender = threading.Thread(
            target=lambda: _swallow(
                lambda: http.put(f"/api/v1/uploads/{upload_id}", content=body(), headers=headers)
            ),
            daemon=True,
        )
        sender.start()
        assert first_part.wait(30)
        time.sleep(0.5)
        workers = descendants(server.process.pid)  # type: ignore[union-attr]
        server.kill()
    assert wait_gone(workers, 30) == set(), "arrival workers outlived the killed server"
    assert _final_files(root) == []
    server = SiteServer(root).start()
    try:
        with SiteClient(server.url, tokens["station"]) as client:
            offset = client.json("GET", f"/api/v1/uploads/{upload_id}")["offset"]
            assert 0 <= offset <= len(data) // 2
            result = client.push_file(path)
        assert (result.state, result.bytes_sent) == ("uploaded", len(data) - offset)
        stored = root / "episodes" / path.stem[:2] / path.name
        assert hashlib.sha256(stored.read_bytes()).hexdigest() == request.sha256
        with server.client(tokens["reviewer"]) as http:
            wait_arrived(http, path.stem)
    finally:
        server.stop()
    _no_drift(root)


def _no_drift(root: Path) -> None:
    with Catalogue.open(Store(root)) as catalogue:
        report = reindex(Store(root), catalogue, ReindexOptions(verify_hashes=True))
    assert report.clean, report.to_json()


def _swallow(send: Callable[[], object]) -> None:
    with contextlib.suppress(httpx.HTTPError):  # the server was killed under it
        send()


def test_killed_during_arrival_the_arrival_is_redone(store, tmp_path: Path) -> None:
    root, tokens = store
    made = [make_episode(tmp_path / "eps", seed=s) for s in range(3)]
    server = SiteServer(root).start()
    with SiteClient(server.url, tokens["station"]) as client:
        pushed = [client.push_file(p).episode_id for p in made]
    markers = {p.name for p in (root / "incoming" / "arrivals").iterdir()}
    workers = descendants(server.process.pid)  # type: ignore[union-attr]
    server.kill()  # the first arrival's worker is still starting: none finished
    assert markers, "every arrival finished before the kill: the test did not cut one short"
    assert wait_gone(workers, 30) == set()
    _every_final_file_is_whole(root)
    assert not list((root / "incoming").glob("*.part"))
    server = SiteServer(root).start()
    try:
        with server.client(tokens["reviewer"]) as http:
            rows = [wait_arrived(http, episode_id) for episode_id in pushed]
    finally:
        server.stop()
    assert all(r["annotations"]["annotated"] for r in rows)  # type: ignore[index]
    assert list((root / "incoming" / "arrivals").iterdir()) == []
    _no_drift(root)
    with Catalogue.open(Store(root)) as catalogue:
        for episode_id in pushed:
            record = catalogue.get(episode_id)
            assert record is not None
            path = root / "episodes" / episode_id[:2] / f"{episode_id}.h5"
            assert record.file_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
