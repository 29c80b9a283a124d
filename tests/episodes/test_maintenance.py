"""realign, recover (in-process; the kill tests live in test_crash_safety) and atomic_update."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

import episodes
from episodes import EpisodeWriter
from tests.episodes.conftest import textured_frame, write_episode


def test_realign_changes_only_the_aligned_view(tmp_path, info, joint_spec, camera_spec):
    path = write_episode(tmp_path, [joint_spec, camera_spec], info, seconds=2.0)
    with episodes.open(path) as ep:
        before = {name: ep.read(name) for name in ep.stream_names}
        assert ep.aligned.rate_hz == 10
    frames = episodes.realign(path, rate_hz=25)
    with episodes.open(path) as ep:
        view = ep.aligned
        assert view.rate_hz == 25 and view.num_frames == frames
        assert np.all(np.diff(view.time_ns) >= 39_000_000) and np.all(np.diff(view.time_ns) <= 41_000_000)
        for name, old in before.items():
            new = ep.read(name)
            np.testing.assert_array_equal(new.stamp_ns, old.stamp_ns)
        for frame in ep.iter_aligned():
            assert before["head"].stamp_ns[frame.sample_index["head"]] <= frame.time_ns
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no work files left behind


def test_realign_on_arrival_clock_and_other_required_streams(tmp_path, info, joint_spec, camera_spec):
    path = write_episode(tmp_path, [joint_spec, camera_spec], info, seconds=1.0)
    episodes.realign(path, rate_hz=10, clock="arrival", required=["joint_position"])
    with episodes.open(path) as ep:
        assert ep.aligned.clock == "arrival" and ep.aligned.required == ("joint_position",)
    with pytest.raises(episodes.StreamSpecError, match=r"required streams \['tail'\] are not in the episode"):
        episodes.realign(path, rate_hz=10, required=["tail"])
    with pytest.raises(episodes.StreamSpecError, match="clock must be 'stamp' or 'arrival'"):
        episodes.realign(path, rate_hz=10, clock="wall")


def test_realign_refuses_partial_files(tmp_path, info, joint_spec):
    w = EpisodeWriter(tmp_path, streams=[joint_spec], info=info, aligned_rate_hz=10)
    try:
        with pytest.raises(episodes.EpisodeBusyError, match="run `tg recover` on it first"):
            episodes.realign(w.path, rate_hz=5)
    finally:
        w.discard()


def test_atomic_update_leaves_the_original_untouched_on_error(tmp_path, info, joint_spec):
    path = write_episode(tmp_path, [joint_spec], info)
    before = path.read_bytes()
    with pytest.raises(RuntimeError, match="tool crashed"), episodes.atomic_update(path) as f:
        f["annotations"].create_group("qa")
        raise RuntimeError("tool crashed")
    assert path.read_bytes() == before
    with episodes.atomic_update(path) as f:
        f["annotations"].create_group("qa")
    with episodes.open(path) as ep:
        assert ep.annotations == ("qa",)


def _interrupted(tmp_path, info, joint_spec, camera_spec):
    """A partial file as a crash leaves it: written and flushed, never finalised."""
    w = EpisodeWriter(tmp_path, streams=[joint_spec, camera_spec], info=info, aligned_rate_hz=10)
    for k in range(60):
        w.append("joint_position", k * 10_000_000, [k, 0, 0])
        if k % 3 == 0:
            w.append("head", k * 10_000_000, textured_frame(k))
    w.set_labels(success=True)
    w._stop_io()  # everything reaches the file, as after the last periodic flush
    w._file.flush()
    return w


def test_recover_in_process_keeps_every_flushed_sample(tmp_path, info, joint_spec, camera_spec):
    w = _interrupted(tmp_path, info, joint_spec, camera_spec)
    with pytest.raises(episodes.EpisodeBusyError, match=r"still being recorded by process \d+"):
        # The writer's own process is alive, but recovery from it is allowed; fake another live pid.
        with h5py.File(w.path, "r", swmr=True) as f:
            assert f.attrs["status"] == "recording"
        import os

        w._file.attrs.modify("writer_pid", np.int64(os.getppid()))
        w._file.flush()
        episodes.recover(w.path)
    w._file.close()
    final = episodes.recover(w.path, force=True)
    assert final == w.final_path and not w.path.exists()
    with episodes.open(final) as ep:
        assert ep.metadata.status == "recovered"
        assert ep.metadata.episode_id == w.episode_id
        assert ep.stream("joint_position").count == 60 and ep.stream("head").count == 20
        assert ep.read("joint_position").data[:, 0].tolist() == list(range(60))
        assert ep.aligned.num_frames > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [final.name]


def test_recover_refuses_finished_episodes(tmp_path, info, joint_spec):
    path = write_episode(tmp_path, [joint_spec], info)
    with pytest.raises(episodes.NotAnEpisodeError, match=r"only interrupted recordings \(\*\.h5\.partial\)"):
        episodes.recover(path)
