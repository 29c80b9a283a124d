"""backup: a consistent catalogue copy plus an incremental file copy, from which a site starts as it was."""

from __future__ import annotations

import dataclasses
import os

import pytest

from tests.tg_site.site_stores import add_episode
from tg_site import Catalogue, EpisodeQuery, Role, SiteError, Store, TaskSpec, TokenStore
from tg_site._backup import BackupReport, backup
from tg_site._reindex import reindex


def _snapshot(catalogue: Catalogue) -> tuple:
    return (
        [r.to_json() for r in catalogue.iter_query(EpisodeQuery(include_trashed=True))],
        [t.to_json() for t in TokenStore(catalogue).list()],
        [t.to_json() for t in catalogue.list_tasks()],
        [e.to_json() for e in catalogue.audit_log()],
    )


def test_backup_restores_the_same_catalogue_and_copies_incrementally(tmp_path):
    store = Store(tmp_path / "site")
    dest = tmp_path / "backup"
    with Catalogue.open(store) as catalogue:
        token, _ = TokenStore(catalogue).create(Role.REVIEWER, name="ana")
        catalogue.create_task(TaskSpec("叠毛巾", target_hours=2.0))
        ids = [add_episode(store, catalogue, tmp_path, seed=k) for k in range(3)]
        store.thumbnail_path(ids[0]).parent.mkdir(parents=True, exist_ok=True)
        store.thumbnail_path(ids[0]).write_bytes(b"jpeg")
        catalogue.upsert(dataclasses.replace(catalogue.get(ids[0]), has_thumbnail=True))
        catalogue.audit("ana", "review", ids[0], {"state": "approved"})
        report = backup(store.root, dest)
        assert (report.copied, report.unchanged, report.removed) == (4, 0, 0)
        assert report.bytes_copied == sum(store.episode_path(i).stat().st_size for i in ids) + 4
        expected = _snapshot(catalogue)

        with Catalogue.open(Store(dest)) as restored:
            assert _snapshot(restored) == expected
            assert TokenStore(restored).verify(token).name == "ana"
            drift = reindex(Store(dest), restored)
            assert drift.clean, drift
        assert BackupReport.from_json(report.to_json()) == report

        # Incremental: nothing changed, nothing copied; then one added, one deleted.
        again = backup(store.root, dest)
        assert (again.copied, again.unchanged, again.removed) == (0, 4, 0)
        added = add_episode(store, catalogue, tmp_path, seed=9)
        os.unlink(store.episode_path(ids[1]))
        catalogue.delete(ids[1])
        third = backup(store.root, dest)
        assert (third.copied, third.unchanged, third.removed) == (1, 3, 1)
        assert Store(dest).episode_path(added).read_bytes() == store.episode_path(added).read_bytes()
        assert not Store(dest).episode_path(ids[1]).exists()
        with Catalogue.open(Store(dest)) as restored:
            assert reindex(Store(dest), restored).clean


def test_backup_refuses_what_is_not_a_store(tmp_path):
    with pytest.raises(SiteError, match=r"no catalogue \(catalogue.sqlite\) there, so not a site store"):
        backup(tmp_path / "nothing", tmp_path / "b")
    store = Store(tmp_path / "site")
    Catalogue.open(store).close()
    with pytest.raises(SiteError, match="the backup must go somewhere other than the store itself"):
        backup(store.root, store.root)
