"""``sim_bridge``: the PyBullet training ground as if it were the robot's driver.

Publishes what the session's profile names (joint states, gripper states, IMU,
camera images as the profile's message type, each camera's ``CameraInfo``),
``/robot_description`` (transient local) and ``/clock``; applies the profile's
command topics (arm joint targets, gripper closures) plus ``/head_cmd`` (the
teleoperator's head targets, which no profile stream records) to the
simulation; a command stamped before the last reset is dropped (it was meant
for the previous scene). Header stamps are simulated time.

Parameters: ``session`` (session YAML), ``seed`` (-1: the session's), ``real_time_factor``
(simulated time runs at most this much faster than real time; 0: no limit), ``renderer``
("" : the session's), ``freeze_topics`` and ``mute_topics`` (comma-separated topics, settable
at any time, for fault drills and tests: a frozen camera repeats its last image with new
stamps, a muted topic publishes nothing). Services: ``~/reset`` (``std_srvs/Trigger``: the
next scene, with the ``seed`` parameter if it was set since the last reset, else the previous seed + 1; the
response message is the :class:`sim_envs.SimScene` also published, transient local, on
``~/scene``), ``~/evaluate`` (``std_srvs/Trigger``: a :class:`sim_envs.SimVerdict`: success,
failure, notes, instruction, scene, and the real-time factor since the reset).

The stepping, sampling and the clock are :class:`sim_envs.SimDriver`'s; this
node only turns samples into messages and commands into calls. The simulation
runs in the main thread (PyBullet is not thread-safe); ROS callbacks run in an
executor thread and hand work to it through a queue.
"""

from __future__ import annotations

import array
import dataclasses
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from rcl_interfaces.msg import SetParametersResult
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, Imu, JointState
from std_msgs.msg import String
from std_srvs.srv import Trigger

from episodes import ImageStreamSpec, Role, StreamKind, StreamSpec
from episodes._images import encode_frame
from sim_envs import Pacer, SimDriver, SimError, SimOverrides, SimSetup
from tg_config import ResolvedSession, load_session
from tg_sim._ros import camera_info_topic, nanoseconds, run_node, spin_until, stamp_msg

__all__ = ["HEAD_COMMAND_TOPIC", "SimBridge", "main"]

HEAD_COMMAND_TOPIC = "/head_cmd"
_LATCHED = QoSProfile(
    depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL, reliability=ReliabilityPolicy.RELIABLE
)
_COMMAND_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
_RAW_ENCODINGS = {
    (StreamKind.CAMERA, 3): "rgb8",
    (StreamKind.CAMERA, 1): "mono8",
    (StreamKind.DEPTH, 1): "16UC1",
}


@dataclass
class _Topic:
    """One published topic and the streams whose samples fill its message."""

    name: str
    msg_type: str
    streams: dict[str, str] = field(default_factory=dict)  # stream -> message field
    names: tuple[str, ...] = ()
    publisher: Any = None
    info: Any = None  # the CameraInfo publisher of a camera topic
    info_msg: CameraInfo | None = None
    spec: StreamSpec | None = None
    published: int = 0
    last_image: Any = None  # what a frozen camera repeats


