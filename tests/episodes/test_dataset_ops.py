"""Dataset surgery on real directories: merge, split, rm/restore, relabel with a label history."""

from __future__ import annotations

import os

import numpy as np
import pytest

import episodes
from tests.episodes.conftest import JOINTS

_RECORDINGS = iter(range(1_000_000))


def _record(directory, info, *, rate_hz=10.0, streams=("joint_position",), units="rad", seconds=1.0):
    """One second at 50 Hz; every recording's values differ (equal content would be one episode)."""
    offset = next(_RECORDINGS)
    specs = [
        episodes.ArrayStreamSpec(name, episodes.StreamKind.JOINT_POSITION, JOINTS, (units,), rate_hz=50)
        for name in streams
    ]
    with episodes.EpisodeWriter(directory, streams=specs, info=info, aligned_rate_hz=rate_hz) as w:
        for k in range(int(50 * seconds)):
            for spec in specs:
                w.append(spec.name, k * 20_000_000, np.full(3, 0.01 * k + offset))
    return w.final_path


def _ids(directory):
    return sorted(p.name.removesuffix(".h5") for p in episodes.list_episodes(directory))


@pytest.fixture
def two_datasets(tmp_path, info):
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        d.mkdir()
        for _ in range(2):
            _record(d, info)
    return a, b


def test_merge_links_files_keeps_splits_and_writes_statistics(tmp_path, two_datasets):
    a, b = two_datasets
    episodes.annotate_episodes(episodes.list_episodes(a) + episodes.list_episodes(b))
    episodes.update_splits(a, _ids(a), valid_fraction=0.5)
    recorded = episodes.load_splits(a)
    result = episodes.merge_datasets([a, b], tmp_path / "ab")
    out = tmp_path / "ab"
    assert _ids(out) == sorted(_ids(a) + _ids(b))
    assert (result.episodes, result.linked, result.stats_written) == (4, 4, True)
    first = episodes.list_episodes(out)[0]
    assert os.stat(first).st_ino in {
        os.stat(p).st_ino for p in episodes.list_episodes(a) + episodes.list_episodes(b)
    }
    merged = episodes.load_splits(out)
    assert merged is not None and merged.valid == recorded.valid and recorded.train <= merged.train
    assert set(episodes.load_dataset_stats(out).episodes) == set(_ids(out))


def test_merge_refuses_differing_rates_and_realigns_when_told(tmp_path, info):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    _record(a, info, rate_hz=10)
    slow = _record(b, info, rate_hz=5)
    with pytest.raises(
        episodes.DatasetError, match=r"aligned rates differ: 10.0 in 1 episode.*5.0 in 1.*--realign HZ"
    ):
        episodes.merge_datasets([a, b], tmp_path / "ab")
    assert not (tmp_path / "ab").exists()
    result = episodes.merge_datasets([a, b], tmp_path / "ab", episodes.MergeOptions(realign_hz=10))
    assert result.realigned == 1 and result.linked == 1
    for path in episodes.list_episodes(tmp_path / "ab"):
        with episodes.open(path) as ep:
            assert ep.aligned_info.rate_hz == 10
    with episodes.open(slow) as ep:  # the source keeps its own view: the merged file is a copy
        assert ep.aligned_info.rate_hz == 5


def test_merge_names_streams_and_units_that_differ(tmp_path, info):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for d in (a, b, c):
        d.mkdir()
    _record(a, info)
    _record(b, info, streams=("joint_position", "joint_command"))
    _record(c, info, units="deg")
    with pytest.raises(
        episodes.DatasetError, match=r"stream sets differ: joint_command in 1 of 2.*--drop-stream"
    ):
        episodes.merge_datasets([a, b], tmp_path / "ab")
    result = episodes.merge_datasets(
        [a, b], tmp_path / "ab", episodes.MergeOptions(drop_streams=("joint_command",))
    )
    assert result.dropped == {"joint_command": 1}
    for path in episodes.list_episodes(tmp_path / "ab"):
        with episodes.open(path) as ep:
            assert ep.stream_names == ("joint_position",) or list(ep.stream_names) == ["joint_position"]
            assert ep.metadata.content_digest == episodes.content_digest(path)
    with pytest.raises(
        episodes.DatasetError, match=r"stream joint_position differs in kind, role, columns or units"
    ):
        episodes.merge_datasets([a, c], tmp_path / "ac")


