"""Depth and mono cameras in exports: robomimic arrays, LeRobot videos (depth flagged as a depth map)."""

from __future__ import annotations

import json

import av
import h5py
import numpy as np
import pytest

import episodes
from episodes import ExportOptions, ImageEncoding, ImageStreamSpec, StreamKind
from episodes._export._source import DEPTH_VIDEO_STEP_M
from tests.episodes.loader_corpus import RATE_HZ, SIZE, camera_frame, make_episode, specs

GRAY = ImageStreamSpec(
    "gray", width=SIZE[1], height=SIZE[0], channels=1, rate_hz=RATE_HZ, encoding=ImageEncoding.PNG
)
DEPTH = ImageStreamSpec(
    "depth",
    width=SIZE[1],
    height=SIZE[0],
    kind=StreamKind.DEPTH,
    channels=1,
    rate_hz=RATE_HZ,
    encoding=ImageEncoding.PNG,
)


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    root = tmp_path_factory.mktemp("cameras")
    make_episode(root, frames=6, streams=[*specs(), GRAY, DEPTH])
    return root


def _first_frames(path, name, n):
    with h5py.File(path, "r") as f:
        index = f[f"aligned/streams/{name}/index"][()][:n]
    spec = GRAY if name == "gray" else DEPTH
    return [camera_frame(spec, int(k)) for k in index]


def test_robomimic_stores_mono_as_images_and_depth_in_metres(source, tmp_path):
    out = tmp_path / "demos.hdf5"
    result = episodes.export_robomimic(source, out)
    assert set(result.cameras) == {"head", "wrist", "gray", "depth"}
    path = episodes.list_episodes(source)[0]
    with h5py.File(out, "r") as f:
        obs = f["data/demo_0/obs"]
        gray, depth = obs["gray_image"][()], obs["depth_depth"][()]
    assert gray.shape == (6, *SIZE, 1) and gray.dtype == np.uint8
    np.testing.assert_array_equal(gray[:, :, :, 0], np.stack(_first_frames(path, "gray", 6)))
    assert depth.dtype == np.float32
    np.testing.assert_allclose(
        depth[:, :, :, 0], np.stack(_first_frames(path, "depth", 6)) * 0.001, rtol=1e-6
    )


def test_robomimic_resizes_depth_to_the_nearest_pixel(source, tmp_path):
    out = tmp_path / "small.hdf5"
    episodes.export_robomimic(source, out, ExportOptions(cameras=["depth"], image_size=(12, 16)))
    with h5py.File(out, "r") as f:
        depth = f["data/demo_0/obs/depth_depth"][()]
    original = np.stack(_first_frames(episodes.list_episodes(source)[0], "depth", 6)) * 0.001
    assert depth.shape == (6, 12, 16, 1)
    assert set(np.round(depth.ravel(), 6)) <= set(np.round(original.ravel().astype(np.float32), 6))


def test_lerobot_exports_mono_and_depth_as_grey_videos(source, tmp_path):
    episodes.export_lerobot(source, tmp_path / "lr")
    info = json.loads((tmp_path / "lr/meta/info.json").read_text())
    assert info["features"]["observation.images.depth"]["info"]["video.is_depth_map"] is True
    assert info["features"]["observation.images.gray"]["info"]["video.is_depth_map"] is False
    video = tmp_path / "lr/videos/observation.images.depth/chunk-000/file-000.mp4"
    with av.open(str(video)) as container:
        first = next(container.decode(video=0)).to_ndarray(format="rgb24")
    expected = _first_frames(episodes.list_episodes(source)[0], "depth", 1)[0] * 0.001 / DEPTH_VIDEO_STEP_M
    assert np.abs(first[:, :, 0].astype(float) - np.clip(expected, 0, 255)).mean() < 8


def test_a_depth_video_imports_back_as_depth(source, tmp_path):
    episodes.export_lerobot(source, tmp_path / "lr", ExportOptions(cameras=["depth"]))
    (path,) = episodes.import_lerobot(tmp_path / "lr", tmp_path / "back")
    with episodes.open(path) as ep:
        assert ep.spec("depth").kind is StreamKind.DEPTH
        got = np.stack([image.decode() for image in ep.read("depth").images]).astype(float)
    original = np.stack(_first_frames(episodes.list_episodes(source)[0], "depth", len(got))).astype(float)
    inside = original < 2500  # the video's grey levels reach 2.55 m
    assert np.median(np.abs(got - original)[inside]) <= 20  # mm: 1 cm steps and a lossy codec
