"""Catalogue migrations: an older catalogue is backed up and upgraded, a newer one refused."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from tests.tg_site.site_episodes import make_episode
from tg_site import Catalogue, CatalogueTooNewError, EpisodeQuery, Role, Store, TokenStore, record_from_file
from tg_site._catalogue import create_sqlite_engine
from tg_site._migrate import head_revision, migrate
from tg_site._models import Base


def _at_revision_1(store: Store) -> None:
    engine = create_sqlite_engine(store.catalogue_path)
    migrate(engine, store, target="0001")
    engine.dispose()


def test_a_revision_1_catalogue_is_backed_up_and_migrated(tmp_path):
    store = Store(tmp_path / "site")
    _at_revision_1(store)
    record = record_from_file(make_episode(tmp_path / "d"))
    values = {k: v for k, v in record.to_json().items() if k != "trashed_at_ns"}  # revision 1 lacks it
    values.update(catalogued_at_ns=1, has_thumbnail=0, success=1)
    for key in ("qa_errors", "qa_warnings", "annotations", "cameras"):
        values[key] = json.dumps(values[key])
    with sqlite3.connect(store.catalogue_path) as db:
        db.execute(
            f"insert into episodes ({','.join(values)}) values ({','.join('?' * len(values))})",
            list(values.values()),
        )
        assert db.execute("select version_num from alembic_version").fetchone() == ("0001",)
        assert "audit_log" not in {r[0] for r in db.execute("select name from sqlite_master")}

    with Catalogue.open(store) as catalogue:
        assert catalogue.backup_made is not None and catalogue.backup_made.parent == store.backups_dir
        assert catalogue.get(record.episode_id) == record  # the row came through, trash mark empty
        assert len(catalogue.query(EpisodeQuery()).records) == 1
        catalogue.audit("admin", "migrated", None, {})  # revision 2's tables are there
        TokenStore(catalogue).create(Role.ADMIN, name="root")
        with catalogue.engine.connect() as connection:
            # The models and the migrations describe the same schema.
            assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    with sqlite3.connect(catalogue.backup_made) as db:
        assert db.execute("select version_num from alembic_version").fetchone() == ("0001",)
        assert db.execute("select episode_id from episodes").fetchall() == [(record.episode_id,)]
    with Catalogue.open(store) as again:
        assert again.backup_made is None  # nothing to migrate, no backup


def test_a_catalogue_newer_than_the_code_is_refused_untouched(tmp_path):
    store = Store(tmp_path)
    Catalogue.open(store).close()
    with sqlite3.connect(store.catalogue_path) as db:
        db.execute("update alembic_version set version_num = '0999'")
    before = store.catalogue_path.read_bytes()
    with pytest.raises(
        CatalogueTooNewError,
        match=rf"schema revision '0999', which this training-ground .* does not know \(its newest is "
        rf"'{head_revision()}'\): it was made by a newer version. Upgrade training-ground",
    ):
        Catalogue.open(store)
    assert store.catalogue_path.read_bytes() == before
    assert list(store.backups_dir.iterdir()) == []


def _open_and_add_token(root: str, name: str) -> str:
    with Catalogue.open(Store(Path(root))) as catalogue:
        return TokenStore(catalogue).create(Role.ADMIN, name=name)[1].name


def test_processes_opening_a_new_store_at_once_create_it_once(tmp_path):
    # Arrival workers and the server open the catalogue together on a first start. Forked:
    # spawned children would spend seconds importing what this process has imported already.
    context = multiprocessing.get_context("fork")
    with context.Pool(4) as pool:
        pending = [pool.apply_async(_open_and_add_token, (str(tmp_path), f"w{k}")) for k in range(4)]
        names = sorted(p.get(timeout=120) for p in pending)
    assert names == ["w0", "w1", "w2", "w3"]
    with sqlite3.connect(tmp_path / "catalogue.sqlite") as db:
        assert db.execute("select version_num from alembic_version").fetchall() == [(head_revision(),)]
        assert db.execute("select count(*) from tokens").fetchone() == (4,)
    assert list((tmp_path / "backups").iterdir()) == []  # created, never migrated from an older one
