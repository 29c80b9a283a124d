"""The upload protocol against a real server: push, skip, resume, and every bad input refused cleanly."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

import episodes
from tests.tg_site.conftest import SiteServer, wait_arrived
from tests.tg_site.site_episodes import make_episode
from tg_site._client import SiteClient, SiteClientError
from tg_site._messages import UploadRequest


def _announce(path: Path) -> UploadRequest:
    with episodes.open(path) as reader:
        meta = reader.metadata
    data = path.read_bytes()
    assert meta.content_digest is not None
    return UploadRequest(meta.episode_id, meta.content_digest, hashlib.sha256(data).hexdigest(), len(data))


def _stored(store: Path) -> list[str]:
    return sorted(p.name for p in (store / "episodes").rglob("*.h5"))


def test_push_stores_checks_and_catalogues_then_skips(server: SiteServer, tokens, tmp_path: Path) -> None:
    path = make_episode(tmp_path / "eps", seed=1)
    with SiteClient(server.url, tokens["station"]) as client:
        first = client.push_file(path)
        again = client.push_file(path)
    assert (first.state, first.bytes_sent) == ("uploaded", path.stat().st_size)
    assert (again.state, again.bytes_sent) == ("already_have", 0)
    with server.client(tokens["reviewer"]) as http:
        row = wait_arrived(http, first.episode_id)
        assert row["station"] == "st-01" and row["raw_digest"] == _announce(path).raw_digest
        assert row["annotations"]["annotated"] is True  # type: ignore[index]
        assert (
            http.get(f"/api/v1/episodes/{first.episode_id}/thumbnail").headers["content-type"] == "image/jpeg"
        )
        audit = [
            e["action"] for e in http.get(f"/api/v1/episodes/{first.episode_id}/audit").json()["entries"]
        ]
    assert audit == ["upload", "arrival"]  # the second push, with the same labels, changed nothing
    assert not list((server.store / "incoming").glob("*.part"))


def test_a_dropped_upload_resumes_from_the_acknowledged_offset(
    server: SiteServer, tokens, tmp_path: Path
) -> None:
    path = make_episode(tmp_path / "eps", seed=2)
    request = _announce(path)
    data = path.read_bytes()
    with server.client(tokens["station"]) as http:
        state = http.post("/api/v1/uploads", json=request.to_json()).json()
        half = len(data) // 2
        put = http.put(
            f"/api/v1/uploads/{state['upload_id']}",
            content=data[:half],
            headers={"Content-Range": f"bytes 0-{len(data) - 1}/{len(data)}"},
        )
        assert put.status_code == 200 and put.json()["offset"] == half  # the body ended early: kept
        early = http.post(f"/api/v1/uploads/{state['upload_id']}/commit")
        assert early.status_code == 400 and f"{half} of {len(data)} bytes arrived" in early.json()["detail"]
        stale = http.put(
            f"/api/v1/uploads/{state['upload_id']}",
            content=b"x",
            headers={"Content-Range": f"bytes 0-0/{len(data)}"},
        )
        assert stale.status_code == 409 and f"the site has {half}" in stale.json()["detail"]
        assert http.head(f"/api/v1/uploads/{state['upload_id']}").headers["upload-offset"] == str(half)
    with SiteClient(server.url, tokens["station"]) as client:
        result = client.push_file(path)  # the same upload id: goes on from the offset
    assert (result.state, result.bytes_sent) == ("uploaded", len(data) - half)


def _upload(http: httpx.Client, request: UploadRequest, data: bytes) -> httpx.Response:
    state = http.post("/api/v1/uploads", json=request.to_json())
    assert state.status_code == 200, state.text
    upload_id = state.json()["upload_id"]
    put = http.put(
        f"/api/v1/uploads/{upload_id}",
        content=data,
        headers={"Content-Range": f"bytes 0-{len(data) - 1}/{len(data)}"},
    )
    assert put.status_code == 200, put.text
    return http.post(f"/api/v1/uploads/{upload_id}/commit")


def test_bad_uploads_are_refused_and_nothing_is_stored(server: SiteServer, tokens, tmp_path: Path) -> None:
    path = make_episode(tmp_path / "eps", seed=3)
    good = _announce(path)
    data = path.read_bytes()
    before = _stored(server.store)
    with server.client(tokens["station"]) as http:
        junk = os.urandom(5000)
        not_episode = _upload(
            http,
            UploadRequest(good.episode_id, good.raw_digest, hashlib.sha256(junk).hexdigest(), 5000),
            junk,
        )
        assert not_episode.status_code == 400 and "not a readable episode" in not_episode.json()["detail"]
        wrong = _upload(http, UploadRequest(good.episode_id, good.raw_digest, "0" * 64, len(data)), data)
        assert wrong.status_code == 400 and "not the announced" in wrong.json()["detail"]
        path_like = http.post("/api/v1/uploads", json={**good.to_json(), "episode_id": "../x"})
        assert path_like.status_code == 400 and "'../x' is not an episode id" in path_like.json()["detail"]
        huge = http.post("/api/v1/uploads", json={**good.to_json(), "size": 21_000_000})
        assert huge.status_code == 413 and "upload limit of 20000000 bytes" in huge.json()["detail"]
        malformed = http.post("/api/v1/uploads", json={**good.to_json(), "sha256": "xyz"})
        assert malformed.status_code == 422 and "64 lowercase hex digits" in malformed.json()["detail"]
    with server.client(tokens["station2"]) as other:
        mismatch = _upload(other, good, data)
        assert mismatch.status_code == 403 and "recorded at station 'st-01'" in mismatch.json()["detail"]
    with server.client(tokens["reviewer"]) as reviewer:
        refused = reviewer.post("/api/v1/uploads", json=good.to_json())
        assert refused.status_code == 403 and "a reviewer token may not do this" in refused.json()["detail"]
        missing = reviewer.get("/api/v1/episodes/01J9Z8Q4W1ABCDEFGHJKMNPQRS")
        assert missing.status_code == 404 and "not in this site's catalogue" in missing.json()["detail"]
    assert _stored(server.store) == before
    assert not list((server.store / "incoming").glob("*.part"))


def test_an_id_stored_with_other_content_is_a_conflict(server: SiteServer, tokens, tmp_path: Path) -> None:
    path = make_episode(tmp_path / "eps", seed=4)
    with SiteClient(server.url, tokens["station"]) as client:
        client.push_file(path)
        other = _announce(path)
        changed = UploadRequest(other.episode_id, "f" * 64, other.sha256, other.size)
        with pytest.raises(SiteClientError, match=r"409 .*holds it with raw digest .*both copies are kept"):
            client.json("POST", "/api/v1/uploads", json=changed.to_json())


@pytest.mark.parametrize(
    ("which", "message"),
    [
        ("forged", "unknown token"),
        ("revoked", "was revoked"),
        ("expired", "has expired"),
        ("none", "needs a token"),
    ],
)
def test_tokens_that_are_not_valid_get_401(server: SiteServer, tokens, which: str, message: str) -> None:
    from tg_site import Catalogue, Role, Store, TokenStore

    catalogue = Catalogue.open(Store(server.store))
    try:
        store = TokenStore(catalogue)
        if which == "revoked":
            token = store.create(Role.STATION, name="gone", station="st-01")[0]
            store.revoke("gone")
        elif which == "expired":
            token = store.create(Role.STATION, name="old", station="st-01", ttl_days=1e-9)[0]
        else:
            token = tokens["station"][:-4] + "AAAA" if which == "forged" else ""
    finally:
        catalogue.close()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answer = httpx.get(f"{server.url}/api/v1/uploads/x", headers=headers)
    assert answer.status_code == 401 and message in answer.json()["detail"]
    assert httpx.get(f"{server.url}/healthz").status_code == 200  # health needs no token


def test_newer_labels_are_merged_into_the_sites_copy_and_audited(
    server: SiteServer, tokens, tmp_path: Path
) -> None:
    path = make_episode(tmp_path / "eps", seed=5)
    with SiteClient(server.url, tokens["station"]) as client:
        pushed = client.push_file(path)
        with server.client(tokens["reviewer"]) as http:
            wait_arrived(http, pushed.episode_id)
        episodes.set_labels(path, instruction="把红色方块放进蓝色盒子", success=False)
        assert client.push_file(path).state == "already_have"
    with server.client(tokens["reviewer"]) as http:
        row = http.get(f"/api/v1/episodes/{pushed.episode_id}").json()
        entries = http.get(f"/api/v1/episodes/{pushed.episode_id}/audit").json()["entries"]
    assert (row["instruction"], row["success"]) == ("把红色方块放进蓝色盒子", False)
    merge = next(e for e in entries if e["action"] == "labels.merge")
    assert merge["detail"]["after"]["instruction"] == "把红色方块放进蓝色盒子"
    with episodes.open(
        server.store / "episodes" / pushed.episode_id[:2] / f"{pushed.episode_id}.h5"
    ) as reader:
        assert reader.metadata.instruction == "把红色方块放进蓝色盒子"


_PUSHER = """
import sys
from pathlib import Path
from tg_site._client import SiteClient
with SiteClient(sys.argv[1], sys.argv[2]) as client:
    for name in sys.argv[3:]:
        print(client.push_file(Path(name)).state)
"""


def test_several_uploaders_at_once(server: SiteServer, tokens, tmp_path: Path) -> None:
    made = [make_episode(tmp_path / f"eps{i}", seed=10 + i, seconds=1.0) for i in range(6)]
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", _PUSHER, server.url, tokens["station"], *map(str, made[i::3])],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(3)
    ]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert all(run.returncode == 0 for run in runs), outputs
    assert sorted(line for out, _ in outputs for line in out.split()) == ["uploaded"] * 6
    stored = set(_stored(server.store))
    assert {p.name for p in made} <= stored


def test_a_full_disk_is_507_naming_the_store(tokens, site_store, tmp_path: Path) -> None:
    store = tmp_path / "full"
    shutil.copytree(site_store[0], store, ignore=shutil.ignore_patterns("episodes", "incoming", "thumbs"))
    path = make_episode(tmp_path / "eps", seed=6)
    server = SiteServer(store, ("--min-free", "1000TB")).start()
    try:
        with (
            SiteClient(server.url, tokens["station"]) as client,
            pytest.raises(SiteClientError, match=rf"507 the store {store} has \d+ bytes free"),
        ):
            client.push_file(path)
    finally:
        server.stop()
    assert _stored(store) == []
