"""reindex rebuilds episode rows from the files and reports drift (changed, uncatalogued, missing...)."""

from __future__ import annotations

import episodes
from tests.tg_site.site_stores import add_episode
from tg_site import Catalogue, EpisodeQuery, Role, Store, TokenStore
from tg_site._reindex import DriftReport, ReindexOptions, reindex


def test_reindex_reports_drift_then_finds_none(tmp_path):
    store = Store(tmp_path / "site")
    with Catalogue.open(store) as catalogue:
        token, _ = TokenStore(catalogue).create(Role.ADMIN, name="root")
        ids = [add_episode(store, catalogue, tmp_path, seed=k) for k in range(4)]
        assert reindex(store, catalogue).clean
        # A file changed behind the catalogue's back (a review written to the file only).
        episodes.set_review(
            store.episode_path(ids[0]), episodes.ReviewState("approved", reviewer="ana", at_ns=9)
        )
        # A file without a row, a row without a file, a trashed episode, a file that is not an episode.
        added = add_episode(store, None, tmp_path, seed=10)
        store.episode_path(ids[1]).unlink()
        store.trash(ids[2])
        catalogue.mark_trashed(ids[2])
        junk = store.episode_path(episodes.new_episode_id())
        junk.parent.mkdir(parents=True, exist_ok=True)
        junk.write_bytes(b"not an episode")

        report = reindex(store, catalogue)
        assert report.changed == (ids[0],)
        assert {"review_state", "reviewer", "reviewed_at_ns", "file_sha256"} <= set(report.details[ids[0]])
        assert (report.uncatalogued, report.missing) == ((added,), (ids[1],))
        assert [path for path, _ in report.unreadable] == [str(junk)]
        assert (
            "not a readable HDF5 file" in report.unreadable[0][1]
            or "not an episode" in report.unreadable[0][1]
        )
        assert report.scanned == 4 and not report.clean
        assert DriftReport.from_json(report.to_json()) == report

        assert catalogue.get(ids[0]).review_state == "approved"  # rebuilt from the file
        assert catalogue.get(ids[1]) is None and catalogue.get(added) is not None
        assert catalogue.get(ids[2]).trashed_at_ns is not None  # kept while in the trash
        listed = {r.episode_id for r in catalogue.iter_query(EpisodeQuery())}
        assert listed == {ids[0], ids[3], added}
        TokenStore(catalogue).verify(token)  # tokens are not the index's: untouched

        junk.unlink()
        again = reindex(store, catalogue, ReindexOptions(verify_hashes=True))
        assert again.clean and again.scanned == 3
