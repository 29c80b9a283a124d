"""The prepared training cache: the same samples as without it, invalidation, damaged entries, workers."""

from __future__ import annotations

import functools
import multiprocessing
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from episodes import DatasetError, EpisodeDataset, EpisodeFilter
from episodes._layout import ATTR_CONTENT_DIGEST
from tests.episodes.loader_corpus import make_episode, mark_active

pytestmark = pytest.mark.filterwarnings("ignore:.*never validated left out")


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four annotated episodes: two of another task, one not validated, one whose wrist camera starts late."""
    where = tmp_path_factory.mktemp("cached")
    mark_active(make_episode(where, frames=8), 2, 6)
    mark_active(make_episode(where, frames=5, task="stack"), 0, 5)
    mark_active(make_episode(where, frames=9, late={"wrist": 3}, task="stack"), 1, 8)
    mark_active(make_episode(where, frames=6, qa=None), 1, 5)
    return where


def _pair(root: Path, cache: Path, **kwargs: Any) -> tuple[EpisodeDataset, EpisodeDataset]:
    plain = EpisodeDataset(root, as_tensors=False, **kwargs)
    return plain, EpisodeDataset(root, as_tensors=False, cache=cache, **kwargs)


def _assert_same(plain: EpisodeDataset, cached: EpisodeDataset, atol: float = 0.0) -> None:
    assert len(plain) == len(cached) and plain.episodes == cached.episodes
    for i in range(len(plain)):
        a, b = plain.sample(i), cached.sample(i)
        for key in ("state", "action", "obs_is_pad", "action_is_pad", "episode_index", "frame_index"):
            np.testing.assert_array_equal(a[key], b[key])  # type: ignore[literal-required]
        assert a["images"].keys() == b["images"].keys()
        for camera, frames in a["images"].items():
            assert frames.dtype == b["images"][camera].dtype and frames.shape == b["images"][camera].shape
            np.testing.assert_allclose(frames, b["images"][camera], atol=atol, rtol=0)


@pytest.mark.parametrize(
    "options",
    [
        {"obs_horizon": 3, "action_horizon": 4, "image_size": (12, 16), "normalize": "mean_std"},
        {"obs_horizon": 2, "channels_first": False, "filter": EpisodeFilter(task="stack")},
        {"active_only": True, "split": "train", "valid_fraction": 0.3, "normalize": "min_max"},
        {"filter": EpisodeFilter(qa="any"), "cameras": ["wrist"], "image_size": (6, 8)},
    ],
    ids=["windows-resized", "channels-last-filter", "active-split", "one-camera-unvalidated"],
)
def test_the_cache_serves_the_samples_decoding_would(root: Path, tmp_path: Path, options: Any) -> None:
    plain, cached = _pair(root, tmp_path / "cache", **options)
    report = cached.cache_report
    assert report is not None and report.built == len(cached.episodes) * len(cached.layout.cameras)
    assert report.reused == 0 and not report.failed and report.bytes > 0
    _assert_same(plain, cached)


def test_float_images_from_the_cache_are_within_one_grey_level(root: Path, tmp_path: Path) -> None:
    plain, cached = _pair(root, tmp_path / "cache", obs_horizon=2, image_size=(10, 14), image_dtype="float32")
    _assert_same(plain, cached, atol=1 / 255 + 1e-6)


def test_a_second_dataset_reuses_the_cache_and_a_changed_episode_rebuilds_only_its_entries(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    first, second = make_episode(data, frames=5), make_episode(data, frames=6)
    cache = tmp_path / "cache"
    built = EpisodeDataset(data, as_tensors=False, cache=cache, image_size=(12, 16)).cache_report
    assert built is not None and (built.built, built.reused) == (4, 0)
    again = EpisodeDataset(data, as_tensors=False, cache=cache, image_size=(12, 16)).cache_report
    assert again is not None and (again.built, again.reused) == (0, 4)
    other_size = EpisodeDataset(data, as_tensors=False, cache=cache, image_size=(6, 8)).cache_report
    assert other_size is not None and other_size.built == 4  # the size is part of the key
    with h5py.File(second, "a") as f:  # the recorded content changed (as a re-recording under the id)
        f.attrs[ATTR_CONTENT_DIGEST] = "0" * 64
    changed = EpisodeDataset(data, as_tensors=False, cache=cache, image_size=(12, 16))
    report = changed.cache_report
    assert report is not None and (report.built, report.reused) == (2, 2)
    kept = sorted(p.name for p in cache.glob("*.npy"))
    assert len(kept) == 8  # the changed episode's stale entries at 12x16 are gone, the 6x8 ones stay
    assert sum(p.startswith(first.stem.split(".")[0]) for p in kept) == 4
    _assert_same(EpisodeDataset(data, as_tensors=False, image_size=(12, 16)), changed)


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_a_damaged_entry_is_rebuilt(tmp_path: Path, damage: str) -> None:
    data = tmp_path / "data"
    make_episode(data, frames=5)
    cache = tmp_path / "cache"
    EpisodeDataset(data, as_tensors=False, cache=cache)
    entry = sorted(cache.glob("*.npy"))[0]
    if damage == "truncated":  # as a crash mid-copy would leave it
        entry.write_bytes(entry.read_bytes()[: entry.stat().st_size // 2])
    else:
        entry.write_bytes(b"not an array")
    rebuilt = EpisodeDataset(data, as_tensors=False, cache=cache)
    assert rebuilt.cache_report is not None and (rebuilt.cache_report.built, rebuilt.cache_report.reused) == (
        1,
        1,
    )
    _assert_same(EpisodeDataset(data, as_tensors=False), rebuilt)
    assert not list(cache.glob("*.tmp"))


def test_a_cache_directory_that_cannot_be_made_is_refused(root: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(DatasetError, match=r"file/cache: cannot create the cache directory .*pick another"):
        EpisodeDataset(root, cache=blocker / "cache")


def _key(data: EpisodeDataset, i: int) -> tuple[int, int, int]:
    s = data.sample(i)
    return i, s["episode_index"], s["frame_index"]


def test_workers_serve_every_sample_once_from_the_cache(root: Path, tmp_path: Path) -> None:
    data = EpisodeDataset(root, as_tensors=False, cache=True, obs_horizon=2, image_size=(12, 16))
    assert data.cache_report is not None and data.cache_report.directory == str(root / ".training_cache")
    for context in ("fork", "spawn"):
        with multiprocessing.get_context(context).Pool(2) as pool:
            # Bounded: a worker stuck in its set-up fails the test instead of hanging the run.
            got = pool.map_async(functools.partial(_key, data), range(len(data)), chunksize=3).get(120)
        assert sorted(got) == [(i, *data.locate(i)) for i in range(len(data))]


def test_tg_prepare_builds_what_the_dataset_then_finds_ready(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from training_ground.cli import app

    runner = CliRunner()
    data = tmp_path / "data"
    make_episode(data, frames=5)
    make_episode(data, frames=6)
    args = ["prepare", str(data), "--image-size", "12x16", "--cameras", "head"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "2 entries built, 0 kept, 0 failed" in first.output and "image_size=(12, 16)" in first.output
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and "0 entries built, 2 kept" in again.output
    data_set = EpisodeDataset(data, as_tensors=False, cameras=["head"], image_size=(12, 16), cache=True)
    assert data_set.cache_report is not None and data_set.cache_report.reused == 2
    _assert_same(EpisodeDataset(data, as_tensors=False, cameras=["head"], image_size=(12, 16)), data_set)
    bad_size = runner.invoke(app, ["prepare", str(data), "--image-size", "12by16"])
    assert bad_size.exit_code == 2 and "'12by16' is not HEIGHTxWIDTH" in bad_size.output
    unknown = runner.invoke(app, ["prepare", str(data), "--cameras", "head,nose"])
    assert unknown.exit_code != 0 and "nose" in str(unknown.exception)


def test_entries_are_read_frame_runs_at_a_time_and_a_shrunken_entry_is_named(tmp_path: Path) -> None:
    from episodes._cache import CachedFrames

    frames = np.arange(5 * 2 * 3 * 3, dtype=np.uint8).reshape(5, 2, 3, 3)
    path = tmp_path / "entry.npy"
    np.save(path, frames)
    mapped = np.load(path, mmap_mode="r")
    entry = CachedFrames(path, int(mapped.offset), frames.shape, np.dtype(np.uint8))
    for wanted in ([0, 1, 2], [4, 4, 0], [3]):
        np.testing.assert_array_equal(entry[np.array(wanted)], frames[wanted])
    with open(path, "r+b") as f:
        f.truncate(int(mapped.offset) + 2 * frames[0].nbytes)
    with pytest.raises(OSError, match=r"entry.npy: cache entry shorter than its header says; delete it"):
        entry[np.array([3])]
