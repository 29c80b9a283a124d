"""The parts EpisodeDataset is built from, each on its own: index/split, statistics, image transform."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest

import episodes
from episodes import DatasetError, EpisodeFilter, ImageTransform, SampleNormalizer
from episodes._normalize import column_stats, computed_stats
from episodes._sample_index import check_split, choose_episodes, index_samples
from tests.episodes.loader_corpus import make_episode, mark_active


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("parts")
    for k in range(6):
        path = make_episode(where, frames=5 + k, success=k % 2 == 0, operator="bob" if k == 5 else "alice")
        mark_active(path, 1, 4)
    return where


def test_the_dataset_is_its_parts(root: Path) -> None:
    data = episodes.EpisodeDataset(root, image_size=(12, 16), image_dtype="float32", active_only=True)
    assert data.image_transform == ImageTransform((12, 16), True, "float32")
    assert (data.image_size, data.channels_first, data.image_dtype) == ((12, 16), True, "float32")
    assert data.active_only and data.index.active_only
    assert data.episodes == data.index.episodes and data.layout is data.index.layout
    assert len(data) == len(data.index) == 6 * 3
    for i in range(len(data)):
        e, frame = data.locate(i)
        assert e == data.index.episode_of(i) and frame in (1, 2, 3)


def test_the_filter_replaces_the_loose_arguments(root: Path) -> None:
    kept = episodes.EpisodeDataset(
        root, filter=EpisodeFilter(success=True, operator="alice"), as_tensors=False
    )
    assert [e.success for e in kept.episodes] == [True] * 3
    assert len(episodes.EpisodeDataset(root, filter=EpisodeFilter(operator="bob")).episodes) == 1
    with pytest.raises(TypeError, match="unexpected keyword argument 'success'"):
        episodes.EpisodeDataset(root, success=True)  # type: ignore[call-arg]
    with pytest.raises(DatasetError, match=r"no episode left of 6: 6 task is not 'lift'"):
        episodes.EpisodeDataset(root, filter=EpisodeFilter(task="lift"))


def test_index_and_split_part(root: Path, tmp_path: Path) -> None:
    chosen = EpisodeFilter()
    entries = choose_episodes(root, chosen, on_mixed="error", split=None, valid_fraction=None).episodes
    layout = episodes.sample_layout(entries[0], cameras=())
    index = index_samples(root, list(entries), layout, active_only=False)
    assert index.ranges == tuple((0, 5 + k) for k in range(6))
    assert index.starts.tolist() == [0, 5, 11, 18, 26, 35, 45] and index.samples == 45
    assert [index.episode_of(i) for i in (0, 4, 5, 44)] == [0, 0, 1, 5]
    with pytest.raises(DatasetError, match="split must be 'train', 'valid' or None, got 'test'"):
        check_split("test", None)
    with pytest.raises(DatasetError, match="valid_fraction only applies with split='train' or 'valid'"):
        check_split(None, 0.5)
    copy = tmp_path / "copy"
    copy.mkdir()
    for entry in entries:
        (copy / entry.path.name).write_bytes(entry.path.read_bytes())
    valid = choose_episodes(copy, chosen, on_mixed="error", split="valid", valid_fraction=0.5).episodes
    train = choose_episodes(copy, chosen, on_mixed="error", split="train", valid_fraction=None).episodes
    assert {e.episode_id for e in valid} | {e.episode_id for e in train} == {e.episode_id for e in entries}
    assert {e.episode_id for e in valid} == {
        e.episode_id for e in entries if episodes.split_of(e.episode_id, 0.5) == "valid"
    }


def test_statistics_part(root: Path) -> None:
    data = episodes.EpisodeDataset(root, as_tensors=False)
    loaded = [data._episode(e) for e in range(len(data.episodes))]
    stats, source = column_stats(root, data.index, data._episode)
    assert source == "computed from 6 episodes"
    rows = np.concatenate([d.action for d in loaded]).astype(np.float64)
    np.testing.assert_allclose(stats["action"].mean, rows.mean(axis=0))
    np.testing.assert_allclose(computed_stats(loaded)["state"].max, stats["state"].max)
    norm = SampleNormalizer.of(stats, "mean_std", 1e-2)
    np.testing.assert_allclose(
        norm.action.invert(norm.action.apply(rows[:3].astype(np.float32))), rows[:3], rtol=1e-5
    )
    SampleNormalizer.check(None)
    with pytest.raises(DatasetError, match="normalize must be 'mean_std', 'min_max' or None, got 'z'"):
        SampleNormalizer.check("z")


def test_image_transform_part() -> None:
    spec = episodes.ImageStreamSpec("head", width=16, height=8, encoding=episodes.ImageEncoding.PNG)
    frame = np.arange(8 * 16 * 3, dtype=np.uint8).reshape(8, 16, 3)
    _, png = cv2.imencode(".png", frame[..., ::-1])  # OpenCV writes BGR

    def read(source: str, spec: episodes.ImageStreamSpec, index: int) -> tuple[np.ndarray, str]:
        return png, f"{source} frame {index}"

    as_stored = ImageTransform(channels_first=False).stack(spec, np.array([3, 3]), read, "cam")
    assert as_stored.shape == (2, 8, 16, 3) and as_stored.dtype == np.uint8
    np.testing.assert_array_equal(as_stored[0], frame)
    np.testing.assert_array_equal(as_stored[1], frame)
    half = ImageTransform(size=(4, 8), dtype="float32").stack(spec, np.array([0]), read, "cam")
    assert half.shape == (1, 3, 4, 8) and float(half.max()) <= 1.0
    with pytest.raises(DatasetError, match=r"image_size must be \(height, width\) with positive sizes"):
        ImageTransform(size=(0, 3))
    with pytest.raises(DatasetError, match="image_dtype must be 'uint8' or 'float32', got 'int8'"):
        ImageTransform(dtype="int8")  # type: ignore[arg-type]
    small = dataclasses.replace(spec, width=32)
    with pytest.raises(
        episodes.CorruptEpisodeError, match=r"cam frame 0: decodes to 16x8, the stream declares 32x8"
    ):
        ImageTransform().stack(small, np.array([0]), read, "cam")


def test_export_options() -> None:
    options = episodes.ExportOptions(cameras=["head"], image_size=(12, 16))
    assert options.cameras == ("head",) and options.filter == EpisodeFilter() and options.on_mixed == "error"
    assert hash(options) == hash(episodes.ExportOptions(cameras=("head",), image_size=(12, 16)))
    assert set(episodes.EXPORTERS) == {"lerobot", "robomimic"}
