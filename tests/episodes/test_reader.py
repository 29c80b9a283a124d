"""The reader: half-open ranges, aligned frames, and what it says about bad files."""

from __future__ import annotations

import os

import h5py
import numpy as np
import pytest

import episodes
from episodes import EpisodeWriter
from tests.episodes.conftest import write_episode


@pytest.fixture
def episode(tmp_path, info, joint_spec, action_spec, camera_spec):
    return write_episode(tmp_path, [joint_spec, action_spec, camera_spec], info, seconds=2.0)


def test_read_is_half_open(episode):
    with episodes.open(episode) as ep:
        got = ep.read("joint_position", 100_000_000, 200_000_000)
        assert got.stamp_ns.tolist() == [k * 10_000_000 for k in range(10, 20)]
        assert got.first_index == 10
        assert len(ep.read("joint_position", 200_000_000, 200_000_000)) == 0
        assert len(ep.read("joint_position", None, 10_000_001)) == 2
        assert len(ep.read("joint_position", 1_985_000_000)) == 1
        frames = ep.read("head", 0, 100_000_000)
        assert isinstance(frames, episodes.ImageSamples) and len(frames) == 4  # 0, 33.3, 66.7, 99.99 ms


def test_read_by_arrival_time(tmp_path, info, joint_spec):
    with EpisodeWriter(tmp_path, streams=[joint_spec], info=info, aligned_rate_hz=10) as w:
        for k in range(10):
            w.append("joint_position", k, [k, 0, 0], arrival_ns=1000 + k)
    with episodes.open(w.final_path) as ep:
        assert ep.read("joint_position", 1003, 1005, clock="arrival").data[:, 0].tolist() == [3, 4]
        with pytest.raises(episodes.StreamSpecError, match="clock must be 'stamp' or 'arrival'"):
            ep.read("joint_position", 0, 1, clock="wall")


def test_reads_in_seconds_from_the_start_on_each_clock(tmp_path, info, joint_spec):
    # Stamps are absolute (a robot's clock reads ~1.8e18 ns): seconds from the start must be as easy.
    epoch, skew = 1_796_557_701_980_431_484, 7_000_000_000  # the source clock 7 s ahead of arrival
    with EpisodeWriter(tmp_path, streams=[joint_spec], info=info, aligned_rate_hz=10) as w:
        for k in range(300):  # 3 s at 100 Hz
            w.append(
                "joint_position", epoch + skew + k * 10_000_000, [k, 0, 0], arrival_ns=epoch + k * 10_000_000
            )
    with episodes.open(w.final_path) as ep:
        assert len(ep.read("joint_position", start_ns=0, stop_ns=2_000_000_000)) == 0  # absolute: nothing
        first_two = ep.read("joint_position", start_s=0, stop_s=2)
        assert first_two.data[:, 0].tolist() == list(range(200))
        assert (
            ep.origin_ns() == epoch + skew and ep.origin_ns("arrival") == ep.metadata.start_time_ns == epoch
        )
        assert ep.read("joint_position", start_s=1.5, stop_s=1.52, clock="arrival").data[:, 0].tolist() == [
            150,
            151,
        ]
        assert [len(b) for b in ep.iter_samples("joint_position", start_s=2, max_rows=64)] == [64, 36]
        with pytest.raises(
            episodes.EpisodeError, match=r"in ns \(start_ns/stop_ns, absolute\) or in seconds"
        ):
            ep.read("joint_position", start_ns=0, stop_s=2)


def test_iter_samples_streams_blocks_covering_the_range(episode):
    with episodes.open(episode) as ep:
        blocks = list(ep.iter_samples("joint_position", 50_000_000, 1_550_000_000, max_rows=40))
        whole = ep.read("joint_position", 50_000_000, 1_550_000_000)
    assert [len(b) for b in blocks] == [40, 40, 40, 30]
    np.testing.assert_array_equal(np.concatenate([b.data for b in blocks]), whole.data)


