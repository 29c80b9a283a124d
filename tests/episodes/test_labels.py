"""What a site reads and writes on finished episodes: labels, task id, review verdicts, stored results."""

from __future__ import annotations

import h5py
import pytest

import episodes
from episodes import _layout as fmt
from tests.episodes.conftest import write_episode


def test_review_and_labels_round_trip(tmp_path, info, joint_spec):
    path = write_episode(tmp_path, [joint_spec], info)
    with episodes.open(path) as ep:
        before = ep.metadata
    assert before.task_id == "" and before.review is None
    review = episodes.ReviewState("rejected", "bad_grasp", "cube slipped; 抓取失败", "bo", 1_700_000_000_000)
    episodes.set_review(path, review)
    episodes.set_labels(path, instruction="把红色方块放进蓝色箱子", success=False, task_id="task-7")
    with episodes.open(path) as ep:
        after = ep.metadata
    assert after.review == review
    assert (after.instruction, after.success, after.task_id) == ("把红色方块放进蓝色箱子", False, "task-7")
    # Raw content and its stored identity are untouched; notes were not given, so kept.
    assert after.content_digest == before.content_digest and after.notes == before.notes
    assert not episodes.has_pending_update(path)
    episodes.set_review(path, episodes.ReviewState("approved", reviewer="cy", at_ns=2))
    with episodes.open(path) as ep:
        assert ep.metadata.review == episodes.ReviewState("approved", reviewer="cy", at_ns=2)
    report = episodes.validate_episode(path)  # the file stays sound (this one is short: duration error)
    assert not [f for f in report.findings if f.check.startswith("file.")]


def test_a_file_without_the_new_attributes_reads_as_unreviewed(tmp_path, info, joint_spec):
    path = write_episode(tmp_path, [joint_spec], info)
    with h5py.File(path, "r+") as f:  # as written before the attributes existed
        del f.attrs[fmt.ATTR_TASK_ID]
        del f.attrs[fmt.ATTR_REVIEW]
    with episodes.open(path) as ep:
        assert (ep.metadata.task_id, ep.metadata.review) == ("", None)
    episodes.set_labels(path, task_id="t1")  # an older file gets the attribute added
    with episodes.open(path) as ep:
        assert ep.metadata.task_id == "t1"


def test_bad_review_values_are_refused(tmp_path, info, joint_spec):
    with pytest.raises(
        episodes.StreamSpecError, match="review state must be one of pending, approved, rejected"
    ):
        episodes.ReviewState("maybe")
    path = write_episode(tmp_path, [joint_spec], info)
    with h5py.File(path, "r+") as f:
        f.attrs[fmt.ATTR_REVIEW] = '{"state": "approved", "at_ns": "soon"}'
    with pytest.raises(episodes.CorruptEpisodeError, match=r"root attribute 'review_json' is not a review"):
        episodes.open(path)


def test_stored_results_read_through_an_open_reader(tmp_path, info, joint_spec):
    path = write_episode(tmp_path, [joint_spec], info)
    with episodes.open(path) as ep:
        assert (episodes.read_qa(ep), episodes.read_annotations(ep)) == (None, None)
    episodes.validate_episode(path, write=True)
    episodes.annotate_episode(path)
    with episodes.open(path) as ep:
        assert episodes.read_qa(ep) == episodes.read_qa(path) != ()
        assert episodes.read_annotations(ep) == episodes.read_annotations(path) is not None
