"""LeRobot export over an executor: episodes encoded on worker processes, one merge in the caller.

Real spawned worker processes (``tg_exec.LocalExecutor``): the same bytes whichever number of
workers encodes the episodes, the packed videos decoding frame-exact at every episode's
``from_timestamp``, a crashed worker or a broken episode failing the export by name and
leaving nothing, and a retried job rewriting its own fragments. The Ray executor keeps the
same contract; its tests run a cluster (the lead's ``tests/tg_exec``).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
from pathlib import Path

import av
import h5py
import numpy as np
import pyarrow.parquet as pq
import pytest

import episodes
from episodes import ExportOptions
from episodes._export import _lerobot, _lerobot_episode
from episodes._export._source import open_source
from tests.episodes.conftest import textured_frame
from tests.episodes.loader_corpus import RATE_HZ, SIZE, copy_dataset, make_episode
from tg_exec import Executor, LocalExecutor, default_workers


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """Four episodes of different lengths and two tasks."""
    root = tmp_path_factory.mktemp("parallel") / "dataset"
    root.mkdir()
    for frames, task in ((14, "pick_place"), (9, "lift"), (17, "pick_place"), (6, "lift")):
        make_episode(root, frames=frames, task=task, instruction="" if task == "lift" else "put it away")
    return root


@pytest.fixture(scope="module")
def two_workers(source, tmp_path_factory) -> tuple[Path, episodes.ExportResult]:
    out = tmp_path_factory.mktemp("two") / "ds"
    return out, episodes.export_lerobot(source, out, ExportOptions(workers=2))


def digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_one_and_two_workers_write_the_same_bytes(source, two_workers, tmp_path):
    out, result = two_workers
    seen: list[str] = []
    one = episodes.export_lerobot(source, tmp_path / "one", ExportOptions(workers=1, on_episode=seen.append))
    assert digests(tmp_path / "one") == digests(out)
    assert one.episode_ids == result.episode_ids and sorted(seen) == sorted(one.episode_ids)
    assert (result.episodes, result.frames) == (4, 14 + 9 + 17 + 6)
    # Nothing of the work directory is left: no fragments, no hidden partial.
    assert sorted(p.name for p in out.iterdir()) == ["data", "meta", "videos"]
    assert [p.name for p in out.parent.iterdir()] == ["ds"]


def test_packed_videos_decode_frame_exact_at_every_episode_start(source, two_workers):
    out, _ = two_workers
    meta = pq.read_table(out / "meta/episodes/chunk-000/file-000.parquet").to_pylist()
    key = "videos/observation.images.head"
    video = out / "videos/observation.images.head/chunk-000/file-000.mp4"
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        whole = [(f.pts * f.time_base, f.to_ndarray(format="rgb24")) for f in container.decode(stream)]
    assert [float(t) for t, _ in whole] == pytest.approx(np.arange(len(whole)) / RATE_HZ, abs=1e-6)
    assert len(whole) == sum(r["length"] for r in meta)
    for row, path in zip(meta, episodes.list_episodes(source), strict=True):
        start = row[f"{key}/from_timestamp"]
        assert row[f"{key}/to_timestamp"] == pytest.approx(start + row["length"] / RATE_HZ)
        with av.open(str(video)) as container:  # as LeRobot's decoder does: seek, decode up to the time
            stream = container.streams.video[0]
            container.seek(int(start / stream.time_base), stream=stream, backward=True)
            first = next(f for f in container.decode(stream) if f.pts * f.time_base >= start - 1e-6)
        k = round(start * RATE_HZ)
        assert float(first.pts * first.time_base) == pytest.approx(start)
        np.testing.assert_array_equal(first.to_ndarray(format="rgb24"), whole[k][1])
        with h5py.File(path, "r") as f:  # loader_corpus: head frame k is textured_frame(k), lossless
            tick = int(f["aligned/streams/head/index"][0])
        error = np.abs(whole[k][1].astype(int) - textured_frame(tick, *SIZE)).mean()
        assert error < 12


def test_the_merged_dataset_reads_back(source, two_workers, tmp_path):
    out, _ = two_workers
    back = episodes.import_lerobot(out, tmp_path / "back")
    assert len(back) == 4
    table = pq.read_table(out / "data/chunk-000/file-000.parquet")
    assert table.column("index").to_pylist() == list(range(table.num_rows))
    lengths = []
    for path in sorted(back, key=lambda p: episodes.open(p).metadata.origin.source_episode):
        with episodes.open(path) as ep:
            lengths.append(len(ep.read("head").images))
            state = ep.read("joint_position").data
        rows = table.filter(table["episode_index"].to_numpy() == len(lengths) - 1)
        expected = np.stack(rows["observation.state"].to_numpy(zero_copy_only=False))[:, 1:]
        np.testing.assert_array_equal(state, expected)
    assert lengths == [14, 9, 17, 6]


def _fail_on(work, victim: str, job):
    """``work(job)``, except that the process running ``victim``'s job dies (a crash in C code)."""
    if job.entry.episode_id == victim:
        os._exit(3)
    return work(job)


