"""The ``recorder`` node: a robot profile's topics into episodes, controlled by services.

Thin over :class:`collectors.LiveRecorder`: this module only subscribes,
answers services and publishes the status.

Parameters: ``session`` (a session YAML) or ``profile`` (a profile name or
path), ``out`` (dataset folder, wins over the session's), and the labels of the
next episode, read at each ``~/start``: ``task``, ``instruction``,
``operator``, ``station``, ``extra_json`` (a JSON object); ``notes`` (read at
``~/mark_success``: why the episode failed, say); ``use_sim_time``;
``keep_empty`` (keep an episode in which a required stream got nothing; by
default ``~/stop`` discards it and answers which streams were silent).

Name: one per station, ``recorder_<station>`` (:func:`tg_station.recorder_name`);
the node waits for discovery at start and exits with an error when a node of
its name already runs in the ROS domain, so one station never drives another's.

Services: ``~/start``, ``~/stop``, ``~/discard`` (``std_srvs/Trigger``) and
``~/mark_success`` (``std_srvs/SetBool``: the current episode, or the last
finished one when idle, which is rewritten safely). ``~/start`` is refused
while the clock reads 0 (``use_sim_time`` before any ``/clock``). A request that does not
fit the state answers ``success=false`` with the reason and changes nothing.

Topic ``~/status`` (``std_msgs/String``): :class:`collectors.RecorderStatus` as
JSON, once a second and after every change of state.

    python -m tg_recorder.recorder_node --ros-args -r __node:=recorder_arm1 \
        -p profile:=generic_ros2_arm -p out:=datasets/arm
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import Any

import rclpy
from rclpy.clock import Clock
from rclpy.clock_type import ClockType
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.signals import SignalHandlerOptions
from sensor_msgs.msg import CameraInfo
from std_msgs.msg import String
from std_srvs.srv import SetBool, Trigger

from collectors import CameraIntrinsics, EpisodeLabels, LiveRecorder, Publisher, topic_types
from tg_base import TgError
from tg_config import ResolvedSession, SessionConfig, load_session
from tg_recorder._messages import message_class, schemas_for
from tg_station import ParameterValue

__all__ = ["RecorderNode", "embedded_recorder", "main", "namesake", "refuse_a_namesake", "run_recorder"]

STATUS_PERIOD_S = 1.0
# How long a starting recorder listens for a namesake: DDS discovery on one host takes well under
# this, even loaded. One discovered later (a loaded machine, a network) is caught by the status
# timer: while it runs, neither recorder starts an episode.
DISCOVERY_S = 3.0
_STRING_PARAMS = (
    "session",
    "profile",
    "out",
    "task",
    "instruction",
    "operator",
    "station",
    "extra_json",
    "notes",
)


class RecorderNode(Node):
    """The recorder node; ``close(reason)`` finishes a recording in progress as aborted."""

    def __init__(self, *, node_name: str = "recorder", **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        discovering_until = time.monotonic() + DISCOVERY_S  # while the setup below runs
        for name in _STRING_PARAMS:
            self.declare_parameter(name, "")
        self.declare_parameter("keep_empty", False)
        run, from_session = self._resolve()
        defaults = None if from_session else EpisodeLabels()
        types = topic_types(run)
        self.core = LiveRecorder(
            run,
            schemas=schemas_for(set(types.values())),
            out=run.out,
            clock=self._now_ns,
            default_labels=defaults,
            keep_empty=bool(self.get_parameter("keep_empty").value),
        )
        self._subscribe()
        refuse_a_namesake(self, until=discovering_until)  # before our services could answer anyone
        self._namesake = ""  # why no episode may start: a namesake discovered later
        self._status_pub = self.create_publisher(String, "~/status", 10)
        self.create_service(Trigger, "~/start", self._on_start)
        self.create_service(Trigger, "~/stop", self._on_stop)
        self.create_service(Trigger, "~/discard", self._on_discard)
        self.create_service(SetBool, "~/mark_success", self._on_mark_success)
        # Wall time: under use_sim_time a paused or slow simulation must not stop the status.
        self.create_timer(STATUS_PERIOD_S, self._on_timer, clock=Clock(clock_type=ClockType.STEADY_TIME))
        self.get_logger().info(
            f"recording profile {run.profile.name!r} into {run.out}: {', '.join(types)}; "
            "call ~/start to begin"
        )

    def _subscribe(self) -> None:
        """The profile's topics, each camera's CameraInfo and ``/robot_description``."""
        for plan in self.core.topics:
            qos = QoSProfile(
                history=HistoryPolicy.KEEP_LAST, depth=plan.depth, reliability=ReliabilityPolicy.BEST_EFFORT
            )
            self.create_subscription(message_class(plan.msg_type), plan.topic, plan.callback, qos)
        sensor = QoSProfile(
            history=HistoryPolicy.KEEP_LAST, depth=1, reliability=ReliabilityPolicy.BEST_EFFORT
        )
        for topic, camera in self.core.camera_info_topics.items():
            self.create_subscription(CameraInfo, topic, self._on_camera_info(camera), sensor)
        latched = QoSProfile(
            history=HistoryPolicy.KEEP_LAST,
            depth=1,
            reliability=ReliabilityPolicy.RELIABLE,
            durability=DurabilityPolicy.TRANSIENT_LOCAL,
        )
        self.create_subscription(
            String, "/robot_description", lambda msg: self.core.set_robot_description(msg.data), latched
        )

    def _param(self, name: str) -> str:
        return str(self.get_parameter(name).value or "")

    def _resolve(self) -> tuple[ResolvedSession, bool]:
        session, profile = self._param("session"), self._param("profile")
        if bool(session) == bool(profile):
            raise TgError("recorder: give exactly one of the parameters session (a session YAML) or profile")
        out = self._param("out") or None
        if session:
            config = load_session(session)
            # out wins over the session's; the dataset is then named after it unless the session names one.
            return (config.model_copy(update={"out": out}) if out else config).resolve(), True
        return SessionConfig.for_profile(profile, out=out).resolve(), False

    def _now_ns(self) -> int:
        return int(self.get_clock().now().nanoseconds)

    # ---------------------------------------------------------------- callbacks

    def _on_camera_info(self, camera: str) -> Callable[[Any], None]:
        def on_info(msg: Any) -> None:
            info = CameraIntrinsics(
                width=int(msg.width),
                height=int(msg.height),
                k=tuple(float(v) for v in msg.k),
                distortion_model=str(msg.distortion_model),
                d=tuple(float(v) for v in msg.d),
            )
            self.core.set_camera_info(camera, info)

        return on_info

    def _on_timer(self) -> None:
        for plan in self.core.topics:
            infos = self.get_publishers_info_by_topic(plan.topic)
            publishers = [
                Publisher(
                    node=f"{i.node_namespace.rstrip('/')}/{i.node_name}",
                    msg_type=i.topic_type,
                    endpoint=bytes(i.endpoint_gid).hex(),
                )
                for i in infos
            ]
            self.core.check_publishers(plan.topic, publishers)
        self._namesake = namesake(self)
        status = self.core.tick()
        if self._namesake:
            status = replace(status, warnings=(*status.warnings, self._namesake))
        self._publish(status.to_json())

    def _publish(self, text: str) -> None:
        self._status_pub.publish(String(data=text))

    def _answer(self, response: Any, action: Callable[[], str]) -> Any:
        try:
            response.message = action()
            response.success = True
        except TgError as exc:
            response.success = False
            response.message = str(exc)
        self._publish(self.core.status().to_json())
        return response

    def _labels(self) -> EpisodeLabels:
        return EpisodeLabels(
            task=self._param("task"),
            instruction=self._param("instruction"),
            operator=self._param("operator"),
            station=self._param("station"),
            extra=EpisodeLabels.parse_extra(self._param("extra_json")),
        )

    def _on_start(self, request: Any, response: Any) -> Any:
        return self._answer(response, self._start)

    def _start(self) -> str:
        if self._namesake:  # a request to both: neither may take the other's episode
            raise TgError(f"no episode starts while two recorders share a name: {self._namesake}")
        return self.core.start(self._labels())

    def _on_stop(self, request: Any, response: Any) -> Any:
        return self._answer(response, lambda: str(self.core.stop()))

    def _on_discard(self, request: Any, response: Any) -> Any:
        return self._answer(response, self.core.discard)

    def _on_mark_success(self, request: Any, response: Any) -> Any:
        notes = self._param("notes")
        return self._answer(response, lambda: self.core.mark_success(bool(request.data), notes=notes))

    def close(self, reason: str) -> Path | None:
        """Finish a recording in progress as ``aborted`` (its data kept); None when idle."""
        path = self.core.abort(reason)
        if path is not None:
            self.get_logger().warning(f"{reason}: episode saved as aborted: {path}")
        return path


def namesake(node: Node) -> str:
    """Why ``node`` must not serve: another node of its name runs in its ROS domain; "" when none does."""
    me = (node.get_name(), node.get_namespace())
    if node.get_node_names_and_namespaces().count(me) < 2:
        return ""
    full = f"{me[1].rstrip('/')}/{me[0]}"
    return (
        f"a recorder named {full} already runs in ROS domain {node.context.get_domain_id()}; "
        "pick another --station (the recorder is named after it) or another --domain-id "
        "(one killed a moment ago stays visible until its DDS lease ends, about 20 s)"
    )


def refuse_a_namesake(node: Node, *, until: float) -> None:
    """Raise TgError when another node of ``node``'s name runs in its ROS domain.

    Discovery is given until ``until`` (``time.monotonic()``): a namesake found by then is refused.
    """
    while True:
        why = namesake(node)
        if why:
            raise TgError(why)
        if time.monotonic() >= until:
            return
        time.sleep(0.1)


def run_recorder(node: RecorderNode, stop: threading.Event) -> None:
    """Spin ``node`` until ``stop`` is set, then close its episode; the caller owns rclpy's context."""
    executor = SingleThreadedExecutor(context=node.context)
    executor.add_node(node)
    try:
        while not stop.is_set():
            executor.spin_once(timeout_sec=0.1)
    finally:
        executor.remove_node(node)
        executor.shutdown()


