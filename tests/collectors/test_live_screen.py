"""The live recorder's screening of bad input, as pure functions over small arrays."""

from __future__ import annotations

from types import SimpleNamespace as Msg

import numpy as np

from collectors import Publisher, compile_fields
from collectors._live_screen import (
    Rejection,
    Source,
    frame_signature,
    frame_stamp_problem,
    header_stamps,
    image_changed,
    not_finite,
    read_rows,
    screen_block,
    stamps_backwards,
    wrong_publishers,
    zero_stamps,
)
from tests.collectors import live_fixtures as lf

IMU = Source("/imu", "imu")
NONE = np.zeros(4, dtype=bool)


def test_zero_stamps_are_found_among_the_samples_not_yet_refused():
    stamps = np.array([5, 0, 0, 7])
    zero, why = zero_stamps(stamps, np.array([False, True, False, False]), IMU)
    assert zero.tolist() == [False, False, True, False]
    assert why == Rejection(
        "zero_stamp",
        "/imu: header.stamp is 0 in 1 message(s); not recorded in stream 'imu' "
        "(stamp: arrival in the profile records the arrival time)",
        1,
    )
    assert zero_stamps(np.array([5, 6, 7, 8]), NONE, IMU)[1] is None


def test_nan_and_infinite_values_are_refused():
    rows = np.array([[0.0, 1.0], [np.nan, 1.0], [2.0, np.inf], [3.0, -np.inf]])
    nan, why = not_finite(rows, np.array([False, False, False, True]), IMU)
    assert nan.tolist() == [False, True, True, False]
    assert why is not None and (why.reason, why.count) == ("not_finite", 2)
    assert why.message == "/imu: 2 message(s) hold NaN or infinite values for stream 'imu'; not recorded"
    fine, why = not_finite(np.zeros((4, 2)), NONE, IMU)
    assert not fine.any() and why is None


def test_a_stamp_earlier_than_any_before_it_goes_backwards():
    back, why = stamps_backwards(np.array([10, 30, 20, 30, 40]), last_stamp=5, source=IMU)
    assert back.tolist() == [False, False, True, False, False]  # equal stamps are not backwards
    assert why is not None and why.message == (
        "/imu: 1 message(s) stamped earlier than the previous sample of stream 'imu'; not recorded"
    )
    # The previous block's last sample counts too.
    back, why = stamps_backwards(np.array([10, 20]), last_stamp=15, source=IMU)
    assert back.tolist() == [True, False] and why is not None and why.count == 1


def test_a_block_is_screened_in_order_each_check_on_what_the_others_kept():
    rows = np.array([[0.0], [1.0], [np.nan], [3.0], [4.0]])
    stamps = np.array([0, 20, 30, 10, 50])
    already = np.array([False, False, False, False, True])  # a mismatch found while reading
    verdict = screen_block(rows, stamps, already, last_stamp=0, source=IMU, header=True)
    assert verdict.good.tolist() == [1]
    assert verdict.bad.tolist() == [True, False, True, True, True]
    assert [(r.reason, r.count) for r in verdict.rejections] == [
        ("zero_stamp", 1),
        ("not_finite", 1),
        ("stamp_backwards", 1),
    ]
    assert not already[:4].any()  # the caller's mask is not changed
    # Arrival stamps are never 0: no zero-stamp check.
    verdict = screen_block(
        rows[:2], np.array([0, 20]), np.zeros(2, dtype=bool), last_stamp=-1, source=IMU, header=False
    )
    assert verdict.good.tolist() == [0, 1] and verdict.rejections == ()


def test_header_stamps_are_nanoseconds_and_zero_stays_zero():
    assert header_stamps([(1, 5), (0, 0), (2, 999_999_999)]).tolist() == [1_000_000_005, 0, 2_999_999_999]


