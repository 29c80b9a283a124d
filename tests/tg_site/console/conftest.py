"""The console tests' server: the site tests' one, allowing the many sign-ins a test module makes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.tg_site.conftest import SiteServer


@pytest.fixture(scope="module")
def server(site_store: tuple[Path, dict[str, str]]) -> Iterator[SiteServer]:
    running = SiteServer(site_store[0], ("--max-upload", "20MB", "--logins-per-minute", "1000")).start()
    try:
        yield running
    finally:
        running.stop()
