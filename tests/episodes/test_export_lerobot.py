"""LeRobot export read back with plain pyarrow and PyAV and compared with the source episodes.

The expected layout of every file is LeRobot's own, release 0.4.4: ``lerobot/datasets/utils.py``
(``create_empty_dataset_info``, ``DEFAULT_FEATURES``, ``DEFAULT_*_PATH``, ``write_tasks``),
``lerobot/datasets/lerobot_dataset.py`` (``LeRobotDatasetMetadata.save_episode``,
``LeRobotDataset._save_episode_data`` / ``_save_episode_video``, ``__getitem__``),
``lerobot/datasets/video_utils.py`` (``get_video_info``) and
``lerobot/datasets/compute_stats.py`` (``get_feature_stats``, ``DEFAULT_QUANTILES``).
`make verify-export` loads the same kind of export with lerobot itself.
"""

from __future__ import annotations

import json
from pathlib import Path

import av
import h5py
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import episodes
from episodes import ExportOptions
from episodes._export import _lerobot
from tests.episodes.conftest import textured_frame
from tests.episodes.loader_corpus import RATE_HZ, SIZE, copy_dataset, make_episode, mark_active, raw_rows

FPS = RATE_HZ

# meta/info.json: key -> type, as create_empty_dataset_info writes them (lerobot/datasets/utils.py).
INFO_KEYS = {
    "codebase_version": str,
    "robot_type": (str, type(None)),
    "total_episodes": int,
    "total_frames": int,
    "total_tasks": int,
    "chunks_size": int,
    "data_files_size_in_mb": int,
    "video_files_size_in_mb": int,
    "fps": int,
    "splits": dict,
    "data_path": str,
    "video_path": (str, type(None)),
    "features": dict,
}
# utils.py: DEFAULT_FEATURES, in this order after the dataset's own features.
DEFAULT_FEATURES = {
    "timestamp": "float32",
    "frame_index": "int64",
    "episode_index": "int64",
    "index": "int64",
    "task_index": "int64",
}
# video_utils.py: get_video_info.
VIDEO_INFO_KEYS = {
    "video.height",
    "video.width",
    "video.codec",
    "video.pix_fmt",
    "video.is_depth_map",
    "video.fps",
    "video.channels",
    "has_audio",
}
STAT_KEYS = {"min", "max", "mean", "std", "count", "q01", "q10", "q50", "q90", "q99"}


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """Three episodes: two tasks, one without an instruction, different lengths."""
    root = tmp_path_factory.mktemp("export") / "dataset"
    root.mkdir()
    make_episode(root, frames=20)
    make_episode(root, frames=13, task="lift", instruction="", success=False)
    make_episode(root, frames=16)
    return root


@pytest.fixture(scope="module")
def exported(source, tmp_path_factory) -> tuple[Path, episodes.ExportResult]:
    out = tmp_path_factory.mktemp("lerobot") / "ds"
    return out, episodes.export_lerobot(source, out)


@pytest.fixture
def dataset(source, tmp_path) -> Path:
    return copy_dataset(source, tmp_path)


def raw_ticks(path: Path) -> np.ndarray:
    with h5py.File(path, "r") as f:
        return f["aligned/time_ns"][()]


def decode_video(path: Path) -> tuple[np.ndarray, list[np.ndarray]]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        decoded = [
            (float(f.pts * f.time_base), f.to_ndarray(format="rgb24")) for f in container.decode(stream)
        ]
    return np.array([t for t, _ in decoded]), [img for _, img in decoded]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * np.log10(255.0**2 / mse) if mse else float("inf")


