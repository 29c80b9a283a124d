"""TLS, rate limits, the site's time zone, a station's status, a bad option, and a store whose disk fills."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import episodes
from tests.tg_site.conftest import SiteServer, make_tokens, wait_arrived
from tests.tg_site.site_episodes import make_episode
from tg_site import Catalogue, Role, Store, TokenStore
from tg_site._client import SiteClient, SiteClientError


def _self_signed(directory: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: no certificate to serve TLS with")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, stdin=subprocess.DEVNULL, timeout=60,
    )  # fmt: skip
    return cert, key


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SiteServer, dict[str, str]]]:
    """HTTPS with a self-signed certificate, 20 requests a minute per token, 2 sign-ins, Shanghai's days."""
    root = tmp_path_factory.mktemp("tls")
    cert, key = _self_signed(root)
    tokens = make_tokens(root / "store")
    options = ("--tls-cert", str(cert), "--tls-key", str(key), "--requests-per-minute", "20")
    options += ("--logins-per-minute", "2", "--time-zone", "Asia/Shanghai")
    server = SiteServer(root / "store", options, verify=ssl.create_default_context(cafile=cert)).start()
    try:
        yield server, tokens
    finally:
        server.stop()


def test_tls_push_daily_figures_and_station_status(tls_server, tmp_path: Path) -> None:
    server, tokens = tls_server
    assert server.url.startswith("https://127.0.0.1:")
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{server.url}/healthz")  # a client that does not trust the certificate
    path = make_episode(tmp_path / "eps", seed=1)
    with SiteClient(server.url, tokens["station"], verify=server.verify) as client:
        assert client.push_file(path).state == "uploaded"
        status = client.json("GET", "/api/v1/stations/st-01")
        with pytest.raises(SiteClientError, match="403 this token belongs to station 'st-01'"):
            client.json("GET", "/api/v1/stations/st-02")
    assert status["episodes"] == 1 and status["newest"]["episode_id"] == path.stem
    with server.client(tokens["reviewer"]) as http:
        wait_arrived(http, path.stem)
        daily = http.get("/api/v1/stats/daily", params={"days": 2}).json()
    assert daily["time_zone"] == "Asia/Shanghai" and [d["episodes"] for d in daily["days"]] == [0, 1]


def test_requests_past_the_rate_are_429(tls_server) -> None:
    server, _ = tls_server
    catalogue = Catalogue.open(Store(server.store))
    try:
        token = TokenStore(catalogue).create(Role.RESEARCHER, name="busy")[0]
    finally:
        catalogue.close()
    with server.client(token) as http:
        answers = [http.get("/api/v1/tasks").status_code for _ in range(21)]
        assert answers == [200] * 20 + [429]
        assert "more than 20 requests a minute" in http.get("/api/v1/tasks").json()["detail"]
        logins = [http.post("/api/v1/login", json={"token": "tgs_nope"}).status_code for _ in range(3)]
    assert logins == [401, 401, 429]


def test_a_bad_time_zone_is_refused_at_start(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "training_ground", "site", "serve", "--store", str(tmp_path),
         "--time-zone", "Mars/Base"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1 and "--time-zone 'Mars/Base' is not a time zone name" in done.stderr


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 6 MB tmpfs (needs root; skipped otherwise)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount)],
        capture_output=True, stdin=subprocess.DEVNULL, timeout=30,
    )  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(
            ["umount", "-l", str(mount)], capture_output=True, stdin=subprocess.DEVNULL, timeout=30
        )


def test_a_store_whose_disk_fills_refuses_with_507(small_disk: Path, tmp_path: Path) -> None:
    store = small_disk / "store"
    tokens = make_tokens(store)
    first = make_episode(tmp_path / "eps", seed=1)
    second = make_episode(tmp_path / "eps", seed=2, seconds=2.0)
    server = SiteServer(store).start()
    try:
        with SiteClient(server.url, tokens["station"]) as client:
            assert client.push_file(first).state == "uploaded"
            with server.client(tokens["reviewer"]) as http:
                wait_arrived(http, first.stem)  # its checks write into it: before the disk is full
            free = shutil.disk_usage(small_disk).free
            (small_disk / "filler").write_bytes(b"\0" * (free - second.stat().st_size // 2))
            with pytest.raises(SiteClientError, match=rf"507 the store {store} has \d+ bytes free"):
                client.push_file(second)
    finally:
        server.stop()
    stored = store / "episodes" / first.stem[:2] / first.name
    assert episodes.content_digest(stored) == episodes.content_digest(first)
    assert not (store / "episodes" / second.stem[:2] / second.name).exists()
    assert not list((store / "incoming").glob("*.part"))


def test_the_trash_and_abandoned_uploads_are_purged_after_trash_days(tmp_path: Path) -> None:
    store = tmp_path / "store"
    tokens = make_tokens(store)
    path = make_episode(tmp_path / "eps", seed=3)
    server = SiteServer(store, ("--trash-days", "0")).start()
    try:
        with SiteClient(server.url, tokens["station"]) as client:
            client.push_file(path)
        with server.client(tokens["admin"]) as admin:
            wait_arrived(admin, path.stem)
            assert admin.delete(f"/api/v1/episodes/{path.stem}").status_code == 200
    finally:
        server.stop()
    assert (store / "trash" / path.name).exists()
    abandoned = store / "incoming" / "01J9Z8Q4W1ABCDEFGHJKMNPQRS-0123.part"
    abandoned.write_bytes(b"half an episode")
    server = SiteServer(store, ("--trash-days", "0")).start()  # purges as it starts
    try:
        with server.client(tokens["admin"]) as admin:
            entries = admin.get(f"/api/v1/episodes/{path.stem}/audit").json()["entries"]
    finally:
        server.stop()
    assert [e["action"] for e in entries][-2:] == ["delete", "purge"]
    assert not (store / "trash" / path.name).exists() and not abandoned.exists()
    with Catalogue.open(Store(store)) as catalogue:
        assert catalogue.get(path.stem) is None
