"""The store: layout, ids checked before any path is made, durable commits, trash."""

from __future__ import annotations

import pytest

import episodes
from tg_site import EpisodeExistsInStoreError, InvalidEpisodeIdError, SiteError, Store

ID = "01J9Z8Q4W1ABCDEFGHJKMNPQRS"


def test_a_new_store_has_its_layout(tmp_path):
    store = Store(tmp_path / "site")
    for name in ("episodes", "incoming", "trash", "thumbs", "backups"):
        assert (tmp_path / "site" / name).is_dir()
    assert store.db_url == f"sqlite:///{tmp_path / 'site' / 'catalogue.sqlite'}"
    assert store.free_bytes() > 0
    assert list(store.iter_episodes()) == []


@pytest.mark.parametrize(
    "bad", ["../x", "01J9Z8Q4W1ABCDEFGHJKMNPQR/", "", "01j9z8q4w1abcdefghjkmnpqrs", ID + ".h5"]
)
def test_path_like_ids_are_refused(tmp_path, bad):
    store = Store(tmp_path)
    with pytest.raises(InvalidEpisodeIdError, match=r"is not an episode id \(a 26-character ULID"):
        store.episode_path(bad)
    with pytest.raises(InvalidEpisodeIdError, match="is not an episode id"):
        store.thumbnail_path(bad)


def test_upload_ids_cannot_leave_incoming(tmp_path):
    store = Store(tmp_path)
    assert store.incoming_path("abc-123").parent == store.incoming_dir
    with pytest.raises(InvalidEpisodeIdError, match=r"upload id '\.\./x' is not valid"):
        store.incoming_path("../x")


def test_commit_places_by_id_and_never_replaces(tmp_path):
    store = Store(tmp_path)
    staged = store.incoming_path("u1")
    staged.write_bytes(b"first")
    final = store.commit(staged, ID)
    assert final == store.episode_path(ID) == tmp_path / "episodes" / "01" / f"{ID}.h5"
    assert final.read_bytes() == b"first" and not staged.exists()
    again = store.incoming_path("u2")
    again.write_bytes(b"second")
    with pytest.raises(EpisodeExistsInStoreError, match=f"already holds episode {ID}; it is never replaced"):
        store.commit(again, ID)
    assert final.read_bytes() == b"first" and again.exists()


def test_iter_episodes_and_trash(tmp_path):
    store = Store(tmp_path)
    ids = sorted(episodes.new_episode_id() for _ in range(3))
    for episode_id in ids:
        staged = store.incoming_path(episode_id)
        staged.write_bytes(b"x")
        store.commit(staged, episode_id)
    (store.episodes_dir / ids[0][:2] / f".{ids[0]}.h5.journal").write_bytes(b"work file")
    assert [p.stem for p in store.iter_episodes()] == ids
    store.thumbnail_path(ids[1]).parent.mkdir(parents=True, exist_ok=True)
    store.thumbnail_path(ids[1]).write_bytes(b"jpeg")
    assert store.trash(ids[1]) == tmp_path / "trash" / f"{ids[1]}.h5"
    assert not store.thumbnail_path(ids[1]).exists()
    assert [p.stem for p in store.iter_episodes()] == [ids[0], ids[2]]
    with pytest.raises(SiteError, match=f"no episode {ids[1]} in the store"):
        store.trash(ids[1])
