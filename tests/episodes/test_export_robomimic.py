"""robomimic export read back with plain h5py and compared with the source episodes.

The layout is what robomimic 0.3's ``SequenceDataset`` reads (robomimic/utils/dataset.py:
``load_demo_info``, ``load_dataset_in_memory``, ``get_dataset_for_ep``) and its
``get_env_metadata_from_dataset`` (robomimic/utils/file_utils.py). `make verify-export` loads the
same kind of file with robomimic itself.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

import episodes
from episodes import ExportOptions
from tests.episodes.conftest import textured_frame
from tests.episodes.loader_corpus import SIZE, copy_dataset, make_episode, mark_active, raw_rows


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("export") / "dataset"
    root.mkdir()
    for i in range(6):
        make_episode(
            root, frames=12 + i, success=i % 2 == 0, instruction="" if i == 1 else "put the cube in the bin"
        )
    return root


@pytest.fixture(scope="module")
def exported(source, tmp_path_factory) -> tuple[Path, episodes.ExportResult]:
    out = tmp_path_factory.mktemp("robomimic") / "demos.hdf5"
    return out, episodes.export_robomimic(source, out)


@pytest.fixture
def dataset(source, tmp_path) -> Path:
    return copy_dataset(source, tmp_path)


def test_demos_hold_the_source_episodes(exported, source):
    out, result = exported
    paths = episodes.list_episodes(source)
    with h5py.File(out, "r") as f:
        data = f["data"]
        assert sorted(data) == sorted(f"demo_{i}" for i in range(len(paths)))
        total = 0
        for i, path in enumerate(paths):
            demo = data[f"demo_{i}"]
            with h5py.File(path, "r") as raw:
                head_index = raw["aligned/streams/head/index"][()]
            n = len(head_index)
            total += n
            assert demo.attrs["num_samples"] == n
            assert np.allclose(demo["obs/joint_position"][()], raw_rows(path, "joint_position"))
            assert np.allclose(demo["obs/gripper_state"][()], raw_rows(path, "gripper_state"))
            actions = np.hstack([raw_rows(path, "action_arm"), raw_rows(path, "action_gripper")])
            assert np.array_equal(demo["actions"][()], actions.astype(np.float32))
            images = demo["obs/head_image"]
            assert (images.dtype, images.shape) == (np.uint8, (n, *SIZE, 3))
            # loader_corpus stores head frame k as textured_frame(k) in lossless PNG: exact.
            assert np.array_equal(images[()], np.stack([textured_frame(int(k), *SIZE) for k in head_index]))
            assert demo["obs/wrist_image"].shape == (n, SIZE[0] // 2, SIZE[1] // 2, 3)
            assert demo["dones"][()].tolist() == [0] * (n - 1) + [1]
            with episodes.open(path) as ep:
                meta = ep.metadata
            assert demo["rewards"][()].tolist() == [0.0] * (n - 1) + [1.0 if meta.success else 0.0]
            ep_meta = json.loads(demo.attrs["ep_meta"])
            assert ep_meta["lang"] == (meta.instruction or meta.task)
            assert ep_meta["episode_id"] == meta.episode_id
        assert data.attrs["total"] == total == result.frames


def test_next_obs_is_obs_one_tick_later(exported):
    out, _ = exported
    with h5py.File(out, "r") as f:
        demo = f["data/demo_2"]
        assert set(demo["next_obs"]) == set(demo["obs"])
        for key in demo["obs"]:
            obs, nxt = demo["obs"][key][()], demo["next_obs"][key][()]
            assert np.array_equal(nxt[:-1], obs[1:]), key
            assert np.array_equal(nxt[-1], obs[-1]), key


def test_env_args_and_masks(exported, source):
    out, result = exported
    with h5py.File(out, "r") as f:
        env = json.loads(f["data"].attrs["env_args"])
        assert set(env) == {"env_name", "type", "env_kwargs"}
        assert env["env_name"] == "pick_place"
        assert env["env_kwargs"]["control_freq"] == 10
        train = [n.decode() for n in f["mask/train"][()]]
        valid = [n.decode() for n in f["mask/valid"][()]]
    assert sorted(train + valid) == sorted(f"demo_{i}" for i in range(6))
    assert not set(train) & set(valid)
    demo_of = result.details["demos"]
    for episode_id, demo in demo_of.items():
        # No splits.json yet: the loader's rule, a hash of the episode id.
        assert (demo in valid) == (episodes.split_of(episode_id, 0.1) == "valid")


def test_masks_follow_the_datasets_splits_file(dataset, tmp_path):
    ids = [p.name.removesuffix(".h5") for p in episodes.list_episodes(dataset)]
    splits = episodes.update_splits(dataset, ids, valid_fraction=0.5)
    result = episodes.export_robomimic(dataset, tmp_path / "split.hdf5")
    with h5py.File(tmp_path / "split.hdf5", "r") as f:
        valid = {n.decode() for n in f["mask/valid"][()]}
    assert valid == {result.details["demos"][i] for i in splits.valid}
    lerobot = episodes.export_lerobot(dataset, tmp_path / "split_lerobot")
    assert [lerobot.episode_ids[i] for i in lerobot.details["valid_episodes"]] == sorted(splits.valid)


def test_active_range_and_resize(dataset, tmp_path):
    paths = episodes.list_episodes(dataset)
    for path in paths:
        mark_active(path, 2, 9)
    options = ExportOptions(active_range=True, image_size=(12, 16), cameras=["head"])
    episodes.export_robomimic(dataset, tmp_path / "small.hdf5", options)
    with h5py.File(tmp_path / "small.hdf5", "r") as f:
        demo = f["data/demo_0"]
        assert demo.attrs["num_samples"] == 7
        assert demo["obs/head_image"].shape == (7, 12, 16, 3)
        assert "wrist_image" not in demo["obs"]
        assert np.allclose(demo["obs/joint_position"][()], raw_rows(paths[0], "joint_position")[2:9])


def test_refuses_to_overwrite(exported, source):
    out, _ = exported
    size = out.stat().st_size
    with pytest.raises(episodes.ExportError, match="already exists; an export never overwrites"):
        episodes.export_robomimic(source, out)
    assert out.stat().st_size == size


def test_unknown_camera_lists_the_cameras(source, tmp_path):
    with pytest.raises(episodes.ExportError, match=r"no camera 'depth'; cameras: head, wrist"):
        episodes.export_robomimic(source, tmp_path / "x.hdf5", ExportOptions(cameras=["depth"]))


def test_a_frame_that_does_not_decode_stops_the_export_and_leaves_nothing(dataset, tmp_path):
    path = episodes.list_episodes(dataset)[-1]
    with h5py.File(path, "a") as f:
        f["streams/head/frames"][:] = 0
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(episodes.CorruptEpisodeError, match=path.name):
        episodes.export_robomimic(dataset, out / "x.hdf5")
    assert list(out.iterdir()) == []


def test_mixed_stream_sets_are_refused_or_skipped(dataset, tmp_path):
    from tests.episodes.loader_corpus import specs

    make_episode(dataset, frames=10, streams=specs(robot_streams=False))
    with pytest.raises(episodes.DatasetError, match="differ in robot or streams"):
        episodes.export_robomimic(dataset, tmp_path / "mixed.hdf5")
    with pytest.warns(episodes.EpisodeSkippedWarning, match="another robot or stream set left out"):
        result = episodes.export_robomimic(dataset, tmp_path / "mixed.hdf5", ExportOptions(on_mixed="skip"))
    assert result.episodes == 6
