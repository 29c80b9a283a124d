"""`tg site token create|revoke|list`, `tg site reindex`, `tg site backup` on a real store."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from tests.tg_site.site_stores import add_episode
from tests.training_ground.test_cli import tg_env
from tg_site import Catalogue, SiteError, Store, TokenError, TokenStore
from training_ground.cli import app

runner = CliRunner()
_IMPORTER = ("--role", "uploader", "--name", "importer", "--ttl-days", "30")


def test_token_create_prints_it_once_then_list_and_revoke(tmp_path):
    store = tmp_path / "site"
    Catalogue.open(Store(store)).close()
    made = runner.invoke(
        app, ["site", "token", "create", "--store", str(store), "--role", "station", "--station", "st-03"]
    )
    assert made.exit_code == 0, made.output
    token = made.stdout.strip().splitlines()[-1]
    assert token.startswith("tgs_")
    assert "station token 'station-st-03'" in made.stderr and "shown once" in made.stderr
    with Catalogue.open(Store(store)) as catalogue:
        assert TokenStore(catalogue).verify(token).station == "st-03"
    listed = runner.invoke(app, ["site", "token", "list", "--store", str(store)])
    assert listed.exit_code == 0 and "station-st-03" in listed.stdout and "active" in listed.stdout
    assert token.split("_", 2)[2] not in listed.stdout  # the secret
    revoked = runner.invoke(app, ["site", "token", "revoke", "--store", str(store), "station-st-03"])
    assert revoked.exit_code == 0 and "revoked station token 'station-st-03'" in revoked.stdout
    with Catalogue.open(Store(store)) as catalogue, pytest.raises(TokenError, match="was revoked"):
        TokenStore(catalogue).verify(token)
    refused = runner.invoke(app, ["site", "token", "create", "--store", str(store), "--role", "admin"])
    assert refused.exit_code == 2 and "admin tokens need a --name: who or what holds it" in refused.stderr


def test_reindex_and_backup(tmp_path):
    store = Store(tmp_path / "site")
    with Catalogue.open(store) as catalogue:
        kept = add_episode(store, catalogue, tmp_path, seed=1)
    added = add_episode(store, None, tmp_path, seed=2)
    result = runner.invoke(app, ["site", "reindex", "--store", str(store.root)])
    assert result.exit_code == 0, result.output
    assert (
        "reindexed 2 episodes" in result.stdout
        and f"file without a row (added): 1\n  {added}" in result.stdout
    )
    again = runner.invoke(app, ["site", "reindex", "--store", str(store.root), "--verify-hashes"])
    assert "no drift: the catalogue matched the files" in again.stdout
    dest = tmp_path / "backup"
    backed = runner.invoke(app, ["site", "backup", str(dest), "--store", str(store.root)])
    assert backed.exit_code == 0, backed.output
    assert "2 files copied" in backed.stdout
    assert Store(dest).episode_path(kept).exists()


def test_a_directory_that_is_not_a_store_is_named(tmp_path):
    result = runner.invoke(app, ["site", "token", "list", "--store", str(tmp_path / "nothing")])
    assert isinstance(result.exception, SiteError)
    assert "no site store there (no catalogue.sqlite); start one with: tg site serve" in str(result.exception)


def test_tg_site_token_create_pipes_only_the_token(tmp_path):
    store = tmp_path / "site"
    Catalogue.open(Store(store)).close()
    made = subprocess.run(
        [
            sys.executable,
            "-m",
            "training_ground",
            "site",
            "token",
            "create",
            "--store",
            str(store),
            *_IMPORTER,
        ],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=tg_env(),
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("tgs_") and "\n" not in token
    assert "uploader token 'importer'" in made.stderr and "expires" in made.stderr
    with Catalogue.open(Store(store)) as catalogue:
        assert TokenStore(catalogue).verify(token).name == "importer"