class SimBridge(Node):
    """The node; :meth:`run` is the simulation loop (call it from the main thread)."""

    def __init__(self) -> None:
        super().__init__("sim_bridge")
        self.declare_parameter("session", "")
        self.declare_parameter("seed", -1)
        self.declare_parameter("real_time_factor", 1.0)
        self.declare_parameter("renderer", "")
        self.declare_parameter("freeze_topics", "")
        self.declare_parameter("mute_topics", "")
        self._frozen: frozenset[str] = frozenset()
        self._muted: frozenset[str] = frozenset()
        session_path = str(self.get_parameter("session").value)
        if not session_path:
            raise SimError("sim_bridge: parameter 'session' (a session YAML) is required")
        run = load_session(session_path).resolve()
        renderer = str(self.get_parameter("renderer").value) or None
        self.setup = SimSetup.from_session(run, SimOverrides(renderer=renderer))
        seed = int(self.get_parameter("seed").value)
        self._next_seed = run.session.seed if seed < 0 else seed
        self.pacer = Pacer(float(self.get_parameter("real_time_factor").value))
        self.driver = SimDriver(self.setup, seed=self._next_seed, origin_ns=time.time_ns())
        self._next_seed += 1
        self._jobs: queue.Queue[tuple[Callable[[], str], queue.Queue[tuple[bool, str]]]] = queue.Queue()
        self._commands: dict[str, tuple[int, Sequence[str], Sequence[float]]] = {}
        self._command_lock = threading.Lock()
        self._gripper_topics: set[str] = set()
        self.rejected_commands = 0
        self._topics = self._make_topics(run)
        self._clock_pub = self.create_publisher(Clock, "/clock", 10)
        self._scene_pub = self.create_publisher(String, "~/scene", _LATCHED)
        self._urdf_pub = self.create_publisher(String, "/robot_description", _LATCHED)
        urdf = run.profile.urdf_text()
        if urdf is not None:
            self._urdf_pub.publish(String(data=urdf))
        self._subscribe_commands(run)
        self.add_on_set_parameters_callback(self._on_parameters)
        self.create_service(Trigger, "~/reset", self._on_reset)
        self.create_service(Trigger, "~/evaluate", self._on_evaluate)
        self._episode_wall = time.monotonic()
        self._publish_scene()
        self.get_logger().info(
            f"simulating {self.setup.robot.name} / {self.setup.task.name} for {session_path} (renderer "
            f"{self.driver.episode.renderer}, physics {self.setup.physics_hz:g} Hz, "
            f"real-time factor {self.pacer.factor:g})"
        )

    # ------------------------------------------------------------------ wiring

    def _make_topics(self, run: ResolvedSession) -> dict[str, _Topic]:
        topics: dict[str, _Topic] = {}
        fields = {s.name: s.field for s in run.profile.streams}
        for spec in run.streams:
            if spec.role is Role.ACTION:
                continue
            topic = topics.setdefault(spec.topic, _Topic(spec.topic, spec.msg_type, spec=spec))
            if topic.msg_type != spec.msg_type:
                raise SimError(
                    f"topic {spec.topic}: streams declare both {topic.msg_type} and {spec.msg_type}"
                )
            if isinstance(spec, ImageStreamSpec):
                topic.streams[spec.name] = "data"
                topic.info = self.create_publisher(
                    CameraInfo, camera_info_topic(spec.topic), qos_profile_sensor_data
                )
                topic.info_msg = _camera_info(self.setup.calibrations()[spec.name], spec.name)
            else:
                field_name = fields.get(spec.name, "")
                if spec.msg_type.endswith("JointState"):
                    if not isinstance(field_name, str) or field_name not in (
                        "position",
                        "velocity",
                        "effort",
                    ):
                        raise SimError(
                            f"stream {spec.name!r}: the simulator publishes JointState position, velocity or "
                            f"effort, not field {field_name!r}"
                        )
                    topic.names = spec.names
                topic.streams[spec.name] = field_name if isinstance(field_name, str) else ""
        for topic in topics.values():
            topic.publisher = self.create_publisher(
                _MSG_TYPES[_short(topic)], topic.name, qos_profile_sensor_data
            )
        return topics

    def _subscribe_commands(self, run: ResolvedSession) -> None:
        for spec in run.streams:
            if spec.role is not Role.ACTION:
                continue
            if not spec.msg_type.endswith("JointState"):
                raise SimError(
                    f"stream {spec.name!r}: the simulator takes commands as JointState, not {spec.msg_type}"
                )
            if spec.kind is StreamKind.GRIPPER:
                self._gripper_topics.add(spec.topic)
            self.create_subscription(
                JointState, spec.topic, lambda msg, t=spec.topic: self._on_command(msg, t), _COMMAND_QOS
            )
        self.create_subscription(
            JointState,
            HEAD_COMMAND_TOPIC,
            lambda msg: self._on_command(msg, HEAD_COMMAND_TOPIC),
            _COMMAND_QOS,
        )

    def _on_command(self, msg: JointState, topic: str) -> None:
        # The latest command per topic wins, as with a position-controlled driver.
        with self._command_lock:
            self._commands[topic] = (nanoseconds(msg.header.stamp), list(msg.name), list(msg.position))

    def _on_parameters(self, params: list[Parameter[Any]]) -> SetParametersResult:
        for param in params:
            if param.name == "seed" and int(param.value) >= 0:
                self._next_seed = int(param.value)
            elif param.name in ("freeze_topics", "mute_topics"):
                topics = frozenset(t.strip() for t in str(param.value).split(",") if t.strip())
                setattr(self, "_frozen" if param.name == "freeze_topics" else "_muted", topics)
            elif param.name == "real_time_factor":
                try:
                    self.pacer = Pacer(float(param.value))
                except SimError as exc:
                    return SetParametersResult(successful=False, reason=str(exc))
        return SetParametersResult(successful=True)

    # ------------------------------------------------------------------ services

    def _in_loop(self, job: Callable[[], str], response: Trigger.Response) -> Trigger.Response:
        answer: queue.Queue[tuple[bool, str]] = queue.Queue(maxsize=1)
        self._jobs.put((job, answer))
        try:
            response.success, response.message = answer.get(timeout=30.0)
        except queue.Empty:
            response.success, response.message = False, "the simulation loop did not answer within 30 s"
        return response

    def _on_reset(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        def reset() -> str:
            seed = self._next_seed
            self.driver.reset(seed)
            self._next_seed = seed + 1
            self._episode_wall = time.monotonic()
            with self._command_lock:
                self._commands.clear()
            for topic in self._topics.values():
                topic.published = 0
            return self._publish_scene()

        return self._in_loop(reset, response)

    def _on_evaluate(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        def evaluate() -> str:
            wall = time.monotonic() - self._episode_wall
            sim = (self.driver.now_ns - self.driver.episode_origin_ns) / 1e9
            verdict = dataclasses.replace(
                self.driver.evaluate(),
                real_time_factor=round(sim / wall, 3) if wall > 0 else 0.0,
                published={t.name: t.published for t in self._topics.values()},
                rejected_commands=self.rejected_commands,
            )
            return verdict.to_json()

        return self._in_loop(evaluate, response)

    def _publish_scene(self) -> str:
        text = self.driver.scene().to_json()
        self._scene_pub.publish(String(data=text))
        return text

    # ------------------------------------------------------------------ loop

    def run(self, stop: threading.Event) -> None:
        """Step, publish, pace; until ``stop`` is set (SIGINT/SIGTERM)."""
        pending: dict[str, dict[str, npt.NDArray[Any]]] = {}
        by_stream = {s: t for t in self._topics.values() for s in t.streams}

        def sink(stream: str, stamp_ns: int, value: npt.NDArray[Any]) -> None:
            pending.setdefault(by_stream[stream].name, {})[stream] = value

        driver = self.driver
        while not stop.is_set():
            self._serve_jobs()
            self._apply_commands()
            stamp = driver.now_ns
            driver.tick(sink)
            for name, values in pending.items():
                self._publish(self._topics[name], stamp, values)
            pending.clear()
            driver.step()
            self.pacer.wait(driver.now_ns)
            self._clock_pub.publish(Clock(clock=stamp_msg(driver.now_ns)))

    def _serve_jobs(self) -> None:
        while True:
            try:
                job, answer = self._jobs.get_nowait()
            except queue.Empty:
                return
            try:
                answer.put((True, job()))
            except SimError as exc:
                answer.put((False, str(exc)))

    def _apply_commands(self) -> None:
        with self._command_lock:
            commands, self._commands = self._commands, {}
        for topic, (stamp, names, values) in commands.items():
            if stamp < self.driver.episode_origin_ns:
                continue  # meant for the scene before the last reset, still in flight
            try:
                if topic in self._gripper_topics:
                    self.driver.command_grippers(names, values)
                else:
                    self.driver.command_joints(names, values)
            except SimError as exc:
                self.rejected_commands += 1
                self.get_logger().warning(f"{topic}: {exc}", throttle_duration_sec=5.0)

    def _publish(self, topic: _Topic, stamp_ns: int, values: dict[str, npt.NDArray[Any]]) -> None:
        if topic.name in self._muted:
            return
        stamp = stamp_msg(stamp_ns)
        short = _short(topic)
        msg: Any
        if short in ("CompressedImage", "Image"):
            spec = topic.spec
            if not isinstance(spec, ImageStreamSpec):
                raise SimError(f"topic {topic.name}: not a camera")
            if topic.name in self._frozen and topic.last_image is not None:
                msg = topic.last_image
            else:
                msg = _image(spec, next(iter(values.values())), compressed=short == "CompressedImage")
                topic.last_image = msg
            msg.header.stamp = stamp
            msg.header.frame_id = f"{spec.name}_optical_frame"
            if topic.info_msg is not None:
                topic.info_msg.header.stamp = stamp
                topic.info.publish(topic.info_msg)
        elif short == "JointState":
            msg = JointState()
            msg.header.stamp = stamp
            msg.name = list(topic.names)
            for stream, field_name in topic.streams.items():
                if stream in values:
                    setattr(msg, field_name, _doubles(values[stream]))
        else:
            q = values[next(iter(topic.streams))]
            msg = Imu()
            msg.header.stamp = stamp
            msg.header.frame_id = self.setup.robot.spec.base_link
            msg.orientation.x, msg.orientation.y, msg.orientation.z, msg.orientation.w = map(float, q[0:4])
            msg.angular_velocity.x, msg.angular_velocity.y, msg.angular_velocity.z = map(float, q[4:7])
            msg.linear_acceleration.x, msg.linear_acceleration.y, msg.linear_acceleration.z = map(
                float, q[7:10]
            )
        topic.publisher.publish(msg)
        topic.published += 1


_MSG_TYPES: dict[str, Any] = {
    "JointState": JointState,
    "Imu": Imu,
    "CompressedImage": CompressedImage,
    "Image": Image,
}


def _short(topic: _Topic) -> str:
    short = topic.msg_type.rsplit("/", 1)[-1]
    if short not in _MSG_TYPES:
        raise SimError(
            f"topic {topic.name}: the simulator cannot publish {topic.msg_type} "
            f"(it publishes {', '.join(_MSG_TYPES)})"
        )
    return short


def _doubles(values: npt.NDArray[Any]) -> array.array[float]:
    out = array.array("d")
    out.frombytes(np.ascontiguousarray(values, dtype=np.float64).tobytes())
    return out


def _image(spec: ImageStreamSpec, frame: npt.NDArray[Any], *, compressed: bool) -> Any:
    if compressed:
        msg = CompressedImage()
        msg.format = spec.encoding.value
        msg.data = encode_frame(frame, spec).tobytes()
        return msg
    msg = Image()
    msg.height, msg.width = int(frame.shape[0]), int(frame.shape[1])
    msg.encoding = _RAW_ENCODINGS[(spec.kind, spec.channels)]
    msg.step = int(frame.strides[0])
    msg.data = np.ascontiguousarray(frame).tobytes()
    return msg


def _camera_info(calibration: Any, name: str) -> CameraInfo:
    info = CameraInfo()
    info.header.frame_id = f"{name}_optical_frame"
    info.width, info.height = calibration.width, calibration.height
    info.distortion_model = "plumb_bob"
    info.d = [float(v) for v in calibration.distortion]
    k = [float(v) for v in calibration.camera_matrix]
    info.k = k
    info.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    info.p = [k[0], k[1], k[2], 0.0, k[3], k[4], k[5], 0.0, 0.0, 0.0, 1.0, 0.0]
    return info


def main(args: Sequence[str] | None = None) -> None:
    """Entry point (``ros2 run tg_sim sim_bridge``, ``python -m tg_sim.sim_bridge_node``)."""
    run_node(_serve, args, "sim_bridge")


def _serve(stop: threading.Event) -> None:
    node = SimBridge()
    # Single-threaded: a MultiThreadedExecutor busy-spins its main thread while a callback of a
    # busy callback group is pending (seen: a core at 93% for minutes, starving the simulation).
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    spinner = threading.Thread(target=spin_until, args=(executor, stop))
    spinner.start()
    try:
        node.run(stop)
    finally:
        stop.set()
        spinner.join()
        executor.shutdown()
        node.driver.close()
        node.destroy_node()


if __name__ == "__main__":
    main()
