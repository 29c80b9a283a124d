"""A real site server for the tests: ``tg site serve`` as a process on 127.0.0.1, a free port, real tokens."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tg_site import Catalogue, Role, Store, TokenStore

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 120.0  # a loaded CI machine starts Python slowly


def make_tokens(store: Path) -> dict[str, str]:
    """One token per role (station tokens for st-01 and st-02) in the store's catalogue, by role name."""
    catalogue = Catalogue.open(Store(store))
    try:
        tokens = TokenStore(catalogue)
        made = {
            "station": tokens.create(Role.STATION, name="station-st-01", station="st-01")[0],
            "station2": tokens.create(Role.STATION, name="station-st-02", station="st-02")[0],
            "uploader": tokens.create(Role.UPLOADER, name="importer")[0],
            "reviewer": tokens.create(Role.REVIEWER, name="rita")[0],
            "reviewer2": tokens.create(Role.REVIEWER, name="rob")[0],
            "researcher": tokens.create(Role.RESEARCHER, name="res")[0],
            "admin": tokens.create(Role.ADMIN, name="root")[0],
        }
    finally:
        catalogue.close()
    return made


@dataclass
class SiteServer:
    """``tg site serve`` on ``store``; :meth:`start` waits for ``/readyz``."""

    store: Path
    options: tuple[str, ...] = ()
    process: subprocess.Popen[str] | None = None
    url: str = ""
    log: list[str] = field(default_factory=list)
    verify: bool | ssl.SSLContext = True
    """httpx's ``verify``: trusting the certificate of a server started with --tls-cert."""

    def start(self) -> SiteServer:
        command = [sys.executable, "-m", "training_ground", "site", "serve", "--store", str(self.store)]
        command += ["--port", "0", "--workers", "1", "--min-free", "0", *self.options]
        self.process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.url = self._read_url()
        threading.Thread(target=self._drain, daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2, verify=self.verify).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.kill()
        raise AssertionError(f"the site server did not get ready: {''.join(self.log)[-3000:]}")

    def _read_url(self) -> str:
        assert self.process is not None and self.process.stdout is not None
        found: list[str] = []
        reader = threading.Thread(target=lambda: found.append(self.process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(START_TIMEOUT_S)
        line = found[0] if found else ""
        if " at " not in line:
            self.kill()
            err = self.process.stderr.read() if self.process.stderr else ""
            raise AssertionError(f"tg site serve printed {line!r}; stderr: {err[-3000:]}")
        return line.rsplit(" at ", 1)[1].strip()

    def _drain(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        for line in self.process.stderr:
            self.log.append(line)

    def stop(self) -> None:
        """SIGTERM, as systemd stops it; SIGKILL if it does not end in time."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        """SIGKILL, as a crash or the OOM killer ends it (its arrival workers die with it)."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def client(self, token: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=30, verify=self.verify
        )


@pytest.fixture(scope="module")
def site_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    store = tmp_path_factory.mktemp("site") / "store"
    return store, make_tokens(store)


@pytest.fixture(scope="module")
def server(site_store: tuple[Path, dict[str, str]]) -> Iterator[SiteServer]:
    """One server per test module (tests in a module use their own episodes, so they do not interfere)."""
    # --executor local: the default, named so that the option's way into the server is run too.
    running = SiteServer(site_store[0], ("--max-upload", "20MB", "--executor", "local")).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def tokens(site_store: tuple[Path, dict[str, str]]) -> dict[str, str]:
    return site_store[1]


def wait_arrived(client: httpx.Client, episode_id: str, timeout_s: float = 120.0) -> dict[str, object]:
    """The episode's row once its arrival (QA, annotation) is catalogued."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        answer = client.get(f"/api/v1/episodes/{episode_id}")
        if answer.status_code == 200 and answer.json()["qa_passed"] is not None:
            row: dict[str, object] = answer.json()
            return row
        time.sleep(0.1)
    raise AssertionError(f"episode {episode_id} did not finish arriving in {timeout_s} s")
