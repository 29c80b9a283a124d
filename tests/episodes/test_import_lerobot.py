"""LeRobot v3 import: our dataset -> tg export --format lerobot -> tg import lerobot gives it back."""

from __future__ import annotations

import json
import shutil

import h5py
import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import episodes
from episodes._export._video import VideoWriter
from tests.episodes.conftest import textured_frame
from tests.episodes.loader_corpus import SIZE, make_episode
from training_ground.cli import app


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * np.log10(255.0**2 / mse) if mse else float("inf")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("lerobot")
    source = root / "source"
    source.mkdir()
    make_episode(source, frames=12)
    make_episode(source, frames=9, task="stack", instruction="stack the cubes")
    episodes.export_lerobot(source, root / "lerobot")
    return source, root / "lerobot"


def test_round_trip_gives_the_same_numbers_and_frames(exported, tmp_path):
    source, lerobot = exported
    result = CliRunner().invoke(app, ["import", "lerobot", str(lerobot), "--out", str(tmp_path / "back")])
    assert result.exit_code == 0, (result.output, result.exception)
    assert "imported 2 LeRobot episode(s)" in result.output
    info = json.loads((lerobot / "meta/info.json").read_text())
    table = pq.read_table(lerobot / "data/chunk-000/file-000.parquet")
    back = sorted(
        episodes.list_episodes(tmp_path / "back"),
        key=lambda p: episodes.open(p).metadata.origin.source_episode,
    )
    for index, (path, original) in enumerate(zip(back, episodes.list_episodes(source), strict=True)):
        rows = table.filter(table["episode_index"].to_numpy() == index)
        with episodes.open(path) as ep:
            meta = ep.metadata
            assert (meta.source, meta.origin.format, meta.origin.timestamps) == (
                "import",
                "lerobot",
                "reconstructed",
            )
            for feature in ("observation.state", "action"):
                expected = np.stack(rows[feature].to_numpy(zero_copy_only=False))
                names = info["features"][feature]["names"]
                got = np.column_stack(
                    [
                        ep.read(n.split(".")[0]).data[
                            :, ep.spec(n.split(".")[0]).names.index(n.split(".")[1])
                        ]
                        for n in names
                    ]
                )
                np.testing.assert_array_equal(got, expected)
            stamps = ep.read("joint_position").stamp_ns
            np.testing.assert_allclose(stamps / 1e9, rows["timestamp"].to_numpy(), atol=1e-6)
            frames = [image.decode() for image in ep.read("head").images]
        with h5py.File(original, "r") as f:  # loader_corpus: head frame k is textured_frame(k), lossless
            ticks = f["aligned/streams/head/index"][()]
        quality = [psnr(a, textured_frame(int(k), *SIZE)) for a, k in zip(frames, ticks, strict=True)]
        assert min(quality) >= 30, quality
    assert meta.task == meta.instruction == "stack the cubes"
    data = episodes.EpisodeDataset(
        tmp_path / "back", action_horizon=2, filter=episodes.EpisodeFilter(qa="any")
    )
    assert len(data) == 21


def test_unsupported_version_and_short_video_are_refused_naming_the_file(exported, tmp_path):
    _, lerobot = exported
    old = tmp_path / "v21"
    shutil.copytree(lerobot, old)
    info = json.loads((old / "meta/info.json").read_text())
    (old / "meta/info.json").write_text(json.dumps({**info, "codebase_version": "v2.1"}))
    with pytest.raises(
        episodes.DatasetError,
        match=r"info.json: LeRobot dataset format v2.1; tg import reads v3.0.*convert_dataset_v21_to_v30",
    ):
        episodes.import_lerobot(old, tmp_path / "out")
    short = tmp_path / "short"
    shutil.copytree(lerobot, short)
    video = short / "videos/observation.images.head/chunk-000/file-000.mp4"
    with VideoWriter(video, fps=10, height=SIZE[0], width=SIZE[1]) as writer:
        for k in range(15):  # 21 rows in all
            writer.write(textured_frame(k, *SIZE))
    with pytest.raises(
        episodes.DatasetError,
        match=r"file-000.mp4: \d+ frame\(s\) from 1.200 s, but the episode has 9 Parquet rows",
    ):
        episodes.import_lerobot(short, tmp_path / "out")
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out.*"))
