"""The train/validation split by episode id, kept in <dataset>/splits.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import episodes
from episodes import DatasetError


def _ids(n: int) -> list[str]:
    return [episodes.new_episode_id() for _ in range(n)]


def test_split_depends_only_on_the_id_and_fraction() -> None:
    ids = _ids(2000)
    first = [episodes.split_of(i, 0.1) for i in ids]
    assert first == [episodes.split_of(i, 0.1) for i in ids]
    share = first.count("valid") / len(ids)
    assert 0.07 < share < 0.13
    assert all(episodes.split_of(i, 0.0) == "train" for i in ids)
    # A larger fraction only moves episodes into valid, never out of it.
    wider = [episodes.split_of(i, 0.3) for i in ids]
    assert all(w == "valid" for f, w in zip(first, wider, strict=True) if f == "valid")


def test_file_records_a_disjoint_complete_split_and_round_trips(tmp_path: Path) -> None:
    ids = _ids(50)
    splits = episodes.update_splits(tmp_path, ids, valid_fraction=0.2)
    assert splits.train | splits.valid == set(ids) and not splits.train & splits.valid
    assert splits.valid == {i for i in ids if episodes.split_of(i, 0.2) == "valid"}
    payload = json.loads((tmp_path / episodes.SPLITS_FILE).read_text())
    assert payload["method"] == "sha256-episode-id" and payload["valid_fraction"] == 0.2
    assert set(payload["splits"]["valid"]) == splits.valid
    assert episodes.load_splits(tmp_path) == splits


def test_adding_episodes_never_moves_existing_ones(tmp_path: Path) -> None:
    old = _ids(40)
    before = episodes.update_splits(tmp_path, old, valid_fraction=0.25)
    after = episodes.update_splits(tmp_path, old + _ids(40))
    assert after.valid_fraction == 0.25
    assert {i: after.of(i) for i in old} == {i: before.of(i) for i in old}
    assert len(after.train | after.valid) == 80


def test_recorded_membership_wins_over_the_hash(tmp_path: Path) -> None:
    ids = _ids(20)
    episodes.update_splits(tmp_path, ids, valid_fraction=0.1)
    path = tmp_path / episodes.SPLITS_FILE
    payload = json.loads(path.read_text())
    moved = payload["splits"]["train"].pop()
    payload["splits"]["valid"].append(moved)
    path.write_text(json.dumps(payload))
    assert episodes.update_splits(tmp_path, ids).of(moved) == "valid"


def test_another_fraction_is_refused(tmp_path: Path) -> None:
    episodes.update_splits(tmp_path, _ids(5), valid_fraction=0.1)
    with pytest.raises(DatasetError, match=r"records valid_fraction 0.1, not 0.3; leave valid_fraction out"):
        episodes.update_splits(tmp_path, _ids(5), valid_fraction=0.3)
    with pytest.raises(DatasetError, match=r"valid_fraction must be within \[0, 1\), got 1.5"):
        episodes.update_splits(tmp_path, _ids(5), valid_fraction=1.5)


def test_damaged_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / episodes.SPLITS_FILE).write_text('{"format": "something else"}')
    with pytest.raises(DatasetError, match=r"splits.json: unreadable split file .*delete it to split again"):
        episodes.load_splits(tmp_path)
