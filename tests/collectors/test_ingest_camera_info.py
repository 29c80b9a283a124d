"""`tg ingest` keeps a camera's intrinsics from the bag's CameraInfo topic, as live recording does."""

from __future__ import annotations

import numpy as np

import episodes
from collectors import ingest_bag
from tests.collectors.bagfixtures import (
    BAG_START_NS,
    TexturedCamera,
    header,
    typestore_for,
    write_generic_bag,
)
from tests.collectors.test_ingest import _arm_profile, _arm_topics


def _camera_info(ts, stamp_ns: int, width: int, height: int):
    info = ts.types["sensor_msgs/msg/CameraInfo"]
    roi = ts.types["sensor_msgs/msg/RegionOfInterest"](
        x_offset=0, y_offset=0, height=0, width=0, do_rectify=False
    )
    k = np.array([500.0, 0, width / 2, 0, 500.0, height / 2, 0, 0, 1])
    return info(
        header=header(ts, stamp_ns),
        height=height,
        width=width,
        distortion_model="plumb_bob",
        d=np.array([0.1, -0.05, 0.0, 0.0, 0.01]),
        k=k,
        r=np.eye(3).ravel(),
        p=np.zeros(12),
        binning_x=0,
        binning_y=0,
        roi=roi,
    )


def test_camera_info_in_the_bag_becomes_the_stream_calibration(tmp_path):
    profile = _arm_profile(tmp_path)
    ts = typestore_for(False)
    times = BAG_START_NS + np.arange(30) * 10_000_000
    topics = _arm_topics(ts, times, times[::3], TexturedCamera(64, 48, 0).jpeg)
    # Published at the sensor's size, twice the stored one: the matrix is scaled to the stream.
    topics["/camera/color/camera_info"] = (
        "sensor_msgs/msg/CameraInfo",
        [(int(t), _camera_info(ts, int(t), 128, 96)) for t in times[::10]],
    )
    bag = tmp_path / "calibrated"
    write_generic_bag(bag, topics)
    (path,) = ingest_bag(bag, profile, tmp_path / "out").episodes
    with episodes.open(path) as ep:
        calibration = ep.streams["camera"].calibration
    assert calibration is not None
    assert (calibration.width, calibration.height) == (64, 48)
    assert calibration.camera_matrix == (250.0, 0.0, 32.0, 0.0, 250.0, 24.0, 0.0, 0.0, 1.0)
    assert calibration.distortion_model == "plumb_bob" and calibration.distortion[:2] == (0.1, -0.05)
    assert calibration.mount_parent == "link7"


def test_a_bag_without_camera_info_has_no_calibration(tmp_path):
    profile = _arm_profile(tmp_path)
    ts = typestore_for(False)
    times = BAG_START_NS + np.arange(20) * 10_000_000
    bag = tmp_path / "plain"
    write_generic_bag(bag, _arm_topics(ts, times, times[::3], TexturedCamera(64, 48, 0).jpeg))
    (path,) = ingest_bag(bag, profile, tmp_path / "out").episodes
    with episodes.open(path) as ep:
        assert ep.streams["camera"].calibration is None
