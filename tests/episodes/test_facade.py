"""episodes' facade: every name resolves, and a process that only reads episodes stays light."""

from __future__ import annotations

import subprocess
import sys

import episodes
from tests.facades import type_checking_imports


def test_the_lazy_table_and_what_type_checkers_see_agree():
    assert type_checking_imports(episodes) == episodes._LAZY
    lazy = {n for names in episodes._LAZY.values() for n in names}
    assert lazy <= set(episodes.__all__)
    for name in episodes.__all__:
        assert getattr(episodes, name) is not None


def test_reading_and_loading_import_neither_pyarrow_nor_pyav():
    code = (
        "import sys, episodes\n"
        "from episodes import EpisodeDataset, validate_episodes\n"
        "print(sorted(m for m in ('pyarrow', 'av') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        stdin=subprocess.DEVNULL,
    )
    assert done.stdout.strip() == "[]"