def test_merge_refuses_itself_a_busy_output_and_a_repeated_id(tmp_path, two_datasets):
    a, b = two_datasets
    with pytest.raises(episodes.DatasetError, match=r"cannot write a dataset into itself"):
        episodes.merge_datasets([a, b], a)
    with pytest.raises(episodes.DatasetError, match=r"already exists and is not empty"):
        episodes.merge_datasets([a], b)
    with pytest.raises(episodes.DatasetError, match=r"a source is given twice"):
        episodes.merge_datasets([a, a], tmp_path / "aa")
    twin = b / episodes.list_episodes(a)[0].name
    (b / episodes.list_episodes(b)[0].name).rename(twin)  # the same id, another recording
    with pytest.raises(episodes.DatasetError, match=r"twice with different content"):
        episodes.merge_datasets([a, b], tmp_path / "ab")
    assert not (tmp_path / "ab").exists() and not list(tmp_path.glob(".ab.*"))


def test_split_by_label_and_by_fraction(tmp_path, two_datasets):
    a, _ = two_datasets
    first, second = episodes.list_episodes(a)
    episodes.set_labels(first, success=True)
    episodes.set_labels(second, success=False)
    result = episodes.split_dataset(a, tmp_path / "by_success", episodes.SplitOptions(by="success"))
    assert result.parts == {"false": 1, "true": 1}
    assert _ids(tmp_path / "by_success" / "true") == [first.name.removesuffix(".h5")]
    halves = episodes.split_dataset(a, tmp_path / "halves", episodes.SplitOptions(fraction=0.5))
    assert sum(halves.parts.values()) == 2 and set(halves.parts) <= {"train", "valid"}
    with pytest.raises(episodes.DatasetError, match=r"--by 'colour': not one of task, robot"):
        episodes.SplitOptions(by="colour")


def test_rm_moves_to_the_trash_with_a_record_and_restore_undoes_it(tmp_path, two_datasets):
    a, _ = two_datasets
    keep, gone = _ids(a)
    with pytest.raises(episodes.DatasetError, match=rf"{a}: no episode 01NOPE"):
        episodes.remove_episodes(a, [gone, "01NOPE"])
    assert _ids(a) == [keep, gone]  # nothing moved
    (record,) = episodes.remove_episodes(a, [gone], reason="cube fell off the table", by="bo")
    assert _ids(a) == [keep]
    assert episodes.trashed_episodes(a) == [record]
    assert (record.removed_by, record.reason) == ("bo", "cube fell off the table")
    with pytest.raises(episodes.DatasetError, match=r"is already in its trash"):
        episodes.remove_episodes(a, [gone])
    episodes.restore_episodes(a, [gone])
    assert _ids(a) == [keep, gone] and episodes.trashed_episodes(a) == []
    with pytest.raises(episodes.DatasetError, match=r"no episode .* in the trash"):
        episodes.restore_episodes(a, [gone])


def test_relabel_is_recorded_in_the_label_history(tmp_path, two_datasets):
    a, _ = two_datasets
    path = episodes.list_episodes(a)[0]
    change = episodes.set_labels(
        path, task="stack", success=False, why=episodes.Relabel(by="bo", reason="wrong task")
    )
    assert change is not None and change.changes == {
        "task": ("pick_place", "stack"),
        "success": ("unknown", "false"),
    }
    assert episodes.set_labels(path, task="stack") is None  # nothing changed, nothing written
    with episodes.open(path) as ep:
        assert ep.metadata.task == "stack" and ep.metadata.label_history == (change,)
    entry = episodes.scan_episode(path)
    assert entry.task == "stack" and entry.label_history == (change,)


def test_merge_with_copy_shares_no_file(tmp_path, two_datasets):
    a, b = two_datasets
    result = episodes.merge_datasets([a, b], tmp_path / "ab", episodes.MergeOptions(copy=True))
    assert result.linked == 0 and not result.stats_written  # never annotated: no statistics to join
    sources = {os.stat(p).st_ino for p in episodes.list_episodes(a) + episodes.list_episodes(b)}
    assert not sources & {os.stat(p).st_ino for p in episodes.list_episodes(tmp_path / "ab")}