def test_info_json_follows_lerobot_schema(exported, source):
    out, result = exported
    info = json.loads((out / "meta/info.json").read_text())
    assert set(info) == set(INFO_KEYS)
    for key, kind in INFO_KEYS.items():
        assert isinstance(info[key], kind), key
    assert info["codebase_version"] == "v3.0"
    assert info["robot_type"] == "test_arm"
    assert (info["total_episodes"], info["total_frames"], info["total_tasks"]) == (3, 20 + 13 + 16, 2)
    assert info["fps"] == FPS
    assert info["splits"] == {"train": "0:3"}
    assert info["data_path"] == "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
    assert info["video_path"] == "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
    features = info["features"]
    assert list(features)[-5:] == list(DEFAULT_FEATURES)
    for key, dtype in DEFAULT_FEATURES.items():
        assert features[key] == {"dtype": dtype, "shape": [1], "names": None}
    state = features["observation.state"]
    assert state["dtype"] == "float32"
    # Stored order (HDF5 lists a group's streams by name), as sample_layout gives it.
    assert state["names"] == [
        "gripper_state.left",
        "joint_position.shoulder",
        "joint_position.elbow",
        "joint_position.wrist",
    ]
    assert state["shape"] == [4]
    action = features["action"]
    assert action["names"] == [
        "action_arm.shoulder",
        "action_arm.elbow",
        "action_arm.wrist",
        "action_gripper.left",
    ]
    assert (action["dtype"], action["shape"]) == ("float32", [4])
    for camera, (height, width) in (("head", SIZE), ("wrist", (SIZE[0] // 2, SIZE[1] // 2))):
        video = features[f"observation.images.{camera}"]
        assert video["dtype"] == "video"
        assert video["shape"] == [height, width, 3]
        assert video["names"] == ["height", "width", "channels"]
        assert set(video["info"]) == VIDEO_INFO_KEYS
        assert (video["info"]["video.height"], video["info"]["video.width"]) == (height, width)
        assert video["info"]["video.fps"] == FPS
        assert video["info"]["video.pix_fmt"] == "yuv420p"
        assert video["info"]["video.codec"] in ("av1", "h264", "mpeg4")
        assert video["info"]["has_audio"] is False
    assert result.episodes == 3
    assert result.cameras == ("head", "wrist")


def test_data_parquet_matches_the_source_episodes(exported, source):
    out, result = exported
    table = pq.read_table(out / "data/chunk-000/file-000.parquet")
    assert table.column_names == [
        "observation.state",
        "action",
        "timestamp",
        "frame_index",
        "episode_index",
        "index",
        "task_index",
    ]
    for key in ("observation.state", "action"):
        kind = table.schema.field(key).type  # datasets' Sequence(length=4, feature=Value("float32"))
        assert pa.types.is_fixed_size_list(kind)
        assert (kind.list_size, kind.value_type) == (4, pa.float32())
    assert table.schema.field("timestamp").type == pa.float32()
    assert {table.schema.field(k).type for k in DEFAULT_FEATURES if k != "timestamp"} == {pa.int64()}
    state = np.array(table.column("observation.state").to_pylist())
    action = np.array(table.column("action").to_pylist())
    timestamp = table.column("timestamp").to_numpy()
    frame_index = table.column("frame_index").to_numpy()
    episode_index = table.column("episode_index").to_numpy()
    assert table.column("index").to_numpy().tolist() == list(range(table.num_rows))
    tasks = pq.read_table(out / "meta/tasks.parquet")
    task_of = dict(zip(tasks.column("task_index").to_pylist(), tasks.column(1).to_pylist(), strict=True))
    start = 0
    for i, path in enumerate(episodes.list_episodes(source)):
        ticks = raw_ticks(path)
        n = len(ticks)
        rows = slice(start, start + n)
        assert (episode_index[rows] == i).all()
        assert frame_index[rows].tolist() == list(range(n))
        # Timestamps on our fixed-rate grid: exactly frame_index / fps, and the tick's own time.
        assert np.allclose(timestamp[rows], frame_index[rows] / FPS, atol=1e-6)
        assert np.abs(timestamp[rows] - (ticks - ticks[0]) / 1e9).max() < 1e-4
        expected_state = np.hstack([raw_rows(path, "gripper_state"), raw_rows(path, "joint_position")])
        expected_action = np.hstack([raw_rows(path, "action_arm"), raw_rows(path, "action_gripper")])
        assert np.array_equal(state[rows], expected_state.astype(np.float32))
        assert np.array_equal(action[rows], expected_action.astype(np.float32))
        with episodes.open(path) as ep:
            want = ep.metadata.instruction or ep.metadata.task
        assert {task_of[t] for t in table.column("task_index").to_numpy()[rows]} == {want}
        start += n
    assert start == table.num_rows == result.frames


def test_tasks_parquet_reads_back_as_pandas_indexed_by_task(exported):
    out, _ = exported
    table = pq.read_table(out / "meta/tasks.parquet")
    pandas = json.loads(table.schema.metadata[b"pandas"])
    # pandas rebuilds the index from this column: LeRobot looks tasks up by string (tasks.loc[task]).
    assert pandas["index_columns"] == ["__index_level_0__"]
    assert table.column("task_index").to_pylist() == [0, 1]
    assert table.column("__index_level_0__").to_pylist() == ["put the cube in the bin", "lift"]


def test_episodes_metadata_locates_every_episode(exported, source):
    out, _ = exported
    meta = pq.read_table(out / "meta/episodes/chunk-000/file-000.parquet").to_pylist()
    lengths = [len(raw_ticks(p)) for p in episodes.list_episodes(source)]
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    ids = [p.name.removesuffix(".h5") for p in episodes.list_episodes(source)]
    for i, row in enumerate(meta):
        assert row["episode_index"] == i
        assert row["length"] == lengths[i]
        assert (row["dataset_from_index"], row["dataset_to_index"]) == (starts[i], starts[i] + lengths[i])
        assert (row["data/chunk_index"], row["data/file_index"]) == (0, 0)
        assert (row["meta/episodes/chunk_index"], row["meta/episodes/file_index"]) == (0, 0)
        assert row["tg_episode_id"] == ids[i]
        for camera in ("head", "wrist"):
            key = f"videos/observation.images.{camera}"
            assert (row[f"{key}/chunk_index"], row[f"{key}/file_index"]) == (0, 0)
            assert row[f"{key}/from_timestamp"] == pytest.approx(starts[i] / FPS)
            assert row[f"{key}/to_timestamp"] == pytest.approx((starts[i] + lengths[i]) / FPS)
        assert row["tasks"] == (["lift"] if i == 1 else ["put the cube in the bin"])
        for feature in ("observation.state", "action", "timestamp", "observation.images.head"):
            assert {k.split("/")[-1] for k in row if k.startswith(f"stats/{feature}/")} == STAT_KEYS
        assert row["stats/observation.state/count"] == [lengths[i]]
        assert len(row["stats/observation.images.head/mean"]) == 3  # (3, 1, 1) per channel


def test_stats_json_matches_the_exported_values(exported):
    out, _ = exported
    stats = json.loads((out / "meta/stats.json").read_text())
    table = pq.read_table(out / "data/chunk-000/file-000.parquet")
    for key in ("observation.state", "action"):
        values = np.array(table.column(key).to_pylist(), dtype=np.float64)
        assert set(stats[key]) == STAT_KEYS
        assert stats[key]["count"] == [table.num_rows]
        assert np.allclose(stats[key]["mean"], values.mean(axis=0))
        assert np.allclose(stats[key]["std"], values.std(axis=0))
        assert np.allclose(stats[key]["min"], values.min(axis=0))
        assert np.allclose(stats[key]["max"], values.max(axis=0))
    head = stats["observation.images.head"]
    assert np.array(head["mean"]).shape == (3, 1, 1)
    assert 0.0 <= np.array(head["min"]).min() <= np.array(head["max"]).max() <= 1.0


def test_videos_decode_to_the_source_frames_at_their_timestamps(exported, source):
    out, _ = exported
    times, decoded = decode_video(out / "videos/observation.images.head/chunk-000/file-000.mp4")
    total = sum(len(raw_ticks(p)) for p in episodes.list_episodes(source))
    assert len(decoded) == total
    assert np.abs(times - np.arange(total) / FPS).max() < 1e-4
    expected = []
    for path in episodes.list_episodes(source):
        with h5py.File(path, "r") as f:
            index = f["aligned/streams/head/index"][()]
        # loader_corpus: camera frame k is textured_frame(k), stored as lossless PNG.
        expected += [textured_frame(int(k), *SIZE) for k in index]
    quality = [psnr(a, b) for a, b in zip(decoded, expected, strict=True)]
    shifted = [psnr(a, b) for a, b in zip(decoded[1:], expected[:-1], strict=False)]
    # Lossy video: close to its own frame, clearly further from the one before it.
    assert min(quality) > 24, quality
    assert np.median(quality) > np.median(shifted) + 3


def test_active_range_exports_only_the_annotated_ticks(dataset, tmp_path):
    path = episodes.list_episodes(dataset)[0]
    for other in episodes.list_episodes(dataset)[1:]:
        mark_active(other, 0, 5)
    mark_active(path, 3, 12)
    episodes.export_lerobot(dataset, tmp_path / "active", ExportOptions(active_range=True))
    table = pq.read_table(tmp_path / "active/data/chunk-000/file-000.parquet")
    first = table.filter(table.column("episode_index").to_numpy() == 0)
    state = np.array(first.column("observation.state").to_pylist())
    assert len(state) == 9
    assert np.array_equal(state[:, 1:], raw_rows(path, "joint_position")[3:12].astype(np.float32))
    assert first.column("timestamp").to_numpy()[0] == 0.0


def test_image_size_resizes_every_camera(dataset, tmp_path):
    result = episodes.export_lerobot(
        dataset, tmp_path / "small", ExportOptions(image_size=(12, 20), cameras=["head"])
    )
    info = json.loads((tmp_path / "small/meta/info.json").read_text())
    assert info["features"]["observation.images.head"]["shape"] == [12, 20, 3]
    assert "observation.images.wrist" not in info["features"]
    _, decoded = decode_video(tmp_path / "small/videos/observation.images.head/chunk-000/file-000.mp4")
    assert decoded[0].shape == (12, 20, 3)
    assert result.cameras == ("head",)


def test_files_roll_over_at_the_size_limits(dataset, tmp_path, monkeypatch):
    monkeypatch.setattr(_lerobot, "DATA_FILES_SIZE_IN_MB", 1e-6)
    monkeypatch.setattr(_lerobot, "VIDEO_FILES_SIZE_IN_MB", 1e-6)
    episodes.export_lerobot(dataset, tmp_path / "rolled")
    meta = pq.read_table(tmp_path / "rolled/meta/episodes/chunk-000/file-000.parquet").to_pylist()
    assert [r["data/file_index"] for r in meta] == [0, 1, 2]
    for r in meta:
        data = pq.read_table(tmp_path / f"rolled/data/chunk-000/file-{r['data/file_index']:03d}.parquet")
        assert data.column("index").to_pylist() == list(range(r["dataset_from_index"], r["dataset_to_index"]))
    # Video files roll over on the bytes the encoder has produced, which lag behind the frames given.
    key = "videos/observation.images.head"
    files = [r[f"{key}/file_index"] for r in meta]
    assert files[0] == 0 and max(files) >= 1 and files == sorted(files)
    for file in set(files):
        rows = [r for r in meta if r[f"{key}/file_index"] == file]
        assert rows[0][f"{key}/from_timestamp"] == 0.0
        times, _ = decode_video(
            tmp_path / f"rolled/videos/observation.images.head/chunk-000/file-{file:03d}.mp4"
        )
        assert len(times) == sum(r["length"] for r in rows)
        assert times[-1] == pytest.approx(rows[-1][f"{key}/to_timestamp"] - 1 / FPS)


def test_next_file_starts_a_new_chunk_after_chunks_size_files():
    assert _lerobot._next_file(0, 5) == (0, 6)
    assert _lerobot._next_file(0, _lerobot.CHUNKS_SIZE - 1) == (1, 0)


# ---------------------------------------------------------------- bad input


def test_refuses_to_overwrite(exported, source):
    out, _ = exported
    before = sorted(p.name for p in out.rglob("*"))
    with pytest.raises(episodes.ExportError, match="already exists; an export never overwrites"):
        episodes.export_lerobot(source, out)
    assert sorted(p.name for p in out.rglob("*")) == before


def test_refuses_an_output_directory_that_does_not_exist(source, tmp_path):
    with pytest.raises(episodes.ExportError, match="no such directory to export into"):
        episodes.export_lerobot(source, tmp_path / "missing" / "ds")


def test_empty_directory_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(episodes.DatasetError, match=r"no episode files \(\*\.h5\)"):
        episodes.export_lerobot(tmp_path / "empty", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_mixed_robots_are_refused(dataset, tmp_path):
    make_episode(dataset, frames=10, robot="other_arm")
    with pytest.raises(episodes.DatasetError, match="differ in robot or streams"):
        episodes.export_lerobot(dataset, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_corrupt_episode_is_skipped_with_a_warning_naming_it(dataset, tmp_path):
    bad = dataset / "01JZZZZZZZZZZZZZZZZZZZZZZZ.h5"
    bad.write_bytes(b"not hdf5 at all")
    with pytest.warns(episodes.EpisodeSkippedWarning, match=f"{bad.name}: skipped, unreadable"):
        result = episodes.export_lerobot(dataset, tmp_path / "out")
    assert result.episodes == 3


def test_episode_whose_data_is_damaged_is_skipped_with_a_warning(dataset, tmp_path):
    path = episodes.list_episodes(dataset)[1]
    with h5py.File(path, "a") as f:
        del f["streams/action_arm/data"]
    with pytest.warns(episodes.EpisodeSkippedWarning, match=f"{path.name}: skipped, unreadable"):
        result = episodes.export_lerobot(dataset, tmp_path / "out")
    assert result.episodes == 2


def test_unknown_camera_lists_the_cameras(source, tmp_path):
    with pytest.raises(episodes.ExportError, match=r"no camera 'nope'; cameras: head, wrist"):
        episodes.export_lerobot(source, tmp_path / "out", ExportOptions(cameras=["nope"]))


def test_episodes_at_different_rates_are_refused(dataset, tmp_path):
    episodes.realign(episodes.list_episodes(dataset)[0], rate_hz=5)
    # The selection refuses them before the exporter sees them: one export has one frame rate.
    with pytest.raises(episodes.DatasetError, match=r"aligned at 5 Hz .*realign them to one rate"):
        episodes.export_lerobot(dataset, tmp_path / "out")


def test_a_rate_that_is_not_whole_frames_per_second_is_refused(dataset, tmp_path):
    for path in episodes.list_episodes(dataset):
        episodes.realign(path, rate_hz=7.5)
    with pytest.raises(episodes.ExportError, match=r"7\.5 Hz is not a whole number of frames per second"):
        episodes.export_lerobot(dataset, tmp_path / "out")


def test_odd_image_size_is_refused(source, tmp_path):
    with pytest.raises(episodes.ExportError, match="needs an even height and width"):
        episodes.export_lerobot(source, tmp_path / "out", ExportOptions(image_size=(11, 20)))
    assert not (tmp_path / "out").exists()
    assert not list(tmp_path.glob(".out*"))


def test_active_range_needs_annotations(source, tmp_path):
    with pytest.raises(episodes.DatasetError, match=r"has no active range .*run `tg annotate"):
        episodes.export_lerobot(source, tmp_path / "out", ExportOptions(active_range=True))


def test_a_frame_that_does_not_decode_stops_the_export_and_leaves_nothing(dataset, tmp_path):
    path = episodes.list_episodes(dataset)[-1]
    with h5py.File(path, "a") as f:
        f["streams/head/frames"][:] = 0
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(episodes.CorruptEpisodeError, match=path.name):
        episodes.export_lerobot(dataset, out / "ds")
    assert list(out.iterdir()) == []


def test_ticks_before_a_late_stream_starts_are_left_out(tmp_path):
    root = tmp_path / "late"
    root.mkdir()
    path = make_episode(root, frames=15, late={"wrist": 4})
    result = episodes.export_lerobot(root, tmp_path / "out")
    assert result.frames == 11
    table = pq.read_table(tmp_path / "out/data/chunk-000/file-000.parquet")
    state = np.array(table.column("observation.state").to_pylist())
    with h5py.File(path, "r") as f:
        first = int(np.argmax(f["aligned/streams/wrist/index"][()] >= 0))
    assert first == 4
    assert np.array_equal(state[:, 1:], raw_rows(path, "joint_position")[first:].astype(np.float32))
    _, decoded = decode_video(tmp_path / "out/videos/observation.images.wrist/chunk-000/file-000.mp4")
    assert len(decoded) == 11


def test_exports_a_selection_and_reports_each_episode(source, tmp_path):
    selection = episodes.select_episodes(source, episodes.EpisodeFilter(task="lift"))
    seen: list[str] = []
    result = episodes.export_lerobot(selection, tmp_path / "lift", ExportOptions(on_episode=seen.append))
    assert seen == list(result.episode_ids) == [selection.episodes[0].episode_id]
    info = json.loads((tmp_path / "lift/meta/info.json").read_text())
    assert (info["total_episodes"], info["total_frames"]) == (1, 13)


def test_image_size_must_be_positive(source, tmp_path):
    with pytest.raises(episodes.ExportError, match=r"must be positive, got 0x10 \(height x width\)"):
        episodes.export_lerobot(source, tmp_path / "out", ExportOptions(image_size=(0, 10)))


def test_a_bad_action_selection_names_the_stream(source, tmp_path):
    with pytest.raises(episodes.UnknownStreamError, match=r"no array stream 'arm'; array streams: action_"):
        episodes.export_lerobot(source, tmp_path / "out", ExportOptions(action=["arm"]))
    assert not (tmp_path / "out").exists()


def test_info_json_splits_follow_splits_json(tmp_path):
    root = tmp_path / "split"
    root.mkdir()
    paths = [make_episode(root, frames=4) for _ in range(3)]
    ids = [p.name.removesuffix(".h5") for p in paths]
    valid = ids[0]  # the earliest: exported last, after the train episodes
    (root / episodes.SPLITS_FILE).write_text(
        json.dumps(
            {
                "format": "tg-splits",
                "format_version": 1,
                "method": "sha256-episode-id",
                "valid_fraction": 0.1,
                "splits": {"train": ids[1:], "valid": [valid]},
            }
        )
    )
    result = episodes.export_lerobot(root, tmp_path / "out")
    info = json.loads((tmp_path / "out/meta/info.json").read_text())
    assert info["splits"] == {"train": "0:2", "valid": "2:3"}
    assert result.episode_ids == (ids[1], ids[2], valid) and result.details["valid_episodes"] == [2]
