"""Every bad bag and every profile that does not fit its bag fails with an error naming bag, topic, field."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from collectors import (
    BagError,
    BagReadError,
    FieldError,
    IngestOptions,
    MessageDefinitionError,
    TopicError,
    ingest_bag,
)
from tests.collectors.bagfixtures import (
    BAG_START_NS,
    BagTruth,
    drop_definitions,
    header,
    typestore_for,
    write_generic_bag,
    write_kuavo_bag,
    write_walker_bag,
)
from tg_base import TgError
from tg_config import ConfigError, RobotProfile, load_profile

SMALL = {"duration_s": 0.5, "sensor_hz": 100, "camera_hz": 10, "arm_hz": 20, "claw_hz": 20}


@pytest.fixture(scope="module")
def kuavo4pro() -> RobotProfile:
    return load_profile("kuavo4pro")


@pytest.fixture(scope="module")
def kuavo_bag(tmp_path_factory, kuavo4pro) -> BagTruth:
    return write_kuavo_bag(tmp_path_factory.mktemp("bag") / "kuavo.bag", kuavo4pro, **SMALL)


def _edited(profile: RobotProfile, tmp_path: Path, edit: Any) -> RobotProfile:
    """A copy of ``profile`` written to a file after ``edit(data)`` changed its YAML data."""
    data = yaml.safe_load(profile.to_yaml())
    edit(data)
    path = tmp_path / f"{data['name']}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return load_profile(path)


def _stream(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in data["streams"] if s["name"] == name)


def _fails(error: type[TgError], pattern: str, bag: Path, profile: RobotProfile, out: Path, **kw: Any) -> str:
    with pytest.raises(error, match=pattern) as info:
        ingest_bag(bag, profile, out, **kw)
    assert not out.exists() or not any(out.iterdir()), "a failed bag must leave nothing behind"
    return str(info.value)


def test_errors_are_tg_errors():
    for error in (BagError, BagReadError, TopicError, MessageDefinitionError):
        assert issubclass(error, BagError) and issubclass(error, TgError)
    assert issubclass(FieldError, TgError)


def test_missing_required_topic(tmp_path, kuavo4pro):
    bag = write_kuavo_bag(tmp_path / "k.bag", kuavo4pro, omit_topics=["/sensors_data_raw"], **SMALL).path
    message = _fails(
        TopicError,
        r"k\.bag: stream 'joint_position' is required but its topic /sensors_data_raw is not in the bag",
        bag,
        kuavo4pro,
        tmp_path / "out",
    )
    assert "/kuavo_arm_traj" in message  # what the bag does have


def test_topic_with_an_unexpected_type(tmp_path, kuavo4pro):
    ts = typestore_for(True)
    f64 = ts.types["std_msgs/msg/Float64MultiArray"]
    layout = ts.types["std_msgs/msg/MultiArrayLayout"](dim=[], data_offset=0)
    msgs = [(BAG_START_NS + k, f64(layout=layout, data=np.zeros(14))) for k in range(3)]
    bag = tmp_path / "wrong.bag"
    write_generic_bag(bag, {"/sensors_data_raw": ("std_msgs/msg/Float64MultiArray", msgs)}, ros1=True)
    _fails(
        TopicError,
        r"wrong\.bag: stream 'head' is required but .*; "
        r"topic /sensors_data_raw carries std_msgs/msg/Float64MultiArray, but stream "
        r"'joint_position' of profile 'kuavo4pro' .*kuavo4pro\.yaml\) expects kuavo_msgs/msg/sensorsData",
        bag,
        kuavo4pro,
        tmp_path / "out",
    )


def test_truncated_and_unindexed_ros1_bags(tmp_path, kuavo_bag, kuavo4pro):
    data = kuavo_bag.path.read_bytes()
    truncated = tmp_path / "truncated.bag"
    truncated.write_bytes(data[: len(data) // 2])
    _fails(
        BagReadError,
        r"truncated\.bag: cannot read the bag: .*truncated",
        truncated,
        kuavo4pro,
        tmp_path / "o",
    )
    unindexed = bytearray(data)
    at = unindexed.find(b"index_pos=") + len("index_pos=")
    unindexed[at : at + 8] = bytes(8)  # what an interrupted `rosbag record` leaves
    path = tmp_path / "unindexed.bag"
    path.write_bytes(bytes(unindexed))
    _fails(
        BagReadError,
        r"unindexed\.bag: cannot read the bag: .*not indexed.*rosbag reindex",
        path,
        kuavo4pro,
        tmp_path / "o",
    )
    junk = tmp_path / "notes.bag"
    junk.write_text("not a bag")
    _fails(BagReadError, r"notes\.bag: cannot read the bag", junk, kuavo4pro, tmp_path / "o")
    _fails(BagReadError, r"absent\.bag: no such file", tmp_path / "absent.bag", kuavo4pro, tmp_path / "o")


@pytest.fixture(scope="module")
def walker(tmp_path_factory) -> tuple[RobotProfile, Path]:
    profile = load_profile("walker_tienkung")
    bag = tmp_path_factory.mktemp("walker") / "walker"
    write_walker_bag(bag, profile, storage="mcap", duration_s=0.5, status_hz=50, camera_hz=10, imu_hz=50)
    return profile, bag


def test_truncated_mcap_and_missing_metadata(tmp_path, walker):
    profile, original = walker
    bag = tmp_path / "cut"
    shutil.copytree(original, bag)
    (mcap,) = bag.glob("*.mcap")
    mcap.write_bytes(mcap.read_bytes()[:5000])
    _fails(BagReadError, r"cut: cannot read the bag: .*(truncated|damaged)", bag, profile, tmp_path / "o")
    (bag / "metadata.yaml").unlink()
    _fails(
        BagReadError,
        r"cut: not a ROS 2 bag: no metadata\.yaml.*ros2 bag reindex",
        bag,
        profile,
        tmp_path / "o",
    )
    _fails(
        BagReadError,
        r"cut_0\.mcap: cannot read the bag: .*(truncated|damaged)",  # read on its own, without metadata
        mcap.rename(bag / "cut_0.mcap"),
        profile,
        tmp_path / "o",
    )


def test_custom_type_without_definition(tmp_path):
    profile = load_profile("walker_tienkung")
    bag = tmp_path / "humble"
    write_walker_bag(bag, profile, storage="sqlite3", duration_s=0.5, status_hz=50, camera_hz=10, imu_hz=50)
    drop_definitions(bag)
    bare = _edited(profile, tmp_path, lambda d: d.pop("msg_definitions"))
    _fails(
        MessageDefinitionError,
        r"humble: /arm/status: message type bodyctrl_msgs/msg/MotorStatusMsg has no definition: the bag "
        r"carries none and profile 'walker_tienkung' \(.*walker_tienkung\.yaml\) has none in msg_definitions",
        bag,
        bare,
        tmp_path / "out",
    )
    # Only the nested type missing: the message says which type uses it.
    partial = _edited(profile, tmp_path, lambda d: d["msg_definitions"].pop("bodyctrl_msgs/msg/MotorStatus"))
    _fails(
        MessageDefinitionError,
        r"bodyctrl_msgs/msg/MotorStatus \(used by bodyctrl_msgs/msg/MotorStatusMsg\) has no definition",
        bag,
        partial,
        tmp_path / "out",
    )
    broken = _edited(
        profile,
        tmp_path,
        lambda d: d["msg_definitions"].update({"bodyctrl_msgs/msg/MotorStatus": "uint16[ name\n"}),
    )
    _fails(
        MessageDefinitionError,
        r"msg_definitions\.bodyctrl_msgs/msg/MotorStatus: does not parse",
        bag,
        broken,
        tmp_path / "o",
    )


def test_field_not_in_the_message(tmp_path, kuavo_bag, kuavo4pro):
    profile = _edited(
        kuavo4pro, tmp_path, lambda d: _stream(d, "joint_position").update(field="joint_data.joint_qq")
    )
    _fails(
        FieldError,
        r"kuavo\.bag: /sensors_data_raw \(kuavo_msgs/msg/sensorsData\) stream 'joint_position': field "
        r"joint_data\.joint_qq: kuavo_msgs/msg/jointData has no field 'joint_qq'; "
        r"it has joint_q \(float64\[\]\)",
        kuavo_bag.path,
        profile,
        tmp_path / "out",
    )


def test_wrong_number_of_values(tmp_path, kuavo4pro):
    # A Kuavo 5 (29 joints) bag read with the Kuavo 4 Pro profile (28).
    bag = write_kuavo_bag(tmp_path / "k5.bag", load_profile("kuavo5"), **SMALL).path
    _fails(
        FieldError,
        r"k5\.bag: /sensors_data_raw .* stream 'joint_position': field joint_data\.joint_q gives 29 values; "
        r"the stream has 28",
        bag,
        kuavo4pro,
        tmp_path / "out",
    )


def test_header_stamp_missing_or_zero(tmp_path, kuavo_bag, kuavo4pro):
    no_header = _edited(kuavo4pro, tmp_path, lambda d: _stream(d, "gripper_state").update(stamp="header"))
    _fails(
        FieldError,
        r"/leju_claw_state \(kuavo_msgs/msg/lejuClawState\) stream 'gripper_state': "
        r".* has no std_msgs/Header "
        r"header.*use stamp: arrival",
        kuavo_bag.path,
        no_header,
        tmp_path / "out",
    )
    zero = _edited(kuavo4pro, tmp_path, lambda d: _stream(d, "action_arm").update(stamp="header"))
    _fails(
        FieldError,
        r"stream 'action_arm': header\.stamp is 0.*use stamp: arrival",
        kuavo_bag.path,
        zero,
        tmp_path / "o",
    )


def test_units_by_field_without_the_bags_field_name(tmp_path, kuavo4pro):
    bag = write_kuavo_bag(tmp_path / "k.bag", kuavo4pro, fourth_field="joint_tau", **SMALL).path
    _fails(
        FieldError,
        r"stream 'joint_effort': field joint_data\.joint_tau: .*units_by_field has no units for field "
        r"'joint_tau'; it lists joint_current, joint_torque",
        bag,
        kuavo4pro,
        tmp_path / "out",
    )


def test_stamps_going_backwards(tmp_path):
    profile = load_profile("generic_ros2_arm")
    ts = typestore_for(False)
    js = ts.types["sensor_msgs/msg/JointState"]
    names = [j.name for j in profile.joints]
    stamps = [BAG_START_NS + k * 10_000_000 for k in range(10)]
    stamps[5] -= 50_000_000  # one message stamped 50 ms in the past
    msgs = [
        (
            BAG_START_NS + k * 10_000_000 + 1,
            js(
                header=header(ts, s),
                name=names,
                position=np.zeros(8),
                velocity=np.zeros(8),
                effort=np.zeros(8),
            ),
        )
        for k, s in enumerate(stamps)
    ]
    bag = tmp_path / "backwards"
    write_generic_bag(bag, {"/joint_states": ("sensor_msgs/msg/JointState", msgs)})
    only_joints = _edited(
        profile,
        tmp_path,
        lambda d: (
            d.update(cameras=[], master_stream="joint_position"),
            [s.update(required=False) for s in d["streams"][1:]],
        ),
    )
    _fails(
        BagError,
        r"backwards: /joint_states: stream 'joint_position': stamp .* earlier than the previous "
        r".* header stamps "
        r"of a stream must not go backwards",
        bag,
        only_joints,
        tmp_path / "out",
    )


def test_joint_names_missing_from_a_joint_state(tmp_path):
    profile = load_profile("generic_ros2_arm")
    ts = typestore_for(False)
    js = ts.types["sensor_msgs/msg/JointState"]
    names = [j.name for j in profile.joints][:-1]  # no finger_joint
    msgs = [
        (
            BAG_START_NS + k,
            js(
                header=header(ts, BAG_START_NS + k),
                name=names,
                position=np.zeros(7),
                velocity=np.zeros(7),
                effort=np.zeros(7),
            ),
        )
        for k in range(1, 4)
    ]
    bag = tmp_path / "seven"
    write_generic_bag(bag, {"/joint_states": ("sensor_msgs/msg/JointState", msgs)})
    only_joints = _edited(
        profile,
        tmp_path,
        lambda d: (
            d.update(cameras=[], master_stream="joint_position"),
            [s.update(required=False) for s in d["streams"][1:]],
        ),
    )
    _fails(
        FieldError,
        r"seven: /joint_states .* stream 'joint_position': name lacks finger_joint \(has joint1, .*joint7\)",
        bag,
        only_joints,
        tmp_path / "out",
    )


def test_split_options_and_split_topic(tmp_path, kuavo_bag, kuavo4pro):
    with pytest.raises(ConfigError, match="split at gaps or at a marker topic, not both"):
        IngestOptions(split_gap_s=1.0, split_topic="/x")
    with pytest.raises(ConfigError, match=r"split_gap_s must be a positive number of seconds, got -1"):
        IngestOptions(split_gap_s=-1)
    _fails(
        TopicError,
        r"kuavo\.bag: split topic /episode_start is not in the bag",
        kuavo_bag.path,
        kuavo4pro,
        tmp_path / "out",
        options=IngestOptions(split_topic="/episode_start"),
    )


def test_a_failure_midway_leaves_nothing_behind(tmp_path, kuavo_bag, kuavo4pro):
    # The first frames pass; a later one fails: the partial episode must go too.
    profile = _edited(kuavo4pro, tmp_path, lambda d: d["cameras"][0].update(kind="depth", encoding="png"))
    out = tmp_path / "out"
    message = _fails(
        FieldError, r"/cam_h/color/image_raw/compressed .* stream 'head'", kuavo_bag.path, profile, out
    )
    assert "16-bit" in message or "depth" in message
    assert not list(out.glob("*")) if out.exists() else True


def test_profile_with_an_unknown_field_or_a_bad_unit_names_field_and_file(tmp_path, kuavo4pro):
    def unknown(d: dict[str, Any]) -> None:
        _stream(d, "action_arm")["units_of"] = "deg"

    with pytest.raises(
        ConfigError, match=r"kuavo4pro\.yaml: streams\[5\]\.units_of: unknown field 'units_of'"
    ):
        _edited(kuavo4pro, tmp_path, unknown)
    with pytest.raises(
        ConfigError,
        match=r"kuavo4pro\.yaml: streams\[5\]\.units\[0\]: unknown unit 'deg' \(convert degrees with "
        r"convert: deg_to_rad\); episodes hold SI units",
    ):
        _edited(kuavo4pro, tmp_path, lambda d: _stream(d, "action_arm").update(units=["deg"]))
    with pytest.raises(
        ConfigError, match=r"streams\[2\]\.units_by_field\.joint_current\[0\]: unknown unit '%'"
    ):
        _edited(
            kuavo4pro,
            tmp_path,
            lambda d: _stream(d, "joint_effort")["units_by_field"].update(joint_current=["%"]),
        )
    with pytest.raises(
        ConfigError, match=re.escape("streams[5].source_names: source_names are matched against name_field")
    ):
        _edited(kuavo4pro, tmp_path, lambda d: _stream(d, "action_arm").update(source_names=list(range(14))))
    with pytest.raises(
        ConfigError, match=r"streams\[5\]\.field: field must be a field expression or a non-empty list"
    ):
        _edited(kuavo4pro, tmp_path, lambda d: _stream(d, "action_arm").update(field=[]))
