"""In-process `tg` runs print as into a pipe (full width), whatever the test worker's
environment was when the CLI's consoles were made at import."""

from __future__ import annotations

import pytest

from training_ground.cli import _console


@pytest.fixture(autouse=True)
def _piped_width(monkeypatch: pytest.MonkeyPatch) -> None:
    for console in (_console.console, _console.err_console):
        monkeypatch.setattr(console, "width", _console._PIPED_WIDTH)
    return
