"""Episode selection, sample layout and aligned loading shared by the training loader and exporters."""

from __future__ import annotations

import dataclasses
import shutil
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest

import episodes
from episodes import (
    ArrayStreamSpec,
    DatasetError,
    EpisodeFilter,
    EpisodeSkippedWarning,
    StreamKind,
    UnknownStreamError,
)
from tests.episodes.loader_corpus import make_episode, mark_active, mark_qa, raw_rows, specs


def _ids(selection: episodes.Selection) -> set[str]:
    return {e.episode_id for e in selection.episodes}


def _id(path: Path) -> str:
    return path.name.removesuffix(".h5")


@pytest.fixture(scope="module")
def labelled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("labelled")
    made = {
        "good": make_episode(root, frames=5, success=True, task="pick_place", operator="alice"),
        "failed": make_episode(root, frames=5, success=False, task="pick_place", operator="bob", qa=False),
        "unknown": make_episode(root, frames=5, success=None, task="wipe", operator="alice", qa=None),
    }
    return made


@pytest.mark.parametrize(
    ("kwargs", "kept"),
    [
        ({}, {"good"}),
        ({"qa": "passed"}, {"good"}),
        ({"qa": "any"}, {"good", "failed", "unknown"}),
        ({"qa": "any", "success": True}, {"good"}),
        ({"qa": "any", "success": False}, {"failed"}),
        ({"qa": "any", "task": "wipe"}, {"unknown"}),
        ({"qa": "any", "operator": "alice"}, {"good", "unknown"}),
        ({"qa": "any", "robot": "test_arm", "task": "pick_place", "operator": "bob"}, {"failed"}),
    ],
)
def test_filters_keep_exactly_the_matching_episodes(
    labelled: dict[str, Path], kwargs: dict[str, object], kept: set[str]
) -> None:
    root = labelled["good"].parent
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EpisodeSkippedWarning)  # the never-validated one: tested below
        selection = episodes.select_episodes(root, EpisodeFilter(**kwargs))  # type: ignore[arg-type]
    assert _ids(selection) == {_id(labelled[k]) for k in kept}
    assert sum(selection.excluded.values()) == 3 - len(kept)
    assert [e.episode_id for e in selection.episodes] == sorted(_ids(selection))  # recording order


def test_qa_passed_is_the_default_and_the_summary_counts_the_rest(labelled: dict[str, Path]) -> None:
    root = labelled["good"].parent
    with pytest.warns(
        EpisodeSkippedWarning,
        match=rf"1 episode\(s\) never validated left out; run `tg validate {root} --write`",
    ):
        selection = episodes.select_episodes(root)
    assert _ids(selection) == {_id(labelled["good"])}
    assert selection.excluded == {"failed the quality gate": 1, "never validated": 1}
    assert EpisodeFilter() == EpisodeFilter(qa="passed")
    with pytest.raises(DatasetError, match="qa must be one of 'passed', 'any', got 'failed'"):
        EpisodeFilter(qa="failed")  # type: ignore[arg-type]


def test_review_approved_keeps_only_what_a_reviewer_approved(tmp_path: Path) -> None:
    approved = make_episode(tmp_path, frames=4, task="pick_place")
    rejected = make_episode(tmp_path, frames=4, task="pick_place")
    make_episode(tmp_path, frames=4, task="pick_place")  # never reviewed: pending
    episodes.set_review(approved, episodes.ReviewState("approved", reviewer="rita", at_ns=1))
    episodes.set_review(rejected, episodes.ReviewState("rejected", "qa_failure", reviewer="rita", at_ns=1))
    selection = episodes.select_episodes(tmp_path, EpisodeFilter(review="approved"))
    assert _ids(selection) == {_id(approved)}
    assert selection.excluded == {
        "review is 'rejected', not 'approved'": 1,
        "review is 'pending', not 'approved'": 1,
    }
    data = episodes.EpisodeDataset(tmp_path, filter=EpisodeFilter(review="approved"))
    assert [e.episode_id for e in data.episodes] == [_id(approved)]
    with pytest.raises(
        DatasetError, match="review must be one of 'pending', 'approved', 'rejected' or None, got 'ok'"
    ):
        EpisodeFilter(review="ok")


