"""episodes' facade: every name resolves, and a process that only reads episodes stays light."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys

import episodes


def _type_checking_imports() -> dict[str, tuple[str, ...]]:
    tree = ast.parse(inspect.getsource(episodes))
    block = next(n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING")
    return {
        f"{node.module}": tuple(alias.name for alias in node.names)
        for node in block.body
        if isinstance(node, ast.ImportFrom)
    }


def test_the_lazy_table_and_what_type_checkers_see_agree():
    assert _type_checking_imports() == episodes._LAZY
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