@contextmanager
def embedded_recorder(
    parameters: Mapping[str, ParameterValue], *, domain_id: int, node_name: str
) -> Iterator[RecorderNode]:
    """A recorder node ``node_name`` in this process (``tg record``), spun in a thread until the block ends.

    rclpy's signal handlers stay off: the caller decides what a signal does to the
    open episode. Leaving the block closes the episode in progress ("stopped"),
    destroys the node and shuts rclpy's context down.
    """
    rclpy.init(domain_id=domain_id, signal_handler_options=SignalHandlerOptions.NO)
    stop = threading.Event()
    spinner: threading.Thread | None = None
    node: RecorderNode | None = None
    try:
        overrides = [Parameter(k, value=v) for k, v in parameters.items()]
        node = RecorderNode(node_name=node_name, parameter_overrides=overrides)
        spinner = threading.Thread(target=run_recorder, args=(node, stop), name="tg-record-spin", daemon=True)
        spinner.start()
        yield node
    finally:
        stop.set()
        if spinner is not None:
            spinner.join(timeout=5)
        if node is not None:
            node.close("tg record stopped")
            node.destroy_node()
        rclpy.try_shutdown()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the node until SIGINT or SIGTERM; a recording in progress is saved as aborted."""
    args = list(sys.argv if argv is None else argv)
    # Our own handlers: rclpy's would shut the context down under the open episode.
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    stop = threading.Event()
    received: list[str] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        received.append(signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    node: RecorderNode | None = None
    try:
        node = RecorderNode()
        run_recorder(node, stop)
        node.close(f"recorder stopped by {received[0] if received else 'shutdown'}")
    except TgError as exc:
        print(f"recorder: {exc}", file=sys.stderr)
        return 1
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