def test_iter_aligned_pairs_latest_sample_at_or_before_each_tick(episode):
    with episodes.open(episode) as ep:
        view = ep.aligned
        frames = list(ep.iter_aligned())
        joints = ep.read("joint_position")
        heads = ep.read("head")
    assert view.num_frames == len(frames) > 0
    assert view.rate_hz == 10
    for frame in frames:
        for name, samples in (("joint_position", joints), ("head", heads)):
            i = frame.sample_index[name]
            assert samples.stamp_ns[i] <= frame.time_ns
            assert i + 1 == len(samples) or samples.stamp_ns[i + 1] > frame.time_ns
            assert frame.error_ns[name] == frame.time_ns - samples.stamp_ns[i]
        np.testing.assert_array_equal(
            frame.values["joint_position"], joints.data[frame.sample_index["joint_position"]]
        )
        assert frame.images["head"].data == heads.images[frame.sample_index["head"]].data


def test_iter_aligned_range_and_stream_selection(episode):
    with episodes.open(episode) as ep:
        t = ep.aligned.time_ns
        frames = list(ep.iter_aligned(int(t[2]), int(t[5]), streams=["action_arm"], block=2))
        with pytest.raises(episodes.UnknownStreamError, match="no stream 'nope' in the aligned view"):
            list(ep.iter_aligned(streams=["nope"]))
    assert [f.k for f in frames] == [2, 3, 4]
    assert set(frames[0].values) == {"action_arm"} and not frames[0].images


def test_stream_info(episode):
    with episodes.open(episode) as ep:
        streams = ep.streams
    assert list(streams) == ["action_arm", "head", "joint_position"]
    head = streams["head"]
    assert head.is_image and head.sample_shape == (48, 64, 3) and head.count == 60
    assert streams["joint_position"].sample_shape == (3,)
    assert abs(streams["action_arm"].measured_rate_hz - 50) < 0.5


def test_unknown_stream(episode):
    with (
        episodes.open(episode) as ep,
        pytest.raises(
            episodes.UnknownStreamError,
            match=r"no stream 'tail'; streams: action_arm, head, joint_position",
        ),
    ):
        ep.read("tail")


def test_missing_file(tmp_path):
    with pytest.raises(episodes.NotAnEpisodeError, match=r"missing\.h5: no such file"):
        episodes.open(tmp_path / "missing.h5")


def test_directory_is_not_an_episode(tmp_path):
    with pytest.raises(episodes.NotAnEpisodeError, match="is a directory"):
        episodes.open(tmp_path)


def test_not_hdf5(tmp_path):
    path = tmp_path / "notes.h5"
    path.write_text("just text")
    with pytest.raises(episodes.NotAnEpisodeError, match=r"notes\.h5: not an HDF5 file"):
        episodes.open(path)


def test_hdf5_but_not_an_episode(tmp_path):
    path = tmp_path / "episode_0.hdf5"
    with h5py.File(path, "w") as f:  # an ALOHA-style file
        f.create_dataset("observations/qpos", data=np.zeros((10, 14)))
    with pytest.raises(
        episodes.NotAnEpisodeError, match=r"episode_0\.hdf5: HDF5 file but not a Training Ground"
    ):
        episodes.open(path)
    latest = tmp_path / "other.h5"
    with h5py.File(latest, "w", libver="latest") as f:
        f.attrs["format"] = "something-else"
    with pytest.raises(episodes.NotAnEpisodeError, match="root attribute 'format' is not 'tg-episode'"):
        episodes.open(latest)


def test_truncated_file(episode, tmp_path):
    data = episode.read_bytes()
    cut = tmp_path / "cut.h5"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(episodes.CorruptEpisodeError, match=r"cut\.h5: HDF5 file is truncated or corrupt"):
        episodes.open(cut)


def test_corrupt_superblock(episode, tmp_path):
    data = bytearray(episode.read_bytes())
    data[8:40] = bytes(32)
    bad = tmp_path / "bad.h5"
    bad.write_bytes(bytes(data))
    with pytest.raises((episodes.CorruptEpisodeError, episodes.NotAnEpisodeError), match=r"bad\.h5"):
        episodes.open(bad)


def test_newer_format_version(episode):
    with h5py.File(episode, "r+") as f:
        f.attrs["format_version"] = 2
    with pytest.raises(
        episodes.UnsupportedFormatVersionError,
        match=r"format version 2 is newer than this reader \(reads up to 1\)",
    ):
        episodes.open(episode)


def test_missing_group_is_reported_as_corrupt(episode):
    with h5py.File(episode, "r+") as f:
        del f["aligned"]
    with pytest.raises(episodes.CorruptEpisodeError, match=r"lacks \['aligned'\]"):
        episodes.open(episode)