def test_never_validated_only_is_refused_with_the_command_to_run(tmp_path: Path) -> None:
    make_episode(tmp_path, frames=4, qa=None)
    make_episode(tmp_path, frames=4, qa=None)
    with pytest.raises(
        DatasetError,
        match=rf"no episode left of 2: 2 never validated; run `tg validate {tmp_path} --write` .*qa='any'",
    ):
        episodes.select_episodes(tmp_path)
    assert len(episodes.select_episodes(tmp_path, EpisodeFilter(qa="any")).episodes) == 2


def test_a_copy_of_an_episode_is_skipped_naming_both_files(tmp_path: Path) -> None:
    original = make_episode(tmp_path, frames=4)
    other = make_episode(tmp_path, frames=5)
    copy = tmp_path / "zz_copy.h5"  # sorts after the original: the original is kept
    shutil.copyfile(original, copy)
    with pytest.warns(
        EpisodeSkippedWarning,
        match=rf"{copy}: skipped, same episode id \({_id(original)}\) as {original}",
    ):
        selection = episodes.select_episodes(tmp_path, EpisodeFilter(qa="any"))
    assert [e.path for e in selection.episodes] == [original, other]
    assert selection.excluded == {"duplicate of another file": 1}


def test_identities_include_the_content_digest_when_the_file_has_one(tmp_path: Path) -> None:
    path = make_episode(tmp_path, frames=4)
    entry = episodes.scan_episode(path)
    digest = episodes.content_digest(path)
    assert entry.identities == (("episode id", entry.episode_id), ("content digest", digest))
    older = dataclasses.replace(entry, content_digest=None)  # a file written before the digest existed
    assert older.identities == (("episode id", entry.episode_id),)


def test_the_same_recording_under_another_id_is_skipped_by_its_content_digest(tmp_path: Path) -> None:
    first = make_episode(tmp_path, frames=5)
    new_id = episodes.new_episode_id()
    again = tmp_path / f"{new_id}.h5"  # the same recording written again under a new episode id
    shutil.copyfile(first, again)
    with h5py.File(again, "a") as f:
        f.attrs["episode_id"] = new_id
    assert _id(first) != _id(again)
    kept, skipped = sorted([first, again])
    with pytest.warns(
        EpisodeSkippedWarning, match=rf"{skipped}: skipped, same content digest \(\w+\) as {kept}"
    ):
        selection = episodes.select_episodes(tmp_path, EpisodeFilter(qa="any"))
    assert [e.path for e in selection.episodes] == [kept]


def test_entry_reads_labels_qa_and_active_range(tmp_path: Path) -> None:
    path = make_episode(tmp_path, frames=8, instruction="", task="pick_place", qa=None)
    entry = episodes.scan_episode(path)
    assert (entry.qa_passed, entry.active_range_ns, entry.num_frames, entry.aligned_rate_hz) == (
        None,
        None,
        8,
        10,
    )
    mark_qa(path, True)
    mark_active(path, 2, 6)
    with h5py.File(path, "a") as f:
        f["annotations"].require_group("labels").attrs["instruction"] = "from the template"
    entry = episodes.scan_episode(path)
    assert entry.qa_passed is True
    assert entry.active_range_ns == (200_000_000, 500_000_001)
    assert entry.instruction == "from the template"


def test_no_episode_files_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"no episode files \(\*\.h5\) in this directory"):
        episodes.select_episodes(tmp_path)


def test_all_filtered_out_says_why(labelled: dict[str, Path]) -> None:
    root = labelled["good"].parent
    with pytest.raises(
        DatasetError, match=rf"no episode left of 3: .*1 never validated.*; run `tg validate {root} --write`"
    ):
        episodes.select_episodes(root, EpisodeFilter(task="wipe"))


def test_corrupt_file_is_skipped_with_a_warning_naming_it(tmp_path: Path) -> None:
    good = make_episode(tmp_path, frames=4)
    bad = tmp_path / "01JZZZZZZZZZZZZZZZZZZZZZZZ.h5"
    bad.write_bytes(b"not an hdf5 file at all" * 10)
    with pytest.warns(EpisodeSkippedWarning, match=rf"{bad.name}: skipped, unreadable"):
        selection = episodes.select_episodes(tmp_path)
    assert _ids(selection) == {_id(good)}
    assert [p for p, _ in selection.unreadable] == [bad]


