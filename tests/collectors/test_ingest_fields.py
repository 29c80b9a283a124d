"""Field expressions against message schemas: what they read, and every way they can be wrong.

Messages here are plain objects, as the live recorder will pass rclpy messages:
the readers only use attribute access, so any message object works.
"""

from __future__ import annotations

import array
from types import SimpleNamespace as Msg

import numpy as np
import pytest

from collectors import FieldError, FieldType, compile_fields, header_stamp_reader

F64S = FieldType("float64", sequence=True)
SCHEMAS = {
    "kuavo_msgs/msg/sensorsData": [
        ("header", FieldType("std_msgs/msg/Header")),
        ("joint_data", FieldType("kuavo_msgs/msg/jointData")),
        ("imu_data", FieldType("kuavo_msgs/msg/imuData")),
        ("label", FieldType("string")),
    ],
    "kuavo_msgs/msg/jointData": [
        ("joint_q", F64S),
        ("joint_v", F64S),
        ("joint_vd", F64S),
        ("joint_torque", F64S),
    ],
    "kuavo_msgs/msg/imuData": [
        ("gyro", FieldType("geometry_msgs/msg/Vector3")),
        ("quat", FieldType("geometry_msgs/msg/Quaternion")),
    ],
    "geometry_msgs/msg/Vector3": [(a, FieldType("float64")) for a in "xyz"],
    "geometry_msgs/msg/Quaternion": [(a, FieldType("float64")) for a in "xyzw"],
    "std_msgs/msg/Header": [
        ("stamp", FieldType("builtin_interfaces/msg/Time")),
        ("frame_id", FieldType("string")),
    ],
    "builtin_interfaces/msg/Time": [("sec", FieldType("int32")), ("nanosec", FieldType("uint32"))],
    "bodyctrl_msgs/msg/MotorStatusMsg": [
        ("header", FieldType("std_msgs/msg/Header")),
        ("status", FieldType("bodyctrl_msgs/msg/MotorStatus", sequence=True)),
    ],
    "bodyctrl_msgs/msg/MotorStatus": [
        ("name", FieldType("uint16")),
        ("pos", FieldType("float32")),
        ("cov", FieldType("float32", sequence=True, length=2)),
    ],
}


def _sensors(k: int) -> Msg:
    q = np.arange(28, dtype=np.float64) + k
    return Msg(
        header=Msg(stamp=Msg(sec=10 + k, nanosec=5), frame_id=""),
        joint_data=Msg(joint_q=q, joint_v=q * 0.1, joint_vd=q * 0, joint_torque=-q),
        imu_data=Msg(gyro=Msg(x=0.1, y=0.2, z=0.3), quat=Msg(x=0.0, y=0.0, z=0.0, w=1.0)),
        label="x",
    )


def _compile(fields, msg_type="kuavo_msgs/msg/sensorsData", dim=14, **kw):
    return compile_fields(tuple(fields), msg_type, SCHEMAS, dim=dim, where="/sensors_data_raw", **kw)


def test_slice_by_name_and_fourth_field_by_position():
    by_name = _compile(["joint_data.joint_q[12:26]"])
    np.testing.assert_array_equal(by_name.read(_sensors(0)), np.arange(12, 26))
    by_position = _compile(["joint_data[3][12:26]"], scale=2.0, offset=1.0)
    assert by_position.resolved == "joint_data.joint_torque[12:26]"
    assert by_position.source_field == "joint_torque"
    np.testing.assert_array_equal(by_position.read(_sensors(0)), -np.arange(12, 26) * 2.0 + 1.0)
    block = by_name.rows([by_name.pick(_sensors(k)) for k in range(3)])
    assert block.shape == (3, 14) and block[2, 0] == 14
    two_arrays = _compile(["joint_data.joint_q[0:2]", "joint_data.joint_v[0:2]"], dim=4)
    np.testing.assert_allclose(two_arrays.read(_sensors(1)), [1, 2, 0.1, 0.2])


def test_messages_of_numbers_concatenate_in_declaration_order():
    imu = _compile(["imu_data.quat", "imu_data.gyro"], dim=7)
    np.testing.assert_array_equal(imu.read(_sensors(0)), [0, 0, 0, 1, 0.1, 0.2, 0.3])


def test_arrays_of_messages_by_position_and_by_id():
    status = [Msg(name=i, pos=float(i) / 10, cov=[0, 0]) for i in (21, 11, 12)]
    msg = Msg(status=status)
    positional = _compile(["status.pos"], "bodyctrl_msgs/msg/MotorStatusMsg", dim=3)
    np.testing.assert_allclose(positional.read(msg), [2.1, 1.1, 1.2])
    by_id = _compile(
        ["status.pos"],
        "bodyctrl_msgs/msg/MotorStatusMsg",
        dim=3,
        name_field="status.name",
        source_names=("11", "12", "21"),
    )
    np.testing.assert_allclose(by_id.read(msg), [1.1, 1.2, 2.1])
    shuffled = Msg(status=list(reversed(status)))
    np.testing.assert_allclose(by_id.rows([by_id.pick(msg), by_id.pick(shuffled)]), [[1.1, 1.2, 2.1]] * 2)
    first = _compile(["status[1].pos"], "bodyctrl_msgs/msg/MotorStatusMsg", dim=1)
    assert first.read(msg)[0] == pytest.approx(1.1)


def test_array_like_values_of_any_kind():
    reader = _compile(["joint_data.joint_q[0:2]"], dim=2)
    for values in ([1.0, 2.0, 3.0], array.array("d", [1.0, 2.0, 3.0]), (1.0, 2.0, 3.0)):
        msg = Msg(joint_data=Msg(joint_q=values))
        np.testing.assert_array_equal(reader.read(msg), [1.0, 2.0])


