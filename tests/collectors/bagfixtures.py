"""Synthetic robot bags written with rosbags' own writers, with the truth kept for checking.

The robot facts (topics, message layouts, motor ids, units) are written down here
from ``shared/reference/robots.md``, independently of the shipped profiles, so
that a mistake in a profile cannot hide behind the same mistake in its fixture.
Joint limits come from the profile only to keep the motion inside them.

Motion is smooth (sums of slow sines within the joint limits, legs still) and
camera frames are textured crops of a noise texture that move every frame, so a
clean bag looks like a real demonstration to the quality checks.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from rosbags.rosbag1 import Writer as Writer1
from rosbags.rosbag2 import StoragePlugin
from rosbags.rosbag2 import Writer as Writer2
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

from tg_config import RobotProfile

BAG_START_NS = 1_750_000_000_000_000_000

# kuavo_msgs as in robots.md (ROS 1 syntax); the fourth jointData field is set per firmware.
KUAVO_MSGS = {
    "kuavo_msgs/msg/jointData": (
        "float64[] joint_q\nfloat64[] joint_v\nfloat64[] joint_vd\nfloat64[] {fourth}\n"
    ),
    "kuavo_msgs/msg/imuData": (
        "geometry_msgs/Vector3 gyro\ngeometry_msgs/Vector3 acc\n"
        "geometry_msgs/Vector3 free_acc\ngeometry_msgs/Quaternion quat\n"
    ),
    "kuavo_msgs/msg/endEffectorData": (
        "string[] name\nfloat64[] position\nfloat64[] velocity\nfloat64[] effort\n"
    ),
    "kuavo_msgs/msg/sensorsData": (
        "std_msgs/Header header\ntime sensor_time\njointData joint_data\n"
        "imuData imu_data\nendEffectorData end_effector_data\n"
    ),
    "kuavo_msgs/msg/lejuClawState": "int8[] state\nendEffectorData data\nbool is_high_freq\n",
}
KUAVO_ARM_JOINTS = tuple(
    f"{side}_{j}"
    for side in ("l", "r")
    for j in ("arm_pitch", "arm_roll", "arm_yaw", "forearm_pitch", "hand_yaw", "hand_pitch", "hand_roll")
)

BODYCTRL_MSGS = {
    "bodyctrl_msgs/msg/MotorStatus": (
        "uint16 name\nfloat32 pos\nfloat32 speed\nfloat32 current\nfloat32 temperature\nuint32 error\n"
    ),
    "bodyctrl_msgs/msg/MotorStatusMsg": "std_msgs/Header header\nMotorStatus[] status\n",
    "bodyctrl_msgs/msg/SetMotorPosition": "uint16 name\nfloat32 pos\nfloat32 spd\nfloat32 cur\n",
    "bodyctrl_msgs/msg/CmdSetMotorPosition": "std_msgs/Header header\nSetMotorPosition[] cmds\n",
}
WALKER_ARM_IDS = (*range(11, 18), *range(21, 28))
WALKER_HEAD_IDS = (1, 2, 3)
WALKER_WAIST_IDS = (31,)


# ------------------------------------------------------------------ motion and images


def smooth_motion(
    t_s: np.ndarray, lower: np.ndarray, upper: np.ndarray, still: np.ndarray | None = None, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions, velocities and accelerations (N, J): slow sines around mid-range, inside limits."""
    rng = np.random.default_rng(seed)
    j = lower.shape[0]
    mid = (lower + upper) / 2
    amp = 0.3 * (upper - lower) / 2
    freq = rng.uniform(0.15, 0.45, j)
    phase = rng.uniform(0, 2 * math.pi, j)
    if still is not None:
        amp = np.where(still, 0.0, amp)
    w = 2 * math.pi * freq
    arg = t_s[:, None] * w + phase
    q = mid + amp * np.sin(arg)
    v = amp * w * np.cos(arg)
    a = -amp * w * w * np.sin(arg)
    return np.ascontiguousarray(q), np.ascontiguousarray(v), np.ascontiguousarray(a)