def test_mixed_robots_are_refused_unless_asked(tmp_path: Path) -> None:
    a = [make_episode(tmp_path, frames=4, robot="arm_a") for _ in range(2)]
    b = make_episode(tmp_path, frames=4, robot="arm_b")
    with pytest.raises(
        DatasetError,
        match=r"episodes differ in robot or streams: 2 x robot 'arm_a' .*; 1 x robot 'arm_b' .*robot=\.\.\.",
    ):
        episodes.select_episodes(tmp_path)
    with pytest.warns(EpisodeSkippedWarning, match=rf"1 episode\(s\) with another robot .*{b.name}"):
        selection = episodes.select_episodes(tmp_path, on_mixed="skip")
    assert _ids(selection) == {_id(p) for p in a}
    assert _ids(episodes.select_episodes(tmp_path, EpisodeFilter(robot="arm_b"))) == {_id(b)}
    with pytest.raises(DatasetError, match="on_mixed must be 'error' or 'skip', got 'merge'"):
        episodes.select_episodes(tmp_path, on_mixed="merge")  # type: ignore[arg-type]


def test_mixed_stream_sets_are_refused_naming_the_difference(tmp_path: Path) -> None:
    make_episode(tmp_path, frames=4)
    make_episode(tmp_path, frames=4, streams=specs(robot_streams=False))
    with pytest.raises(DatasetError, match=r"1 x robot 'test_arm', streams -gripper_state"):
        episodes.select_episodes(tmp_path)


def test_mixed_aligned_rates_are_refused(tmp_path: Path) -> None:
    make_episode(tmp_path, frames=6)
    slow = make_episode(tmp_path, frames=6)
    episodes.realign(slow, rate_hz=5)
    with pytest.raises(
        DatasetError, match=r"1 x robot 'test_arm', aligned at 5 Hz .*or realign them to one rate"
    ):
        episodes.select_episodes(tmp_path)


def test_layout_defaults_follow_roles_in_stored_order(tmp_path: Path) -> None:
    entry = episodes.scan_episode(make_episode(tmp_path, frames=4))
    layout = episodes.sample_layout(entry)
    assert layout.state_streams == ("gripper_state", "joint_position")
    assert layout.action_streams == ("action_arm", "action_gripper")
    assert layout.action_names == (
        "action_arm.shoulder",
        "action_arm.elbow",
        "action_arm.wrist",
        "action_gripper.left",
    )
    assert layout.camera_names == ("head", "wrist")
    assert layout.columns("action_gripper") == slice(3, 4)
    assert layout.columns("joint_position") == slice(1, 4)
    with pytest.raises(UnknownStreamError, match="stream 'head' is in neither the state"):
        layout.columns("head")


def test_layout_rejects_unknown_names_listing_the_existing_ones(tmp_path: Path) -> None:
    entry = episodes.scan_episode(make_episode(tmp_path, frames=4))
    with pytest.raises(UnknownStreamError, match=r"no camera 'front'; cameras: head, wrist"):
        episodes.sample_layout(entry, cameras=["front"])
    with pytest.raises(UnknownStreamError, match=r"no array stream 'head'; array streams: action_arm, "):
        episodes.sample_layout(entry, state_streams=["head"])
    only_state = [s for s in specs() if s.role is episodes.Role.OBSERVATION]
    entry = episodes.scan_episode(make_episode(tmp_path / "x", frames=4, streams=only_state))
    with pytest.raises(DatasetError, match=r"no stream has role 'action'; name the streams to predict"):
        episodes.sample_layout(entry)
    layout = episodes.sample_layout(entry, action_streams=["joint_position"])
    assert layout.action_streams == ("joint_position",)


def test_load_aligned_matches_the_raw_streams(tmp_path: Path) -> None:
    path = make_episode(tmp_path, frames=9, late={"wrist": 3})
    entry = episodes.scan_episode(path)
    layout = episodes.sample_layout(entry)
    data = episodes.load_aligned(entry, layout)
    with episodes.open(path) as ep:
        view = ep.aligned
        assert view.index["wrist"][2] == -1 and view.index["wrist"][3] == 0
        assert data.first_frame == 3 and len(data) == view.num_frames - 3
        ticks = np.arange(3, view.num_frames)
        raw = {n: np.asarray(ep.read(n).data) for n in (*layout.state_streams, *layout.action_streams)}
        state = np.concatenate([raw[n][view.index[n][ticks]] for n in layout.state_streams], axis=1)
        action = np.concatenate([raw[n][view.index[n][ticks]] for n in layout.action_streams], axis=1)
        np.testing.assert_array_equal(data.state, state.astype(np.float32))
        np.testing.assert_array_equal(data.action, action.astype(np.float32))
        np.testing.assert_array_equal(data.time_ns, view.time_ns[ticks])
        for cam in layout.camera_names:
            np.testing.assert_array_equal(data.frames[cam], view.index[cam][ticks])
    assert (data.task, data.instruction, data.success) == ("pick_place", "put the cube in the bin", True)