def test_missing_metadata_attribute(episode):
    with h5py.File(episode, "r+") as f:
        del f.attrs["task"]
    with pytest.raises(episodes.CorruptEpisodeError, match=r"root attributes \['task'\] are missing"):
        episodes.open(episode)


def test_list_episodes_sorts_by_id_and_skips_partials(tmp_path, info, joint_spec):
    first = write_episode(tmp_path, [joint_spec], info, seconds=0.1)
    second = write_episode(tmp_path, [joint_spec], info, seconds=0.1)
    live = EpisodeWriter(tmp_path, streams=[joint_spec], info=info, aligned_rate_hz=10)
    try:
        assert episodes.list_episodes(tmp_path) == [first, second]
        assert episodes.list_episodes(tmp_path, include_partial=True) == [first, second, live.path]
    finally:
        live.discard()
    with pytest.raises(episodes.NotAnEpisodeError, match="not a dataset directory"):
        episodes.list_episodes(first)


# ---------------------------------------------------------------- public access for other modules


def test_times_values_and_spec_read_whole_streams(episode):
    with episodes.open(episode) as ep:
        stamps = ep.times("joint_position")
        assert stamps.dtype == np.int64 and stamps.shape == (ep.stream("joint_position").count,)
        assert np.array_equal(ep.times("joint_position", "arrival"), ep.read("joint_position").arrival_ns)
        rows = ep.values("joint_position", 2, 5, dtype=np.float32)
        assert rows.dtype == np.float32 and np.allclose(rows, ep.read("joint_position").data[2:5])
        assert ep.spec("head") == ep.stream("head").spec
        with pytest.raises(episodes.UnknownStreamError, match="'head' is a camera stream; it has frames"):
            ep.values("head")
        with pytest.raises(episodes.StreamSpecError, match="clock must be 'stamp' or 'arrival'"):
            ep.times("joint_position", "wall")


def test_frame_index_and_frame_bytes_give_each_stored_frame(episode):
    with episodes.open(episode) as ep:
        index = ep.frame_index("head")
        assert len(index) == ep.stream("head").count
        assert np.array_equal(index.offsets[1:], index.offsets[:-1] + index.sizes[:-1])
        store = ep.frame_bytes("head")
        assert store.is_plain and store is ep.frame_bytes("head")
        for i in (0, len(index) - 1):
            start, size = int(index.offsets[i]), int(index.sizes[i])
            expected = ep.image("head", i).data
            assert store.read(start, size).tobytes() == expected
            assert store[start : start + size].tobytes() == expected
            assert store.span(start, start + size).tobytes() == expected
        heads = store.rows(index.offsets, 2)
        assert (heads == [0xFF, 0xD8]).all()  # every frame starts with a JPEG marker
        with pytest.raises(
            episodes.CorruptEpisodeError, match=r"lie beyond the end of the stored frames \(\d+ bytes\)"
        ):
            store.read(store.size - 10, 1 << 40)
        with pytest.raises(episodes.UnknownStreamError, match="is not a camera stream"):
            ep.frame_index("joint_position")


def test_aligned_info_and_provenance(episode):
    with episodes.open(episode) as ep:
        info = ep.aligned_info
        view = ep.aligned
        assert (info.rate_hz, info.clock, info.required, info.num_frames) == (
            view.rate_hz,
            view.clock,
            view.required,
            view.num_frames,
        )
        prov = ep.provenance
        assert prov.writer_pid == os.getpid() and prov.recorded_at == ep.metadata.recorded_at


def test_annotation_groups_read_whole(episode):
    with episodes.open(episode) as ep:
        assert ep.annotation("labels") is None
    episodes.annotate_episode(episode)
    with episodes.open(episode) as ep:
        labels = ep.annotation("labels")
        assert labels is not None and labels.attrs["task"] == ep.metadata.task
        events = ep.annotation("gripper_events")
        assert events is not None and "start_ns" in events and events["start_ns"].dtype == np.int64
        stats = ep.annotation("stats")
        assert stats is not None and "joint_position" in stats.groups and "joint_position" in stats
        per_stream = ep.annotation("stats/joint_position")
        assert per_stream is not None and int(per_stream.attrs["count"]) > 0
