"""tg_site's facade: every name resolves, and importing it (as every `tg` command does) stays light."""

from __future__ import annotations

import subprocess
import sys

import pytest

import tg_site
from tests.facades import type_checking_imports


def test_the_lazy_table_and_what_type_checkers_see_agree_and_cover_all():
    assert type_checking_imports(tg_site) == tg_site._LAZY
    assert {n for names in tg_site._LAZY.values() for n in names} | {"SiteError"} == set(tg_site.__all__)
    for name in tg_site.__all__:
        assert getattr(tg_site, name) is not None


def test_the_cli_imports_neither_the_catalogue_nor_the_server():
    code = (
        "import sys, training_ground.cli\n"
        "print(sorted(m for m in ('sqlalchemy', 'alembic', 'fastapi', 'uvicorn') if m in sys.modules))"
    )
    command = [sys.executable, "-c", code]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=60, check=True, stdin=subprocess.DEVNULL
    )
    assert done.stdout.strip() == "[]"


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="module 'tg_site' has no attribute 'NoSuchThing'"):
        tg_site.NoSuchThing  # noqa: B018
