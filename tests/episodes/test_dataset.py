"""EpisodeDataset: sample windows against the raw data, images, normalisation, splits, workers."""

from __future__ import annotations

import copy
import functools
import importlib.util
import multiprocessing
import os
import pickle
import warnings
from pathlib import Path
from typing import Any

import cv2
import h5py
import numpy as np
import pytest

import episodes
from episodes import DatasetError, EpisodeDataset, EpisodeSkippedWarning, UnknownStreamError
from episodes._qa._stats import stream_stats, write_dataset_stats
from tests.episodes.conftest import textured_frame
from tests.episodes.loader_corpus import SIZE, camera_frame, make_episode, mark_active, specs


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three episodes; in the last, the wrist camera starts three ticks late (and is not required)."""
    where = tmp_path_factory.mktemp("dataset")
    make_episode(where, frames=7)
    make_episode(where, frames=4)
    make_episode(where, frames=9, late={"wrist": 3})
    return where


def _numpy(root: Path, **kwargs: Any) -> EpisodeDataset:
    return EpisodeDataset(root, as_tensors=False, **kwargs)


def _raw(path: Path, layout: episodes.SampleLayout) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """Aligned state, action, tick times and camera frame indices straight from the file."""
    with episodes.open(path) as ep:
        view = ep.aligned
        values = {n: np.asarray(ep.read(n).data) for n in (*layout.state_streams, *layout.action_streams)}

        def rows(names: tuple[str, ...]) -> np.ndarray:
            return np.concatenate([values[n][view.index[n]] for n in names], axis=1).astype(np.float32)

        frames = {c: view.index[c] for c in layout.camera_names}
        return rows(layout.state_streams), rows(layout.action_streams), view.time_ns, frames


def test_every_window_matches_the_raw_aligned_data(root: Path) -> None:
    data = _numpy(root, obs_horizon=3, action_horizon=5)
    assert len(data) == 7 + 4 + (9 - 3)
    seen = 0
    for e, entry in enumerate(data.episodes):
        state, action, time_ns, frames = _raw(entry.path, data.layout)
        first = 3 if e == 2 else 0  # before tick 3 the late wrist camera has no frame
        ticks = np.arange(first, len(time_ns))
        n = len(ticks)
        for row, tick in enumerate(ticks):
            s = data.sample(seen)
            seen += 1
            assert (s["episode_index"], s["frame_index"], s["time_ns"]) == (e, tick, time_ns[tick])
            obs_rows = np.arange(row - 2, row + 1)
            act_rows = np.arange(row, row + 5)
            np.testing.assert_array_equal(s["obs_is_pad"], obs_rows < 0)
            np.testing.assert_array_equal(s["action_is_pad"], act_rows >= n)
            obs_ticks = ticks[np.clip(obs_rows, 0, n - 1)]
            act_ticks = ticks[np.clip(act_rows, 0, n - 1)]
            np.testing.assert_array_equal(s["state"], state[obs_ticks])
            np.testing.assert_array_equal(s["action"], action[act_ticks])
            # The action window really is the next aligned actions: action_arm sample k holds 1000 + k.
            real = act_ticks[~s["action_is_pad"]]
            np.testing.assert_array_equal(s["action"][~s["action_is_pad"], 0], 1000.0 + real)
            # head is lossless PNG: frame k is exactly textured_frame(k); channel-first by default.
            for j, tick_j in enumerate(obs_ticks):
                expected = textured_frame(int(frames["head"][tick_j]), *SIZE)
                np.testing.assert_array_equal(s["images"]["head"][j], expected.transpose(2, 0, 1))
            assert s["task"] == "pick_place" and s["instruction"] == "put the cube in the bin"
    assert seen == len(data)


def test_edges_pad_exactly(root: Path) -> None:
    data = _numpy(root, obs_horizon=2, action_horizon=3)
    # Episode 1 has 4 ticks: samples 7..10.
    pads = [
        (data.sample(i)["obs_is_pad"].tolist(), data.sample(i)["action_is_pad"].tolist())
        for i in range(7, 11)
    ]
    assert pads == [
        ([True, False], [False, False, False]),
        ([False, False], [False, False, False]),
        ([False, False], [False, False, True]),
        ([False, False], [False, True, True]),
    ]
    first = data.sample(7)
    np.testing.assert_array_equal(first["state"][0], first["state"][1])  # padding repeats the edge
    np.testing.assert_array_equal(first["images"]["wrist"][0], first["images"]["wrist"][1])
    last = data.sample(10)
    assert (last["action"][1:] == last["action"][0]).all()


def test_window_longer_than_the_episode_is_padded(tmp_path: Path) -> None:
    make_episode(tmp_path, frames=3)
    data = _numpy(tmp_path, action_horizon=10, obs_horizon=5, cameras=())
    assert len(data) == 3
    s = data.sample(1)
    assert s["action_is_pad"].tolist() == [False, False] + [True] * 8
    assert s["obs_is_pad"].tolist() == [True] * 3 + [False] * 2
    assert s["images"] == {}


def test_image_options(root: Path) -> None:
    last = _numpy(root, channels_first=False, image_dtype="float32", image_size=(6, 8), obs_horizon=2)
    s = last.sample(0)
    assert s["images"]["head"].shape == (2, 6, 8, 3) and s["images"]["head"].dtype == np.float32
    frame = textured_frame(0, *SIZE)
    expected = cv2.resize(frame.astype(np.float32), (8, 6), interpolation=cv2.INTER_AREA) / 255
    np.testing.assert_allclose(s["images"]["head"][1], expected, atol=1e-5)
    # The wrist camera is JPEG 16x12: resized to 3x4 it is decoded at 1/4 scale, close to a full decode.
    small = _numpy(root, image_size=(3, 4)).sample(0)["images"]["wrist"][0]
    with episodes.open(last.episodes[0].path) as ep:
        full = ep.image("wrist", 0).decode()
    reference = cv2.resize(full, (4, 3), interpolation=cv2.INTER_AREA).transpose(2, 0, 1)
    assert small.dtype == np.uint8 and small.shape == (3, 3, 4)
    assert np.abs(small.astype(int) - reference.astype(int)).mean() < 12


def test_depth_and_mono_cameras(tmp_path: Path) -> None:
    depth = episodes.ImageStreamSpec(
        "depth",
        width=16,
        height=12,
        kind=episodes.StreamKind.DEPTH,
        channels=1,
        encoding=episodes.ImageEncoding.PNG,
        rate_hz=10,
    )
    mono = episodes.ImageStreamSpec(
        "mono", width=16, height=12, channels=1, encoding=episodes.ImageEncoding.PNG, rate_hz=10
    )
    make_episode(tmp_path, frames=4, streams=[*specs()[:4], depth, mono])
    raw = _numpy(tmp_path, channels_first=False).sample(2)["images"]
    assert raw["depth"].dtype == np.uint16 and raw["depth"].shape == (1, 12, 16, 1)
    np.testing.assert_array_equal(raw["depth"][0, :, :, 0], camera_frame(depth, 2))
    np.testing.assert_array_equal(raw["mono"][0, :, :, 0], camera_frame(mono, 2))
    metres = _numpy(tmp_path, image_dtype="float32", image_size=(6, 8)).sample(2)["images"]
    assert metres["depth"].shape == (1, 1, 6, 8) and metres["mono"].shape == (1, 1, 6, 8)
    # Depth is resized by nearest neighbour (averaging would invent distances) and given in metres.
    nearest = cv2.resize(camera_frame(depth, 2), (8, 6), interpolation=cv2.INTER_NEAREST)
    np.testing.assert_allclose(metres["depth"][0, 0], nearest * 0.001, rtol=1e-6)
    area = cv2.resize(camera_frame(mono, 2).astype(np.float32), (8, 6), interpolation=cv2.INTER_AREA)
    np.testing.assert_allclose(metres["mono"][0, 0], area / 255, atol=1e-5)


def test_normalisation_round_trips_and_centres(root: Path) -> None:
    for method in ("mean_std", "min_max"):
        data = _numpy(root, normalize=method, action_horizon=2)
        raw = _numpy(root, action_horizon=2)
        actions = np.stack([data.sample(i)["action"][0] for i in range(len(data))])
        originals = np.stack([raw.sample(i)["action"][0] for i in range(len(raw))])
        np.testing.assert_allclose(data.unnormalize_action(actions), originals, rtol=1e-6)
        if method == "mean_std":
            np.testing.assert_allclose(actions.mean(axis=0), 0.0, atol=1e-4)
            np.testing.assert_allclose(actions.std(axis=0), 1.0, atol=1e-4)
        else:
            np.testing.assert_allclose(actions.min(axis=0), -1.0, atol=1e-6)
            np.testing.assert_allclose(actions.max(axis=0), 1.0, atol=1e-6)
    assert data.stats_source == "computed from 3 episodes"


def test_unnormalize_without_normalisation_is_identity(root: Path) -> None:
    a = np.ones((2, 4), dtype=np.float32)
    assert _numpy(root).unnormalize_action(a) is a


def test_scale_is_clipped_for_columns_that_never_move() -> None:
    stats = episodes.ColumnStats(
        mean=np.array([1.0, 2.0]),
        std=np.array([0.0, 3.0]),
        min=np.array([1.0, 0.0]),
        max=np.array([1.0, 4.0]),
    )
    norm = episodes.Normalizer.of(stats, "mean_std", 1e-2)
    np.testing.assert_allclose(norm.scale, [1e-2, 3.0])
    x = np.array([[1.0, 5.0]], dtype=np.float32)
    np.testing.assert_allclose(norm.invert(norm.apply(x)), x)
    mm = episodes.Normalizer.of(stats, "min_max", 1e-2)
    np.testing.assert_allclose(mm.apply(np.array([1.0, 4.0], dtype=np.float32)), [0.0, 1.0])
    with pytest.raises(DatasetError, match="normalize must be 'mean_std', 'min_max' or None, got 'z'"):
        episodes.Normalizer.of(stats, "z", 1e-2)  # type: ignore[arg-type]


def test_stats_come_from_a_fresh_dataset_stats_file(tmp_path: Path) -> None:
    paths = [make_episode(tmp_path, frames=6), make_episode(tmp_path, frames=5)]
    per_episode = {}
    for path in paths:
        with episodes.open(path) as ep:
            view = ep.aligned
            stats = []
            for name in ("gripper_state", "joint_position", "action_arm", "action_gripper"):
                spec = ep.stream(name).spec
                rows = np.asarray(ep.read(name).data)[view.index[name]] * 2.0  # not what the loader computes
                stats.append(stream_stats(name, spec.names, spec.units, rows))
            per_episode[ep.metadata.episode_id] = stats
    write_dataset_stats(tmp_path, per_episode)
    data = _numpy(tmp_path, normalize="mean_std")
    assert data.stats_source == "dataset_stats.json"
    stored = episodes.load_dataset_stats(tmp_path).streams
    np.testing.assert_allclose(data.stats["action"].mean[:3], stored["action_arm"].mean)
    some = _numpy(tmp_path, normalize="mean_std", state_streams=["joint_position:wrist,shoulder"])
    assert some.stats_source == "dataset_stats.json" and some.state_names[0] == "joint_position.wrist"
    np.testing.assert_allclose(some.stats["state"].mean, np.asarray(stored["joint_position"].mean)[[2, 0]])
    make_episode(tmp_path, frames=5)  # the file no longer covers the dataset: stale
    assert _numpy(tmp_path, normalize="mean_std").stats_source == "computed from 3 episodes"


def test_filters_active_range_and_splits(tmp_path: Path) -> None:
    paths = [make_episode(tmp_path, frames=6, success=k % 2 == 0) for k in range(12)]
    assert len(_numpy(tmp_path, filter=episodes.EpisodeFilter(success=True)).episodes) == 6
    with pytest.raises(DatasetError, match=r"has no active range \(active_only=True\); run `tg annotate"):
        _numpy(tmp_path, active_only=True)
    for path in paths:
        mark_active(path, 1, 4)
    trimmed = _numpy(tmp_path, active_only=True)
    assert len(trimmed) == 12 * 3 and {trimmed.locate(i)[1] for i in range(len(trimmed))} == {1, 2, 3}
    train = _numpy(tmp_path, split="train", valid_fraction=0.3)
    valid = _numpy(tmp_path, split="valid")
    train_ids = {e.episode_id for e in train.episodes}
    valid_ids = {e.episode_id for e in valid.episodes}
    assert not train_ids & valid_ids and len(train_ids | valid_ids) == 12
    assert valid_ids == {i for i in train_ids | valid_ids if episodes.split_of(i, 0.3) == "valid"}
    assert (tmp_path / "splits.json").is_file()
    make_episode(tmp_path, frames=6)
    again = {e.episode_id for e in _numpy(tmp_path, split="valid").episodes}
    assert valid_ids <= again  # the new episode moved nobody


def test_only_episodes_that_passed_qa_are_served_and_the_repr_says_why(tmp_path: Path) -> None:
    kept = make_episode(tmp_path, frames=5)
    make_episode(tmp_path, frames=6, qa=False)  # e.g. a NaN joint flagged by tg validate --write
    make_episode(tmp_path, frames=7, qa=None)
    with pytest.warns(
        EpisodeSkippedWarning, match=r"1 episode\(s\) never validated left out; run `tg validate"
    ):
        data = _numpy(tmp_path)
    assert [e.path for e in data.episodes] == [kept] and len(data) == 5
    assert data.excluded == {"failed the quality gate": 1, "never validated": 1}
    assert repr(data) == (
        f"EpisodeDataset({str(tmp_path)!r}, episodes=1, samples=5, split=None, "
        "left out: 1 failed the quality gate, 1 never validated)"
    )
    everything = _numpy(tmp_path, filter=episodes.EpisodeFilter(qa="any"))
    assert len(everything.episodes) == 3 and len(everything) == 18
    assert repr(everything).endswith("samples=18, split=None)")


def test_a_copied_episode_is_served_once(tmp_path: Path) -> None:
    original = make_episode(tmp_path, frames=5)
    copy = tmp_path / "zz_copy.h5"
    copy.write_bytes(original.read_bytes())
    with pytest.warns(EpisodeSkippedWarning, match=rf"{copy}: skipped, same episode id .* as {original}"):
        data = _numpy(tmp_path)
    assert [e.path for e in data.episodes] == [original] and len(data) == 5
    assert "left out: 1 duplicate of another file" in repr(data)


def test_bad_options_are_refused(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"obs_horizon": 0}, "obs_horizon must be at least 1, got 0"),
        ({"action_horizon": -2}, "action_horizon must be at least 1, got -2"),
        ({"image_size": (0, 4)}, r"image_size must be \(height, width\) with positive sizes, got \(0, 4\)"),
        ({"image_dtype": "float16"}, "image_dtype must be 'uint8' or 'float32', got 'float16'"),
        ({"split": "test"}, "split must be 'train', 'valid' or None, got 'test'"),
        ({"normalize": "zscore"}, "normalize must be 'mean_std', 'min_max' or None, got 'zscore'"),
        ({"valid_fraction": 0.2}, "valid_fraction only applies with split='train' or 'valid'"),
    ]
    for kwargs, message in cases:
        with pytest.raises(DatasetError, match=message):
            EpisodeDataset(root, **kwargs)
    with pytest.raises(UnknownStreamError, match=r"no camera 'front'; cameras: head, wrist"):
        EpisodeDataset(root, cameras=["front"])
    with pytest.raises(DatasetError, match=r"none of the 3 selected episodes is in split 'valid'"):
        EpisodeDataset(root, split="valid", valid_fraction=0.0)
    (root / "splits.json").unlink()
    data = _numpy(root)
    with pytest.raises(IndexError, match=f"sample index {len(data)} out of range for {len(data)} samples"):
        data.sample(len(data))
    assert data.sample(-1)["frame_index"] == 8
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a)
    )
    with pytest.raises(DatasetError, match=r"as_tensors=True needs PyTorch \(pip install torch\)"):
        EpisodeDataset(root, as_tensors=True)
    without_torch = EpisodeDataset(root)
    assert isinstance(without_torch[0]["action"], np.ndarray)


def test_no_usable_tick_is_refused(tmp_path: Path) -> None:
    make_episode(tmp_path, frames=3, late={"wrist": 5})
    with pytest.raises(
        DatasetError, match=r"have no aligned tick where every stream used \(.*wrist\) has a sample"
    ):
        _numpy(tmp_path)
    assert len(_numpy(tmp_path, cameras=["head"])) == 3


def test_a_damaged_frame_mid_epoch_is_replaced_with_a_warning(tmp_path: Path) -> None:
    make_episode(tmp_path, frames=4)
    damaged = make_episode(tmp_path, frames=4)
    with h5py.File(damaged, "a") as f:
        g = f["streams/head"]
        start = int(g["frame_offset"][2])
        g["frames"][start : start + 16] = np.zeros(16, dtype=np.uint8)  # no PNG signature any more
    data = _numpy(tmp_path)
    with pytest.warns(
        EpisodeSkippedWarning, match=rf"{damaged.name}: sample skipped, unreadable \(.*frame 2"
    ):
        got = [data.sample(i) for i in range(len(data))]
    assert len(got) == 8
    assert [(s["episode_index"], s["frame_index"]) for s in got][6] == (1, 3)  # sample 6 replaced by 7


def test_a_file_gone_bad_after_indexing_is_skipped(tmp_path: Path) -> None:
    make_episode(tmp_path, frames=3)
    bad = make_episode(tmp_path, frames=3)
    data = _numpy(tmp_path)
    bad.write_bytes(b"\0" * 100)
    with pytest.warns(EpisodeSkippedWarning, match=rf"{bad.name}: sample skipped"):
        got = [data.sample(i)["episode_index"] for i in range(len(data))]
    assert got == [0, 0, 0, 0, 0, 0]


def test_pickles_without_open_files(root: Path) -> None:
    data = _numpy(root, normalize="mean_std")
    data.sample(0)
    assert data._open  # a file is open in this process...
    clone = pickle.loads(pickle.dumps(data))
    assert not clone._open and not clone._cache  # ...and none travels
    assert copy.deepcopy(data) is not copy.deepcopy(data)  # in its own process, a copy is a copy
    np.testing.assert_array_equal(clone.sample(5)["action"], data.sample(5)["action"])
    data.close()


def _key(args: tuple[EpisodeDataset, int]) -> tuple[int, int, int]:
    data, i = args
    s = data.sample(i)
    return i, s["episode_index"], s["frame_index"]


def test_process_pool_yields_every_sample_once(root: Path) -> None:
    data = _numpy(root, obs_horizon=2, action_horizon=3, image_size=(12, 16))
    data.sample(0)  # an open file in the parent must not leak into the workers
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        got = pool.map_async(_key, [(data, i) for i in range(len(data))], chunksize=3).get(120)
    assert sorted(got) == [(i, *data.locate(i)) for i in range(len(data))]


def _where(data: EpisodeDataset, i: int) -> tuple[int, tuple[int, int], int, int, bool]:
    cached = data.locate(i)[0] in data._cache  # before the sample: inherited from the parent?
    s = data.sample(i)
    return os.getpid(), (id(data), id(data._state)), s["episode_index"], s["frame_index"], cached


def test_a_pool_resending_the_dataset_with_each_chunk_reuses_each_workers_files(root: Path) -> None:
    # Pool.imap pickles functools.partial(f, data) with every chunk: a worker that started afresh
    # with each copy would reopen its files and reload its episodes every few samples.
    data = _numpy(root, obs_horizon=2, image_size=(12, 16), normalize="mean_std")  # stats load all
    with multiprocessing.get_context("fork").Pool(2) as pool:
        chunks = pool.map_async(functools.partial(_where, data), range(len(data)), chunksize=2)
        got = chunks.get(120)
    states: dict[int, set[tuple[int, int]]] = {}
    for pid, state, *_ in got:
        states.setdefault(pid, set()).add(state)
    assert all(len(ids) == 1 for ids in states.values()), states  # one dataset object and state per worker
    assert all(cached for *_, cached in got)  # the parent's episodes came with the fork
    assert sorted((e, f) for _, _, e, f, _ in got) == [data.locate(i) for i in range(len(data))]


def test_dataloader_with_two_workers_yields_every_sample_once_per_epoch(root: Path) -> None:
    torch = pytest.importorskip("torch")
    data = EpisodeDataset(root, action_horizon=4, obs_horizon=2, image_size=(12, 16), normalize="min_max")
    assert isinstance(data[0]["action"], torch.Tensor)
    loader = torch.utils.data.DataLoader(data, batch_size=4, shuffle=True, num_workers=2)
    for _ in range(2):
        seen = []
        for batch in loader:
            assert batch["images"]["head"].shape[1:] == (2, 3, 12, 16)
            assert batch["action"].dtype == torch.float32 and batch["action_is_pad"].dtype == torch.bool
            seen += list(zip(batch["episode_index"].tolist(), batch["frame_index"].tolist(), strict=True))
        assert sorted(seen) == sorted(data.locate(i) for i in range(len(data)))
    restored = data.unnormalize_action(batch["action"])
    assert isinstance(restored, torch.Tensor) and restored.shape == batch["action"].shape


def test_warnings_are_silent_on_a_clean_dataset(root: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = _numpy(root, obs_horizon=2)
        for i in range(len(data)):
            data.sample(i)


def test_every_episode_failing_is_an_error_not_a_loop(tmp_path: Path) -> None:
    paths = [make_episode(tmp_path, frames=3) for _ in range(2)]
    data = _numpy(tmp_path)
    for path in paths:
        path.write_bytes(b"\0" * 100)
    with pytest.warns(EpisodeSkippedWarning), pytest.raises(DatasetError, match="no sample can be read"):
        data.sample(0)


def test_a_file_cut_short_while_open_is_skipped(tmp_path: Path) -> None:
    path = make_episode(tmp_path, frames=6)
    data = _numpy(tmp_path, cameras=["head"])
    data.sample(0)  # the file is open now
    with open(path, "r+b") as f:
        f.truncate(2048)  # every frame lay beyond this
    beyond = r"lie beyond the end of the file"
    with pytest.warns(EpisodeSkippedWarning, match=beyond), pytest.raises(DatasetError, match="no sample"):
        data.sample(5)


def test_a_frame_of_another_size_is_named(tmp_path: Path) -> None:
    path = make_episode(tmp_path, frames=3)
    _, small = cv2.imencode(".png", np.zeros((5, 7, 3), np.uint8))
    with h5py.File(path, "a") as f:
        g = f["streams/head"]
        g["frames"].resize((g["frames"].shape[0] + small.size,))
        g["frames"][-small.size :] = small.ravel()
        g["frame_offset"][1] = g["frames"].shape[0] - small.size
        g["frame_size"][1] = small.size
    with pytest.warns(EpisodeSkippedWarning, match=r"frame 1: decodes to 7x5, the stream declares 32x24"):
        _numpy(tmp_path).sample(1)


def test_an_episode_changed_after_building_is_named(tmp_path: Path) -> None:
    path = make_episode(tmp_path, frames=8)
    data = _numpy(tmp_path)
    episodes.realign(path, rate_hz=5)  # fewer aligned ticks than the dataset indexed
    changed = r"changed since the dataset was built; build it again"
    with pytest.warns(EpisodeSkippedWarning, match=changed), pytest.raises(DatasetError, match="no sample"):
        data.sample(0)


def test_a_stream_missing_from_the_aligned_view_is_named(tmp_path: Path) -> None:
    path = make_episode(tmp_path, frames=3)
    with h5py.File(path, "a") as f:
        del f["aligned/streams/wrist"]
    entry = episodes.scan_episode(path)
    with pytest.raises(
        UnknownStreamError, match=r"stream 'wrist' is not in the aligned view .*run `tg realign`"
    ):
        episodes.load_aligned(entry, episodes.sample_layout(entry))
    skipped = r"skipped, unreadable \(.*'wrist' is not in the aligned view"
    with (
        pytest.warns(EpisodeSkippedWarning, match=skipped),
        pytest.raises(DatasetError, match="every selected"),
    ):
        _numpy(tmp_path)