def imu_motion(t_s: np.ndarray) -> np.ndarray:
    """(N, 10) qx qy qz qw gx gy gz ax ay az of a body swaying slightly while standing."""
    yaw = 0.05 * np.sin(2 * math.pi * 0.2 * t_s)
    gz = 0.05 * 2 * math.pi * 0.2 * np.cos(2 * math.pi * 0.2 * t_s)
    out = np.zeros((t_s.shape[0], 10))
    out[:, 2] = np.sin(yaw / 2)
    out[:, 3] = np.cos(yaw / 2)
    out[:, 6] = gz
    out[:, 7] = 0.02 * np.sin(2 * math.pi * 0.7 * t_s)
    out[:, 9] = 9.81
    return out


class TexturedCamera:
    """Frames that move every frame: crops of a fixed noise texture plus a moving square."""

    def __init__(self, width: int, height: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.width, self.height = width, height
        tex = np.zeros((height + 96, width + 96, 3), np.float32)
        for scale, weight in ((4, 0.5), (16, 0.3), (64, 0.2)):
            small = rng.uniform(0, 255, ((height + 96) // scale + 1, (width + 96) // scale + 1, 3))
            tex += weight * cv2.resize(small.astype(np.float32), (width + 96, height + 96))
        self.texture = np.clip(tex, 0, 255).astype(np.uint8)
        self.rng = rng

    def rgb(self, k: int) -> np.ndarray:
        dx = int(48 + 40 * math.sin(k * 0.07))
        dy = int(48 + 40 * math.cos(k * 0.05))
        frame = self.texture[dy : dy + self.height, dx : dx + self.width].copy()
        s = max(4, self.width // 10)
        x = int((k * 3) % max(1, self.width - s))
        frame[self.height // 3 : self.height // 3 + s, x : x + s] = (200, 30, 30)
        return frame

    def jpeg(self, k: int, quality: int = 90) -> bytes:
        ok, buf = cv2.imencode(
            ".jpg", cv2.cvtColor(self.rgb(k), cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
        )
        assert ok
        return buf.tobytes()

    def png(self, k: int) -> bytes:
        ok, buf = cv2.imencode(".png", cv2.cvtColor(self.rgb(k), cv2.COLOR_RGB2BGR))
        assert ok
        return buf.tobytes()


def depth_png(width: int, height: int, k: int) -> tuple[np.ndarray, bytes]:
    """A 16-bit depth frame in millimetres (a tilted table plane and a moving box) and its PNG."""
    yy, xx = np.mgrid[0:height, 0:width]
    depth = (600 + yy * 2 + (xx // 7) % 3).astype(np.uint16)
    x = (k * 5) % (width - 20)
    depth[height // 2 : height // 2 + 20, x : x + 20] = 450
    ok, buf = cv2.imencode(".png", depth)
    assert ok
    return depth, buf.tobytes()


COMPRESSED_DEPTH_HEADER = b"\x00\x00\x00\x00" + b"\x00" * 8  # format 0 (inverse depth off), two float32 zeros


# ------------------------------------------------------------------ writing


@dataclass
class _Msg:
    topic: str
    receive_ns: int
    raw: bytes


@dataclass
class BagTruth:
    """What was written: per topic, the header stamps, receive times and values."""

    path: Path
    start_ns: int
    stamps: dict[str, np.ndarray] = field(default_factory=dict)
    receive: dict[str, np.ndarray] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    frames: dict[str, list[bytes]] = field(default_factory=dict)


def _times(start_ns: int, duration_s: float, hz: float, phase_ns: int = 0) -> np.ndarray:
    n = int(duration_s * hz)
    return start_ns + phase_ns + np.round(np.arange(n) * 1e9 / hz).astype(np.int64)


def _latency(rng: np.random.Generator, n: int, mean_ms: float) -> np.ndarray:
    return np.round(rng.uniform(0.5, 1.5, n) * mean_ms * 1e6).astype(np.int64)


def _time(ts: Typestore, ns: int) -> Any:
    return ts.types["builtin_interfaces/msg/Time"](
        sec=int(ns // 1_000_000_000), nanosec=int(ns % 1_000_000_000)
    )


def _header(ts: Typestore, ns: int, ros1: bool, frame_id: str = "") -> Any:
    header = ts.types["std_msgs/msg/Header"]
    if ros1:
        return header(seq=0, stamp=_time(ts, ns), frame_id=frame_id)
    return header(stamp=_time(ts, ns), frame_id=frame_id)


def _typestore(ros1: bool, definitions: dict[str, str]) -> Typestore:
    ts = get_typestore(Stores.ROS1_NOETIC if ros1 else Stores.ROS2_HUMBLE)
    types: dict[str, Any] = {}
    for name, text in definitions.items():
        types.update(get_types_from_msg(text, name))
    ts.register(types)
    return ts


def _write_ros1(path: Path, ts: Typestore, types: dict[str, str], msgs: list[_Msg]) -> None:
    with Writer1(path) as writer:
        conns = {
            topic: writer.add_connection(topic, msgtype, typestore=ts) for topic, msgtype in types.items()
        }
        for m in sorted(msgs, key=lambda m: m.receive_ns):
            writer.write(conns[m.topic], m.receive_ns, m.raw)


def _write_ros2(path: Path, ts: Typestore, types: dict[str, str], msgs: list[_Msg], storage: str) -> None:
    plugin = StoragePlugin.MCAP if storage == "mcap" else StoragePlugin.SQLITE3
    with Writer2(path, version=9, storage_plugin=plugin) as writer:
        conns = {
            topic: writer.add_connection(topic, msgtype, typestore=ts) for topic, msgtype in types.items()
        }
        for m in sorted(msgs, key=lambda m: m.receive_ns):
            writer.write(conns[m.topic], m.receive_ns, m.raw)


def drop_definitions(bag_dir: Path) -> None:
    """Make a ROS 2 sqlite3 bag look like a Humble one: no message definitions stored."""
    (db,) = bag_dir.glob("*.db3")
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM message_definitions")


def _camera_msgs(
    truth: BagTruth,
    ts: Typestore,
    ros1: bool,
    rng: np.random.Generator,
    topic: str,
    stamps: np.ndarray,
    make: Callable[[int], bytes],
    fmt: str,
    frames: list[bytes] | None = None,
) -> list[_Msg]:
    compressed = ts.types["sensor_msgs/msg/CompressedImage"]
    serialize = ts.serialize_ros1 if ros1 else ts.serialize_cdr
    receive = stamps + _latency(rng, stamps.shape[0], 15.0)
    out = []
    kept: list[bytes] = []
    for k, (stamp, recv) in enumerate(zip(stamps, receive, strict=True)):
        data = frames[k % len(frames)] if frames else make(k)
        kept.append(data)
        msg = compressed(header=_header(ts, int(stamp), ros1), format=fmt, data=np.frombuffer(data, np.uint8))
        out.append(_Msg(topic, int(recv), bytes(serialize(msg, "sensor_msgs/msg/CompressedImage"))))
    truth.stamps[topic] = stamps
    truth.receive[topic] = receive
    truth.frames[topic] = kept
    return out


def write_kuavo_bag(
    path: Path,
    profile: RobotProfile,
    *,
    duration_s: float = 2.0,
    sensor_hz: float = 500.0,
    camera_hz: float = 30.0,
    arm_hz: float = 100.0,
    claw_hz: float = 500.0,
    depth_hz: float = 0.0,
    size: tuple[int, int] = (640, 480),
    fourth_field: str = "joint_current",
    distinct_frames: int = 0,
    seed: int = 0,
    omit_topics: Sequence[str] = (),
    start_ns: int = BAG_START_NS,
) -> BagTruth:
    """A Kuavo ROS 1 bag: /sensors_data_raw, /kuavo_arm_traj (degrees), claws 0-100, cameras.

    The default rates are the ones the Kuavo profiles declare, so that the
    episode of a default bag passes the quality gate's rate and gap checks.

    The joint count and limits come from ``profile`` (28 joints on a Kuavo 4 Pro,
    29 with the waist on a Kuavo 5); everything else follows robots.md.
    """
    rng = np.random.default_rng(seed)
    defs = {k: v.format(fourth=fourth_field) for k, v in KUAVO_MSGS.items()}
    ts = _typestore(True, defs)
    truth = BagTruth(path=path, start_ns=start_ns)
    msgs: list[_Msg] = []
    lower, upper = profile.joint_limits()
    still = np.array([not j.moves for j in profile.joints])
    n_joints = lower.shape[0]

    # /sensors_data_raw
    t = _times(start_ns, duration_s, sensor_hz, 1_000_000)
    q, v, a = smooth_motion((t - start_ns) / 1e9, lower, upper, still, seed)
    fourth = 0.8 * v + 0.05 * np.sin(q)  # current (A) or torque (N·m): smooth, signed
    imu = imu_motion((t - start_ns) / 1e9)
    recv = t + _latency(rng, t.shape[0], 0.4)
    types_ = ts.types
    vec, quat = types_["geometry_msgs/msg/Vector3"], types_["geometry_msgs/msg/Quaternion"]
    empty_ee = types_["kuavo_msgs/msg/endEffectorData"](
        name=[], position=np.zeros(0), velocity=np.zeros(0), effort=np.zeros(0)
    )
    for k in range(t.shape[0]):
        joint = types_["kuavo_msgs/msg/jointData"](
            joint_q=q[k], joint_v=v[k], joint_vd=a[k], **{fourth_field: fourth[k]}
        )
        im = imu[k]
        imu_msg = types_["kuavo_msgs/msg/imuData"](
            gyro=vec(x=im[4], y=im[5], z=im[6]),
            acc=vec(x=im[7], y=im[8], z=im[9]),
            free_acc=vec(x=im[7], y=im[8], z=0.0),
            quat=quat(x=im[0], y=im[1], z=im[2], w=im[3]),
        )
        msg = types_["kuavo_msgs/msg/sensorsData"](
            header=_header(ts, int(t[k]), True),
            sensor_time=_time(ts, int(t[k])),
            joint_data=joint,
            imu_data=imu_msg,
            end_effector_data=empty_ee,
        )
        msgs.append(
            _Msg(
                "/sensors_data_raw", int(recv[k]), bytes(ts.serialize_ros1(msg, "kuavo_msgs/msg/sensorsData"))
            )
        )
    truth.stamps["/sensors_data_raw"] = t
    truth.receive["/sensors_data_raw"] = recv
    truth.values["q"], truth.values["v"], truth.values["fourth"], truth.values["imu"] = q, v, fourth, imu
    assert n_joints == q.shape[1]

    # /kuavo_arm_traj: the operator's IK target, in degrees, leading the state by 0.1 s; no header stamp.
    arm_idx = [profile.joint_names.index(j) for j in KUAVO_ARM_JOINTS]
    ta = _times(start_ns, duration_s, arm_hz, 3_000_000)
    qa, _, _ = smooth_motion((ta - start_ns) / 1e9 + 0.1, lower, upper, still, seed)
    arm_deg = np.ascontiguousarray(np.degrees(qa[:, arm_idx]))
    recv_a = ta + _latency(rng, ta.shape[0], 1.0)
    joint_state = types_["sensor_msgs/msg/JointState"]
    names = [f"arm_joint_{i}" for i in range(1, 15)]
    for k in range(ta.shape[0]):
        msg = joint_state(
            header=_header(ts, 0, True),
            name=names,
            position=arm_deg[k],
            velocity=np.zeros(0),
            effort=np.zeros(0),
        )
        msgs.append(
            _Msg(
                "/kuavo_arm_traj", int(recv_a[k]), bytes(ts.serialize_ros1(msg, "sensor_msgs/msg/JointState"))
            )
        )
    truth.receive["/kuavo_arm_traj"] = recv_a
    truth.values["arm_deg"] = arm_deg

    # /leju_claw_state: 0 (open) .. 100 (closed), no header.
    tc = _times(start_ns, duration_s, claw_hz, 2_000_000)
    claw = 50 + 45 * np.sin(2 * math.pi * 0.3 * (tc - start_ns)[:, None] / 1e9 + np.array([0.0, 1.0]))
    recv_c = tc + _latency(rng, tc.shape[0], 0.5)
    for k in range(tc.shape[0]):
        msg = types_["kuavo_msgs/msg/lejuClawState"](
            state=np.array([1, 1], np.int8),
            data=types_["kuavo_msgs/msg/endEffectorData"](
                name=["left_claw", "right_claw"], position=claw[k], velocity=np.zeros(2), effort=np.zeros(2)
            ),
            is_high_freq=True,
        )
        msgs.append(
            _Msg(
                "/leju_claw_state",
                int(recv_c[k]),
                bytes(ts.serialize_ros1(msg, "kuavo_msgs/msg/lejuClawState")),
            )
        )
    truth.receive["/leju_claw_state"] = recv_c
    truth.values["claw"] = claw

    types = {
        "/sensors_data_raw": "kuavo_msgs/msg/sensorsData",
        "/kuavo_arm_traj": "sensor_msgs/msg/JointState",
        "/leju_claw_state": "kuavo_msgs/msg/lejuClawState",
    }
    width, height = size
    for i, (topic, cam_seed) in enumerate(
        (
            ("/cam_h/color/image_raw/compressed", 1),
            ("/cam_l/color/image_raw/compressed", 2),
            ("/cam_r/color/image_raw/compressed", 3),
        )
    ):
        cam = TexturedCamera(width, height, seed + cam_seed)
        stamps = _times(start_ns, duration_s, camera_hz, 5_000_000 + i * 11_000_000)
        frames = [cam.jpeg(k) for k in range(distinct_frames)] if distinct_frames else None
        msgs += _camera_msgs(truth, ts, True, rng, topic, stamps, cam.jpeg, "jpeg", frames)
        types[topic] = "sensor_msgs/msg/CompressedImage"
    if depth_hz:
        topic = "/cam_h/depth/image_raw/compressedDepth"
        stamps = _times(start_ns, duration_s, depth_hz, 7_000_000)
        depths: list[np.ndarray] = []

        def make_depth(k: int) -> bytes:
            depth, png = depth_png(width, height, k)
            depths.append(depth)
            return COMPRESSED_DEPTH_HEADER + png

        msgs += _camera_msgs(truth, ts, True, rng, topic, stamps, make_depth, "16UC1; compressedDepth png")
        truth.values["depth"] = depths
        types[topic] = "sensor_msgs/msg/CompressedImage"
    msgs = [m for m in msgs if m.topic not in omit_topics]
    _write_ros1(path, ts, {k: v for k, v in types.items() if k not in omit_topics}, msgs)
    return truth


def write_walker_bag(
    path: Path,
    profile: RobotProfile,
    *,
    storage: str = "mcap",
    duration_s: float = 2.0,
    status_hz: float = 200.0,
    camera_hz: float = 30.0,
    imu_hz: float = 200.0,
    hand_hz: float = 50.0,
    cmd_hz: float = 50.0,
    size: tuple[int, int] = (640, 480),
    seed: int = 1,
    start_ns: int = BAG_START_NS,
) -> BagTruth:
    """A Walker Tienkung ROS 2 bag: per-part MotorStatusMsg (motors shuffled), IMU, hands, cameras.

    Motors are listed in a different order in every message, as nothing in the
    message layout promises an order: the profile must match them by motor id.
    """
    rng = np.random.default_rng(seed)
    ts = _typestore(False, BODYCTRL_MSGS)
    types_ = ts.types
    truth = BagTruth(path=path, start_ns=start_ns)
    msgs: list[_Msg] = []
    lower, upper = profile.joint_limits()
    still = np.array([not j.moves for j in profile.joints])
    ids_by_joint = _walker_joint_ids(profile.joint_names)

    t = _times(start_ns, duration_s, status_hz, 1_000_000)
    q, v, _ = smooth_motion((t - start_ns) / 1e9, lower, upper, still, seed)
    current = 0.5 * v + 0.1
    truth.values["q"], truth.values["v"], truth.values["current"] = q, v, current
    status = types_["bodyctrl_msgs/msg/MotorStatus"]
    status_msg = types_["bodyctrl_msgs/msg/MotorStatusMsg"]
    for part, ids in (("arm", WALKER_ARM_IDS), ("head", WALKER_HEAD_IDS), ("waist", WALKER_WAIST_IDS)):
        topic = f"/{part}/status"
        recv = t + _latency(rng, t.shape[0], 0.5)
        cols = [ids_by_joint.index(i) for i in ids]
        for k in range(t.shape[0]):
            order = rng.permutation(len(ids))
            entries = [
                status(
                    name=ids[o],
                    pos=float(q[k, cols[o]]),
                    speed=float(v[k, cols[o]]),
                    current=float(current[k, cols[o]]),
                    temperature=35.0,
                    error=0,
                )
                for o in order
            ]
            msg = status_msg(header=_header(ts, int(t[k]), False), status=entries)
            msgs.append(
                _Msg(topic, int(recv[k]), bytes(ts.serialize_cdr(msg, "bodyctrl_msgs/msg/MotorStatusMsg")))
            )
        truth.stamps[topic] = t
        truth.receive[topic] = recv

    ti = _times(start_ns, duration_s, imu_hz, 2_000_000)
    imu = imu_motion((ti - start_ns) / 1e9)
    recv_i = ti + _latency(rng, ti.shape[0], 0.5)
    vec, quat = types_["geometry_msgs/msg/Vector3"], types_["geometry_msgs/msg/Quaternion"]
    for k in range(ti.shape[0]):
        im = imu[k]
        msg = types_["sensor_msgs/msg/Imu"](
            header=_header(ts, int(ti[k]), False),
            orientation=quat(x=im[0], y=im[1], z=im[2], w=im[3]),
            orientation_covariance=np.zeros(9),
            angular_velocity=vec(x=im[4], y=im[5], z=im[6]),
            angular_velocity_covariance=np.zeros(9),
            linear_acceleration=vec(x=im[7], y=im[8], z=im[9]),
            linear_acceleration_covariance=np.zeros(9),
        )
        msgs.append(_Msg("/imu", int(recv_i[k]), bytes(ts.serialize_cdr(msg, "sensor_msgs/msg/Imu"))))
    truth.stamps["/imu"], truth.receive["/imu"], truth.values["imu"] = ti, recv_i, imu

    # Inspire hands: JointState, 6 fingers (ids 1..6), position = opening 1.0 open .. 0.0 closed.
    joint_state = types_["sensor_msgs/msg/JointState"]
    for side, phase in (("left", 0.0), ("right", 1.3)):
        topic = f"/inspire_hand/state/{side}_hand"
        th = _times(start_ns, duration_s, hand_hz, 4_000_000)
        opening = 0.5 + 0.45 * np.sin(
            2 * math.pi * 0.3 * (th - start_ns)[:, None] / 1e9 + phase + np.arange(6) * 0.2
        )
        recv_h = th + _latency(rng, th.shape[0], 1.0)
        for k in range(th.shape[0]):
            msg = joint_state(
                header=_header(ts, int(th[k]), False),
                name=[str(i) for i in range(1, 7)],
                position=opening[k],
                velocity=np.zeros(6),
                effort=np.zeros(6),
            )
            msgs.append(
                _Msg(topic, int(recv_h[k]), bytes(ts.serialize_cdr(msg, "sensor_msgs/msg/JointState")))
            )
        truth.stamps[topic], truth.receive[topic], truth.values[f"hand_{side}"] = th, recv_h, opening

    # Arm command: every arm motor, in id order, header stamp left at zero as in UBTech's examples.
    tc = _times(start_ns, duration_s, cmd_hz, 3_000_000)
    qc, _, _ = smooth_motion((tc - start_ns) / 1e9 + 0.1, lower, upper, still, seed)
    arm_cols = [ids_by_joint.index(i) for i in WALKER_ARM_IDS]
    recv_c = tc + _latency(rng, tc.shape[0], 1.0)
    setpos = types_["bodyctrl_msgs/msg/SetMotorPosition"]
    for k in range(tc.shape[0]):
        cmds = [
            setpos(name=i, pos=float(qc[k, c]), spd=0.5, cur=8.0)
            for i, c in zip(WALKER_ARM_IDS, arm_cols, strict=True)
        ]
        msg = types_["bodyctrl_msgs/msg/CmdSetMotorPosition"](header=_header(ts, 0, False), cmds=cmds)
        msgs.append(
            _Msg(
                "/arm/cmd_pos",
                int(recv_c[k]),
                bytes(ts.serialize_cdr(msg, "bodyctrl_msgs/msg/CmdSetMotorPosition")),
            )
        )
    truth.receive["/arm/cmd_pos"], truth.values["arm_cmd"] = recv_c, np.ascontiguousarray(qc[:, arm_cols])

    types = {
        "/arm/status": "bodyctrl_msgs/msg/MotorStatusMsg",
        "/head/status": "bodyctrl_msgs/msg/MotorStatusMsg",
        "/waist/status": "bodyctrl_msgs/msg/MotorStatusMsg",
        "/imu": "sensor_msgs/msg/Imu",
        "/inspire_hand/state/left_hand": "sensor_msgs/msg/JointState",
        "/inspire_hand/state/right_hand": "sensor_msgs/msg/JointState",
        "/arm/cmd_pos": "bodyctrl_msgs/msg/CmdSetMotorPosition",
    }
    width, height = size
    for i, name in enumerate(("head", "waist")):
        topic = f"/ob_camera_{name}/color/image_raw/compressed"
        cam = TexturedCamera(width, height, seed + 10 + i)
        stamps = _times(start_ns, duration_s, camera_hz, 5_000_000 + i * 13_000_000)
        msgs += _camera_msgs(truth, ts, False, rng, topic, stamps, cam.jpeg, "rgb8; jpeg compressed bgr8")
        types[topic] = "sensor_msgs/msg/CompressedImage"
    _write_ros2(path, ts, types, msgs, storage)
    return truth


def _walker_joint_ids(joint_names: Sequence[str]) -> list[int]:
    """UBTech motor id of each profile joint: head_1..3 -> 1..3, l_arm_k -> 10+k, r_arm_k -> 20+k,
    waist -> 31, l_leg_k -> 50+k, r_leg_k -> 60+k (robots.md)."""
    base = {"head": 0, "l_arm": 10, "r_arm": 20, "l_leg": 50, "r_leg": 60}
    ids = []
    for name in joint_names:
        if name == "waist":
            ids.append(31)
            continue
        part, k = name.rsplit("_", 1)
        ids.append(base[part] + int(k))
    return ids


def write_generic_bag(
    path: Path,
    topics: dict[str, tuple[str, list[tuple[int, Any]]]],
    *,
    ros1: bool = False,
    storage: str = "mcap",
    definitions: dict[str, str] | None = None,
) -> Typestore:
    """A bag from ready message objects: ``{topic: (msgtype, [(receive_ns, message), ...])}``."""
    ts = _typestore(ros1, definitions or {})
    serialize = ts.serialize_ros1 if ros1 else ts.serialize_cdr
    msgs = [
        _Msg(topic, recv, bytes(serialize(msg, msgtype)))
        for topic, (msgtype, items) in topics.items()
        for recv, msg in items
    ]
    types = {topic: msgtype for topic, (msgtype, _) in topics.items()}
    if ros1:
        _write_ros1(path, ts, types, msgs)
    else:
        _write_ros2(path, ts, types, msgs, storage)
    return ts


def typestore_for(ros1: bool, definitions: dict[str, str] | None = None) -> Typestore:
    """The typestore the fixtures serialise with, to build message objects for write_generic_bag."""
    return _typestore(ros1, definitions or {})


def header(ts: Typestore, ns: int, ros1: bool = False) -> Any:
    return _header(ts, ns, ros1)