def test_active_only_trims_to_the_annotated_range(tmp_path: Path) -> None:
    path = make_episode(tmp_path, frames=10)
    entry = episodes.scan_episode(path)
    layout = episodes.sample_layout(entry)
    with pytest.raises(DatasetError, match=r"has no active range \(active_only=True\); run `tg annotate"):
        episodes.load_aligned(entry, layout, active_only=True)
    mark_active(path, 2, 7)
    data = episodes.load_aligned(episodes.scan_episode(path), layout, active_only=True)
    assert (data.first_frame, len(data)) == (2, 5)
    assert data.state[0, 1] == 4.0  # joint_position runs at twice the aligned rate: sample 4 at tick 2


def _humanoid_like() -> list[episodes.StreamSpec]:
    """A state stream with a joint no action commands (a locked leg), velocities and an IMU."""
    joints = ("shoulder", "elbow", "wrist", "knee")
    observed = [
        ArrayStreamSpec("joint_position", StreamKind.JOINT_POSITION, joints, ("rad",), rate_hz=10),
        ArrayStreamSpec("joint_velocity", StreamKind.JOINT_VELOCITY, joints, ("rad/s",), rate_hz=10),
        ArrayStreamSpec("imu", StreamKind.IMU, ("qx", "qy", "qz", "qw"), ("",), rate_hz=10),
    ]
    return observed + [s for s in specs() if s.name in ("gripper_state", "action_arm", "action_gripper")]


def test_default_state_is_the_commanded_joints_and_the_grippers(tmp_path: Path) -> None:
    path = make_episode(tmp_path, frames=5, streams=_humanoid_like())
    entry = episodes.scan_episode(path)
    layout = episodes.sample_layout(entry)
    assert layout.state_names == (
        "gripper_state.left",
        "joint_position.shoulder",
        "joint_position.elbow",
        "joint_position.wrist",
    )
    assert layout.action_streams == ("action_arm", "action_gripper")
    data = episodes.load_aligned(entry, layout)
    raw = np.concatenate([raw_rows(path, "gripper_state"), raw_rows(path, "joint_position")[:, :3]], axis=1)
    np.testing.assert_array_equal(data.state, raw.astype(np.float32))


def test_columns_are_chosen_by_name_or_pattern(tmp_path: Path) -> None:
    path = make_episode(tmp_path, frames=5, streams=_humanoid_like())
    entry = episodes.scan_episode(path)
    layout = episodes.sample_layout(
        entry,
        state_streams=["joint_position:knee,*w*", episodes.StreamColumns("imu", ("qw",))],
        action_streams=["action_arm:elbow"],
    )
    assert layout.state_names == (
        "joint_position.knee",
        "joint_position.elbow",
        "joint_position.wrist",
        "imu.qw",
    )
    assert layout.action_names == ("action_arm.elbow",)
    assert layout.columns("imu") == slice(3, 4)
    data = episodes.load_aligned(entry, layout)
    q, imu = raw_rows(path, "joint_position"), raw_rows(path, "imu")
    np.testing.assert_array_equal(data.state, np.c_[q[:, [3, 1, 2]], imu[:, 3:]].astype(np.float32))
    np.testing.assert_array_equal(data.action[:, 0], raw_rows(path, "action_arm")[:, 1].astype(np.float32))


@pytest.mark.parametrize(
    ("state", "error", "message"),
    [
        (["joint_position:ankle"], UnknownStreamError, r"stream 'joint_position' has no column 'ankle'; col"),
        (["joint_position:"], DatasetError, r"'joint_position:' is not STREAM or STREAM:COLUMN,COLUMN"),
        (["legs:knee"], UnknownStreamError, r"no array stream 'legs'; array streams: "),
        (["imu:qx", "imu:qy"], DatasetError, r"stream 'imu' named twice: list its columns once"),
    ],
)
def test_a_bad_column_selection_names_the_stream_or_column(
    tmp_path: Path, state: list[str], error: type[Exception], message: str
) -> None:
    entry = episodes.scan_episode(make_episode(tmp_path, frames=3, streams=_humanoid_like()))
    with pytest.raises(error, match=message):
        episodes.sample_layout(entry, state_streams=state)