def test_messages_that_do_not_fit_the_stream_are_found_one_by_one():
    reader = compile_fields(
        ("position",),
        "sensor_msgs/msg/JointState",
        lf.SCHEMAS,
        dim=3,
        where="/joint_states",
        name_field="name",
        source_names=lf.NAMES,
    )
    good = [reader.pick(lf.joint_state(1, (1.0, 2.0, 3.0), names=("j3", "j1", "j2")))]
    rows, bad, found = read_rows(reader, good * 2)
    assert rows.tolist() == [[2.0, 3.0, 1.0]] * 2 and not bad.any() and found == []
    picked = [
        good[0],
        reader.pick(lf.joint_state(1, (1.0, 2.0, 3.0), names=("j1", "j2", "x9"))),  # a name missing
        reader.pick(lf.joint_state(1, (1.0, 2.0), names=lf.NAMES)),  # fewer values than names
    ]
    rows, bad, found = read_rows(reader, picked)
    assert bad.tolist() == [False, True, True]
    assert rows[0].tolist() == [2.0, 3.0, 1.0] and np.isnan(rows[1:]).all()
    assert [r.reason for r in found] == ["mismatch", "mismatch"]
    assert "name lacks j3 (has j1, j2, x9)" in found[0].message and found[0].message.endswith(
        "; not recorded"
    )
    assert "has 2 values but name has 3 names" in found[1].message


def test_a_frame_unlike_the_first_of_the_episode_is_refused():
    first = frame_signature(lf.raw_image(1, lf.pixels(0)), compressed=False)
    assert first == ("rgb8", 32, 24)
    assert image_changed(first, ("rgb8", 32, 24), "/cam", "cam") is None
    changed = image_changed(
        first, frame_signature(lf.raw_image(1, lf.pixels(0, width=16)), False), "/cam", "cam"
    )
    assert changed is not None and changed.reason == "image_changed"
    assert changed.message == (
        "/cam: camera 'cam' changed from rgb8 32x24 to rgb8 16x24 mid-episode; "
        "frames that differ from the first are not recorded"
    )
    jpeg = frame_signature(lf.compressed_image(1, lf.jpeg(lf.pixels(0))), compressed=True)
    assert jpeg == ("jpeg", 32, 24, 3)
    assert frame_signature(Msg(format="h264", data=b"\x00\x01"), compressed=True) == ("h264",)
    changed = image_changed(jpeg, ("h264",), "/jcam", "jcam")
    assert changed is not None and "changed from jpeg 32x24 to h264 mid-episode" in changed.message


def test_a_frame_stamped_zero_or_backwards_is_refused():
    assert frame_stamp_problem(10, 5, header=True, topic="/cam") is None
    assert frame_stamp_problem(5, 5, header=True, topic="/cam") is None
    assert frame_stamp_problem(0, -1, header=True, topic="/cam") == Rejection(
        "zero_stamp", "/cam: header.stamp is 0; the frame is not recorded"
    )
    back = frame_stamp_problem(4, 5, header=False, topic="/cam")
    assert back == Rejection(
        "stamp_backwards",
        "/cam: header.stamp 4 ns is earlier than the previous frame's 5 ns; the frame is not recorded",
    )


def test_a_publisher_of_another_type_is_reported_once_by_endpoint():
    publishers = [
        Publisher("/imu_driver", "std_msgs/msg/String", endpoint="01ab"),
        Publisher("/ok", "sensor_msgs/Imu", endpoint="02cd"),  # the ROS 1 spelling is the same type
        Publisher("_NODE_NAME_UNKNOWN_", "std_msgs/msg/String", endpoint="01ab"),
        Publisher("/old", "std_msgs/msg/Int8"),  # no endpoint: keyed by node and type
    ]
    found = wrong_publishers("/imu", "sensor_msgs/msg/Imu", publishers, reported=set())
    assert [w.key for w in found] == ["01ab", "/old (std_msgs/msg/Int8)"]
    assert found[0].rejection == Rejection(
        "wrong_type",
        "/imu: publisher /imu_driver sends std_msgs/msg/String, but the profile expects "
        "sensor_msgs/msg/Imu; its messages cannot be received",
    )
    assert (
        wrong_publishers(
            "/imu", "sensor_msgs/msg/Imu", publishers, reported={"01ab", "/old (std_msgs/msg/Int8)"}
        )
        == []
    )