class _CrashingOn(Executor):
    """Local worker processes, one of which dies on the episode ``victim`` each time it is tried."""

    kind = "local"

    def __init__(self, victim: str) -> None:
        self._local = LocalExecutor(2)
        self._victim = victim

    def map(self, work, items, **kwargs):
        return self._local.map(functools.partial(_fail_on, work, self._victim), items, **kwargs)

    def submit(self, work, item):
        raise NotImplementedError

    def describe(self) -> str:
        return self._local.describe()

    def close(self) -> None:
        self._local.close()


def test_a_worker_that_dies_fails_the_export_naming_its_episode(source, tmp_path):
    victim = episodes.list_episodes(source)[1]
    out = tmp_path / "out"
    out.mkdir()
    selection = episodes.select_episodes(source)
    selection = dataclasses.replace(selection, episodes=selection.episodes[:2])
    with (
        _CrashingOn(victim.name.removesuffix(".h5")) as crashing,
        pytest.raises(
            episodes.ExportError,
            match=rf"{victim.name}: exporting it failed \(its worker process died .*\); nothing was "
            r"exported. Check the episode \(tg validate",
        ),
    ):
        episodes.export_lerobot(selection, out / "ds", executor=crashing)
    assert list(out.iterdir()) == []


def test_a_broken_episode_among_good_ones_fails_by_name_and_leaves_nothing(source, tmp_path):
    dataset = copy_dataset(source, tmp_path)
    broken = episodes.list_episodes(dataset)[2]
    with h5py.File(broken, "a") as f:
        f["streams/head/frames"][:] = 0
    out = tmp_path / "out"
    out.mkdir()
    # Raised as the worker raised it, with its type, as a serial export does.
    with pytest.raises(episodes.CorruptEpisodeError, match=broken.name):
        episodes.export_lerobot(dataset, out / "ds", ExportOptions(workers=2))
    assert list(out.iterdir()) == []


def test_a_retried_job_rewrites_its_own_fragments(source, tmp_path):
    selected = open_source(source, ExportOptions())
    parts = tmp_path / ".parts"
    parts.mkdir()
    job = _lerobot_episode.EpisodeJob(selected.entries[0], 7, selected.layout, parts, active_range=False)
    first = _lerobot_episode.export_episode(job)
    before = digests(parts)
    again = _lerobot_episode.export_episode(job)
    assert again == first and first.error is None and first.length == 14
    assert digests(parts) == before
    assert sorted(before) == ["000007/data.parquet", "000007/head.mp4", "000007/wrist.mp4"]
    _lerobot_episode.stop_marker(parts).touch()  # another episode failed: jobs not started return at once
    assert _lerobot_episode.export_episode(job).cancelled


def test_workers_must_be_positive():
    with pytest.raises(episodes.ExportError, match="workers must be at least 1, got 0"):
        ExportOptions(workers=0)


def test_without_workers_named_only_a_large_export_starts_a_pool(source, tmp_path):
    selected = open_source(source, ExportOptions())
    jobs = [
        _lerobot_episode.EpisodeJob(e, i, selected.layout, tmp_path, active_range=False)
        for i, e in enumerate(selected.entries)
    ]
    assert _lerobot._workers(jobs, ExportOptions()) == 1  # 46 ticks of 24x32 and 12x16 pixels
    long = [dataclasses.replace(j, entry=dataclasses.replace(j.entry, num_frames=100_000)) for j in jobs]
    assert _lerobot._workers(long, ExportOptions()) == default_workers()
    assert _lerobot._workers(jobs, ExportOptions(workers=3)) == 3
