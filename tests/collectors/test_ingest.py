"""Bags from real robots' layouts become episodes: every stream's values, units, order and times."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

import episodes
from collectors import IngestOptions, ingest_bag, ingest_bags
from tests.collectors.bagfixtures import (
    BAG_START_NS,
    KUAVO_ARM_JOINTS,
    BagTruth,
    TexturedCamera,
    drop_definitions,
    header,
    typestore_for,
    write_generic_bag,
    write_kuavo_bag,
    write_walker_bag,
)
from tg_config import RobotProfile, load_profile, qa_config

KUAVO_CAMERAS = {
    "head": "/cam_h/color/image_raw/compressed",
    "wrist_left": "/cam_l/color/image_raw/compressed",
    "wrist_right": "/cam_r/color/image_raw/compressed",
}


@pytest.fixture(scope="module")
def kuavo4pro() -> RobotProfile:
    return load_profile("kuavo4pro")


@pytest.fixture(scope="module")
def kuavo_bag(tmp_path_factory, kuavo4pro) -> BagTruth:
    path = tmp_path_factory.mktemp("kuavo") / "kuavo4pro.bag"
    return write_kuavo_bag(path, kuavo4pro, depth_hz=30)  # every rate as the profile declares it


@pytest.fixture(scope="module")
def kuavo_episode(tmp_path_factory, kuavo_bag, kuavo4pro) -> Path:
    result = ingest_bag(
        kuavo_bag.path,
        kuavo4pro,
        tmp_path_factory.mktemp("out"),
        options=IngestOptions(task="pick_place", instruction="put the cup on the tray", operator="ana"),
    )
    assert len(result.episodes) == 1
    assert result.messages > 0
    return result.episodes[0]


def test_kuavo_bag_metadata(kuavo_episode, kuavo_bag, kuavo4pro):
    with episodes.open(kuavo_episode) as ep:
        m = ep.metadata
        assert m.source == "bag" and m.status == "complete"
        assert (m.task, m.instruction, m.operator) == ("pick_place", "put the cup on the tray", "ana")
        assert m.robot.profile == "kuavo4pro" and m.robot.model == "Kuavo 4 Pro"
        assert m.robot.joint_names == kuavo4pro.joint_names
        assert m.extra["bag_path"] == str(kuavo_bag.path.resolve())
        first_receive = min(int(r[0]) for r in kuavo_bag.receive.values())
        assert m.extra["bag_start_time_ns"] == first_receive
        assert m.extra["bag_storage"] == "rosbag1"
        assert m.extra["source_fields"]["joint_effort"] == "joint_data.joint_current"
        assert m.start_time_ns == first_receive
        # Streams whose topics the bag lacks and that are not required are left out.
        assert "action_gripper" not in ep.stream_names and "action_hand" not in ep.stream_names
        assert ep.aligned.num_frames > 0 and ep.aligned.rate_hz == 30


def test_clean_bags_pass_the_quality_gate(kuavo_episode, kuavo4pro):
    report = episodes.validate_episode(kuavo_episode, qa_config(kuavo4pro))
    assert report.passed and not report.findings, report.findings


def test_kuavo_joint_state_values_units_order_and_stamps(kuavo_episode, kuavo_bag, kuavo4pro):
    topic = "/sensors_data_raw"
    with episodes.open(kuavo_episode) as ep:
        q = ep.read("joint_position")
        np.testing.assert_array_equal(q.data, kuavo_bag.values["q"])
        np.testing.assert_array_equal(q.stamp_ns, kuavo_bag.stamps[topic])
        np.testing.assert_array_equal(q.arrival_ns, kuavo_bag.receive[topic])
        info = ep.stream("joint_position").spec
        assert info.names == kuavo4pro.joint_names and set(info.units) == {"rad"}
        assert info.names[12] == "l_arm_pitch" and info.names[26] == "head_yaw"
        np.testing.assert_array_equal(ep.read("joint_velocity").data, kuavo_bag.values["v"])
        effort = ep.read("joint_effort")
        np.testing.assert_array_equal(effort.data, kuavo_bag.values["fourth"])
        assert set(ep.stream("joint_effort").spec.units) == {"A"}  # joint_current: motor current
        imu = ep.read("imu")
        np.testing.assert_allclose(imu.data, kuavo_bag.values["imu"])  # qx qy qz qw gx gy gz ax ay az
        assert ep.stream("imu").spec.names == ("qx", "qy", "qz", "qw", "gx", "gy", "gz", "ax", "ay", "az")
        lower, upper = kuavo4pro.joint_limits()
        assert np.all(q.data >= lower) and np.all(q.data <= upper)


def test_kuavo_arm_command_degrees_become_radians_at_receive_time(kuavo_episode, kuavo_bag):
    with episodes.open(kuavo_episode) as ep:
        arm = ep.read("action_arm")
        np.testing.assert_allclose(arm.data, np.radians(kuavo_bag.values["arm_deg"]), rtol=1e-12)
        # The command carries no header stamp: stamp and arrival are the bag's receive time.
        np.testing.assert_array_equal(arm.stamp_ns, kuavo_bag.receive["/kuavo_arm_traj"])
        np.testing.assert_array_equal(arm.arrival_ns, kuavo_bag.receive["/kuavo_arm_traj"])
        spec = ep.stream("action_arm").spec
        assert spec.names == KUAVO_ARM_JOINTS and set(spec.units) == {"rad"}
        assert spec.role.value == "action"


def test_kuavo_claw_percent_becomes_closure(kuavo_episode, kuavo_bag):
    with episodes.open(kuavo_episode) as ep:
        claw = ep.read("gripper_state")
        np.testing.assert_allclose(claw.data, kuavo_bag.values["claw"] / 100)
        assert claw.data.min() >= 0 and claw.data.max() <= 1
        assert set(ep.stream("gripper_state").spec.units) == {"closure"}


def test_kuavo_jpeg_frames_are_stored_as_they_came(kuavo_episode, kuavo_bag):
    with episodes.open(kuavo_episode) as ep:
        for name, topic in KUAVO_CAMERAS.items():
            frames = ep.read(name)
            assert [img.data for img in frames.images] == kuavo_bag.frames[topic]
            np.testing.assert_array_equal(frames.stamp_ns, kuavo_bag.stamps[topic])
            np.testing.assert_array_equal(frames.arrival_ns, kuavo_bag.receive[topic])
            assert frames.images[0].decode().shape == (480, 640, 3)


def test_kuavo_compressed_depth_is_stored_as_its_png(kuavo_episode, kuavo_bag):
    with episodes.open(kuavo_episode) as ep:
        depth = ep.read("head_depth")
        assert len(depth) == len(kuavo_bag.values["depth"])
        for img, truth in zip(depth.images, kuavo_bag.values["depth"], strict=True):
            assert img.data.startswith(b"\x89PNG")
            decoded = img.decode()
            assert decoded.dtype == np.uint16
            np.testing.assert_array_equal(decoded, truth)


def test_kuavo5_waist_shifts_the_arms_and_the_fourth_field_is_found_by_position(tmp_path):
    profile = load_profile("kuavo5")
    truth = write_kuavo_bag(
        tmp_path / "kuavo5.bag",
        profile,
        duration_s=1.0,
        sensor_hz=100,
        camera_hz=10,
        fourth_field="joint_torque",
    )
    (path,) = ingest_bag(truth.path, profile, tmp_path / "out").episodes
    with episodes.open(path) as ep:
        q = ep.read("joint_position")
        names = ep.stream("joint_position").spec.names
        assert len(names) == 29 and names[12] == "waist_yaw" and names[13] == "l_arm_pitch"
        np.testing.assert_array_equal(q.data[:, 13], truth.values["q"][:, 13])  # l_arm_pitch after the waist
        arm = ep.read("action_arm")
        np.testing.assert_allclose(arm.data, np.radians(truth.values["arm_deg"]))
        # This firmware calls the fourth field joint_torque: read by position, labelled N·m.
        np.testing.assert_array_equal(ep.read("joint_effort").data, truth.values["fourth"])
        assert set(ep.stream("joint_effort").spec.units) == {"N·m"}
        assert ep.metadata.extra["source_fields"]["joint_effort"] == "joint_data.joint_torque"


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_walker_ros2_bag(tmp_path, storage):
    profile = load_profile("walker_tienkung")
    truth = write_walker_bag(tmp_path / f"walker_{storage}", profile, storage=storage, duration_s=2.0)
    if storage == "sqlite3":
        drop_definitions(truth.path)  # a Humble bag: bodyctrl_msgs come from the profile
    result = ingest_bag(truth.path, profile, tmp_path / "out")
    (path,) = result.episodes
    assert any("leg_position" in note for note in result.skipped)
    joints = profile.joint_names
    with episodes.open(path) as ep:
        assert ep.metadata.extra["bag_storage"] == storage
        arm = ep.read("arm_position")
        arm_names = ep.stream("arm_position").spec.names
        assert arm_names[0] == "l_arm_1" and arm_names[7] == "r_arm_1"
        cols = [joints.index(n) for n in arm_names]
        # Motors arrive shuffled in every message; they are matched by motor id (11..17, 21..27).
        np.testing.assert_allclose(arm.data, truth.values["q"][:, cols], atol=1e-6)  # float32 on the wire
        np.testing.assert_allclose(ep.read("arm_velocity").data, truth.values["v"][:, cols], atol=1e-6)
        np.testing.assert_allclose(ep.read("arm_current").data, truth.values["current"][:, cols], atol=1e-6)
        assert set(ep.stream("arm_current").spec.units) == {"A"}
        np.testing.assert_array_equal(arm.stamp_ns, truth.stamps["/arm/status"])
        head = ep.read("head_position")
        np.testing.assert_allclose(head.data, truth.values["q"][:, 0:3], atol=1e-6)
        waist = ep.read("waist_position")
        np.testing.assert_allclose(waist.data[:, 0], truth.values["q"][:, joints.index("waist")], atol=1e-6)
        np.testing.assert_allclose(ep.read("imu").data, truth.values["imu"])
        # Inspire hands report the opening (1 open .. 0 closed): closure is its complement.
        hand = ep.read("hand_left")
        np.testing.assert_allclose(hand.data, 1 - truth.values["hand_left"])
        action = ep.read("action_arm")
        np.testing.assert_allclose(action.data, truth.values["arm_cmd"], atol=1e-6)
        np.testing.assert_array_equal(action.stamp_ns, truth.receive["/arm/cmd_pos"])
        head_cam = ep.read("head")
        assert [i.data for i in head_cam.images] == truth.frames["/ob_camera_head/color/image_raw/compressed"]
    report = episodes.validate_episode(path, qa_config(profile))
    assert report.passed and not report.findings, report.findings


# ------------------------------------------------------------------ a small generic robot


def _arm_profile(tmp_path: Path, **camera: object) -> RobotProfile:
    """generic_ros2_arm with a small camera, so that tests can feed it any frame."""
    base = load_profile("generic_ros2_arm")
    cam = base.cameras[0].model_copy(update={"width": 64, "height": 48, **camera})
    path = tmp_path / "small_arm.yaml"
    data = base.model_copy(update={"name": "small_arm", "cameras": (cam,)})
    path.write_text(data.to_yaml(), encoding="utf-8")
    return load_profile(path)


def _joint_states(ts, times_ns, names, *, offset=0.0, ros1=False):
    js = ts.types["sensor_msgs/msg/JointState"]
    out = []
    for k, t in enumerate(times_ns):
        q = np.linspace(-0.5, 0.5, len(names)) * math.sin(k * 0.05) + offset
        out.append(
            (
                int(t) + 500_000,
                js(
                    header=header(ts, int(t), ros1),
                    name=list(names),
                    position=q,
                    velocity=q * 0.1,
                    effort=q * 2,
                ),
            )
        )
    return out


def _images(ts, times_ns, data_of, fmt="jpeg"):
    img = ts.types["sensor_msgs/msg/CompressedImage"]
    return [
        (
            int(t) + 3_000_000,
            img(header=header(ts, int(t)), format=fmt, data=np.frombuffer(data_of(k), np.uint8)),
        )
        for k, t in enumerate(times_ns)
    ]


ARM_JOINTS = ["joint1", "joint2", "joint3", "joint4", "joint5", "joint6", "joint7", "finger_joint"]


def _arm_topics(ts, times, cam_times, frame, names=ARM_JOINTS, fmt="jpeg"):
    f64 = ts.types["std_msgs/msg/Float64"]
    return {
        "/joint_states": ("sensor_msgs/msg/JointState", _joint_states(ts, times, names)),
        "/joint_commands": ("sensor_msgs/msg/JointState", _joint_states(ts, times[::2], ARM_JOINTS[:7])),
        "/gripper_command": ("std_msgs/msg/Float64", [(int(t), f64(data=0.5)) for t in times[::5]]),
        "/camera/color/image_raw/compressed": (
            "sensor_msgs/msg/CompressedImage",
            _images(ts, cam_times, frame, fmt),
        ),
    }


def test_joint_states_are_matched_by_name(tmp_path):
    profile = _arm_profile(tmp_path)
    ts = typestore_for(False)
    cam = TexturedCamera(64, 48, 0)
    times = BAG_START_NS + np.arange(50) * 10_000_000
    shuffled = list(reversed(ARM_JOINTS))  # a broadcaster's order, not the profile's
    bag = tmp_path / "arm"
    write_generic_bag(bag, _arm_topics(ts, times, times[::4], cam.jpeg, names=shuffled))
    (path,) = ingest_bag(bag, profile, tmp_path / "out").episodes
    with episodes.open(path) as ep:
        q = ep.read("joint_position").data
        sent = np.linspace(-0.5, 0.5, 8) * math.sin(3 * 0.05)
        np.testing.assert_allclose(q[3], sent[::-1])  # joint1 is the last name in the message
        grip = ep.read("gripper_state").data[:, 0]  # finger (m) -> closure via scale -25, offset 1
        np.testing.assert_allclose(grip, 1 - 25 * ep.read("joint_position").data[:, 7])
        # std_msgs/Float64 has no header: its stamps are the receive times.
        action = ep.read("action_gripper")
        np.testing.assert_array_equal(action.stamp_ns, times[::5])


def test_frames_are_decoded_only_when_the_stream_needs_it(tmp_path):
    profile = _arm_profile(tmp_path)
    ts = typestore_for(False)
    times = BAG_START_NS + np.arange(20) * 10_000_000
    big = TexturedCamera(128, 96, 1)  # twice the stream's size, and PNG on a JPEG stream
    bag = tmp_path / "png"
    write_generic_bag(bag, _arm_topics(ts, times, times[::2], big.png, fmt="png"))
    (path,) = ingest_bag(bag, profile, tmp_path / "out").episodes
    with episodes.open(path) as ep:
        frames = ep.read("camera")
        assert len(frames) == 10
        assert frames.images[0].data.startswith(b"\xff\xd8")  # re-encoded as the stream's JPEG
        got = frames.images[3].decode().astype(float)
        want = cv2.resize(big.rgb(3), (64, 48), interpolation=cv2.INTER_AREA).astype(float)
        error = np.abs(got - want).mean()
        assert error < 12  # the same picture, within JPEG's loss on fine texture
        assert error < np.abs(got - want[:, :, ::-1]).mean() / 2  # and in RGB order, not BGR


def test_raw_images_are_encoded(tmp_path):
    profile = _arm_profile(tmp_path, topic="/camera/color/image_raw", msg_type="sensor_msgs/msg/Image")
    ts = typestore_for(False)
    times = BAG_START_NS + np.arange(20) * 10_000_000
    cam = TexturedCamera(64, 48, 2)
    image = ts.types["sensor_msgs/msg/Image"]
    topics = _arm_topics(ts, times, times[:1], cam.jpeg)
    del topics["/camera/color/image_raw/compressed"]
    topics["/camera/color/image_raw"] = (
        "sensor_msgs/msg/Image",
        [
            (
                int(t) + 1_000_000,
                image(
                    header=header(ts, int(t)),
                    height=48,
                    width=64,
                    encoding="bgr8",
                    is_bigendian=0,
                    step=64 * 3,
                    data=np.ascontiguousarray(cam.rgb(k)[:, :, ::-1]).reshape(-1),
                ),
            )
            for k, t in enumerate(times[::2])
        ],
    )
    bag = tmp_path / "raw"
    write_generic_bag(bag, topics)
    (path,) = ingest_bag(bag, profile, tmp_path / "out").episodes
    with episodes.open(path) as ep:
        got = ep.read("camera").images[4].decode().astype(float)
        want = cam.rgb(4).astype(float)
        error = np.abs(got - want).mean()
        assert error < 12 and error < np.abs(got - want[:, :, ::-1]).mean() / 2  # bgr8 arrived, RGB stored


def test_split_at_gaps_and_at_a_marker_topic(tmp_path):
    profile = _arm_profile(tmp_path)
    ts = typestore_for(False)
    cam = TexturedCamera(64, 48, 3)
    first = BAG_START_NS + np.arange(40) * 10_000_000
    second = first + 3_000_000_000  # 2.6 s of silence in between
    topics = _arm_topics(ts, np.concatenate([first, second]), np.concatenate([first, second])[::4], cam.jpeg)
    empty = ts.types["std_msgs/msg/Empty"]
    topics["/episode_start"] = (
        "std_msgs/msg/Empty",
        [(int(first[0]) - 1, empty()), (int(second[0]) - 1, empty())],
    )
    bag = tmp_path / "two_demos"
    write_generic_bag(bag, topics)

    by_gap = ingest_bag(bag, profile, tmp_path / "gap", options=IngestOptions(split_gap_s=1.0))
    assert len(by_gap.episodes) == 2
    by_marker = ingest_bag(
        bag, profile, tmp_path / "marker", options=IngestOptions(split_topic="/episode_start")
    )
    assert len(by_marker.episodes) == 2
    for path, times in zip(sorted(by_marker.episodes), (first, second), strict=True):
        with episodes.open(path) as ep:
            np.testing.assert_array_equal(ep.read("joint_position").stamp_ns, times)
            assert ep.metadata.extra["bag_segment"] in (0, 1)
    whole = ingest_bag(bag, profile, tmp_path / "whole")
    assert len(whole.episodes) == 1


def test_a_segment_without_a_required_stream_is_left_out_and_said_so(tmp_path):
    profile = _arm_profile(tmp_path)
    ts = typestore_for(False)
    cam = TexturedCamera(64, 48, 4)
    first = BAG_START_NS + np.arange(40) * 10_000_000
    second = first + 3_000_000_000
    topics = _arm_topics(ts, np.concatenate([first, second]), first[::4], cam.jpeg)  # no frames later
    bag = tmp_path / "camera_died"
    write_generic_bag(bag, topics)
    result = ingest_bag(bag, profile, tmp_path / "out", options=IngestOptions(split_gap_s=1.0))
    assert len(result.episodes) == 1
    assert any("segment 1" in s and "required stream(s) camera" in s for s in result.skipped)


def test_many_bags_in_parallel_one_bad_bag_stops_no_other(tmp_path, kuavo_bag, kuavo4pro):
    bad = tmp_path / "truncated.bag"
    bad.write_bytes(kuavo_bag.path.read_bytes()[:200_000])
    seen: list[object] = []
    summary = ingest_bags(
        [kuavo_bag.path, bad, kuavo_bag.path],
        kuavo4pro,
        tmp_path / "out",
        options=IngestOptions(reingest=True),  # the same bag twice, both ingested
        workers=2,
        done=seen.append,
    )
    assert len(summary.results) == 2 and len(summary.episodes) == 2
    assert len(seen) == 3 and not summary.ok
    (failure,) = summary.failures
    assert failure.bag == bad
    assert str(bad) in failure.reason and "truncated" in failure.reason
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in summary.episodes)