def test_header_stamps():
    stamps = header_stamp_reader("kuavo_msgs/sensorsData", SCHEMAS, where="/s")
    assert stamps.read(_sensors(0)) == 10_000_000_005
    picked = [stamps.pick(_sensors(0)), stamps.pick(_sensors(1))]
    np.testing.assert_array_equal(stamps.stamps(picked), [10_000_000_005, 11_000_000_005])
    unstamped = _sensors(0)
    unstamped.header.stamp = Msg(sec=0, nanosec=0)
    with pytest.raises(FieldError, match=r"/s: header\.stamp is 0: .*use stamp: arrival"):
        stamps.stamps([stamps.pick(unstamped)])
    with pytest.raises(FieldError, match=r"/s: kuavo_msgs/msg/jointData has no std_msgs/Header header"):
        header_stamp_reader("kuavo_msgs/msg/jointData", SCHEMAS, where="/s")


@pytest.mark.parametrize(
    ("fields", "dim", "pattern"),
    [
        (
            ["joint_data.joint_qq"],
            14,
            r"kuavo_msgs/msg/jointData has no field 'joint_qq'; it has joint_q \(float64\[\]\)",
        ),
        (["joint_data[4]"], 14, r"jointData has 4 fields, no field \[4\]"),
        (["label"], 1, r"field label is string; a stream holds numbers"),
        (["imu_data.gyro[0:2]"], 2, r"\[0:2\] slices geometry_msgs/msg/Vector3, which is not an array"),
        (["joint_data.joint_q.x"], 1, r"float64\[\] has no fields \(at 'x'\)"),
        (
            ["joint_data.joint_q[0:3]"],
            14,
            r"field joint_data\.joint_q\[0:3\] gives 3 values; the stream has 14",
        ),
        (["header"], 1, r"header is a std_msgs/msg/Header message, which holds frame_id \(string\)"),
        (["imu_data.gyro", "imu_data.quat"], 14, r"gives 7 values; the stream has 14"),
    ],
)
def test_expressions_that_do_not_fit_the_message(fields, dim, pattern):
    with pytest.raises(FieldError, match=r"^/sensors_data_raw: .*" + pattern):
        _compile(fields, dim=dim)


def test_array_expressions_that_do_not_fit():
    motor = "bodyctrl_msgs/msg/MotorStatusMsg"
    with pytest.raises(
        FieldError, match=r"field status is an array of bodyctrl_msgs/msg/MotorStatus messages"
    ):
        _compile(["status"], motor, dim=3)
    with pytest.raises(FieldError, match=r"cov of each element is itself an array"):
        _compile(["status.cov"], motor, dim=3)
    with pytest.raises(
        FieldError, match=r"name_field header is std_msgs/msg/Header; expected an array of names"
    ):
        _compile(["status.pos"], motor, dim=1, name_field="header", source_names=("1",))
    with pytest.raises(FieldError, match=r"no definition of message type nope/msg/Nope"):
        _compile(["x"], "nope/Nope", dim=1)


def test_values_that_do_not_fit_at_run_time():
    reader = _compile(["joint_data.joint_q"], dim=28)
    short = _sensors(0)
    short.joint_data.joint_q = np.zeros(20)
    with pytest.raises(FieldError, match=r"field joint_data\.joint_q gives 20 values; the stream has 28"):
        reader.read(short)
    with pytest.raises(
        FieldError, match=r"gives a different number of values from message to message \(20, 28\)"
    ):
        reader.rows([reader.pick(_sensors(0)), reader.pick(short)])
    by_id = _compile(
        ["status.pos"],
        "bodyctrl_msgs/msg/MotorStatusMsg",
        dim=2,
        name_field="status.name",
        source_names=("11", "12"),
    )
    with pytest.raises(FieldError, match=r"status\.name lacks 12 \(has 11, 21\); the stream reads 11, 12"):
        by_id.read(Msg(status=[Msg(name=11, pos=0.0), Msg(name=21, pos=0.0)]))


def test_the_same_readers_work_on_rclpy_messages():
    # rclpy message classes come with the `ros` extra, which `make test` installs; without it
    # (a machine with only the ROS-free core) there is nothing to compare against.
    msg = pytest.importorskip("sensor_msgs.msg")
    Imu, JointState = msg.Imu, msg.JointState  # noqa: N806 - message classes

    # The schemas exactly as the live recorder builds them from the rclpy classes.
    from tg_recorder._messages import schemas_for

    schemas = schemas_for(["sensor_msgs/msg/JointState", "sensor_msgs/msg/Imu"])
    joints = compile_fields(
        ("position",),
        "sensor_msgs/msg/JointState",
        schemas,
        dim=2,
        where="/joint_states",
        name_field="name",
        source_names=("b", "a"),
        scale=2.0,
    )
    msg = JointState(name=["a", "b", "c"], position=[0.1, 0.2, 0.3])
    msg.header.stamp.sec, msg.header.stamp.nanosec = 3, 4
    assert isinstance(msg.position, array.array)
    np.testing.assert_allclose(joints.read(msg), [0.4, 0.2])
    assert header_stamp_reader("sensor_msgs/msg/JointState", schemas, where="/j").read(msg) == 3_000_000_004
    imu = compile_fields(
        ("orientation", "angular_velocity", "linear_acceleration"),
        "sensor_msgs/msg/Imu",
        schemas,
        dim=10,
        where="/imu",
    )
    m = Imu()
    m.orientation.w, m.angular_velocity.z, m.linear_acceleration.z = 1.0, 0.5, 9.81
    np.testing.assert_allclose(imu.read(m), [0, 0, 0, 1, 0, 0, 0.5, 0, 0, 9.81])
