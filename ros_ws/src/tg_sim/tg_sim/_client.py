"""The session runner's own ROS node: service calls, parameters and status topics of the graph.

:class:`GraphClient` is the runner's plumbing, apart from what the runner does
with it (:class:`tg_sim.session.SessionRunner`): a node in a context of its
own, spun in a thread, with clients for the simulator's and teleoperator's
services (their answers parsed as :mod:`sim_envs` messages), the recorder's
client and status, and the teleoperator's latest :class:`TeleopStatus`. Every
wait checks the node processes (``check_nodes``), so a node that dies ends a
wait with its name rather than a timeout.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import rclpy
from rcl_interfaces.msg import Parameter as ParameterMsg
from rcl_interfaces.msg import ParameterType, ParameterValue
from rcl_interfaces.srv import SetParameters
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rclpy.signals import SignalHandlerOptions
from std_msgs.msg import String
from std_srvs.srv import Trigger
from tg_recorder.client import RecorderClient, StatusListener

from collectors import EpisodeLabels, RecorderStatus
from episodes import JsonValue
from sim_envs import SimScene, SimVerdict, TeleopStart, TeleopStatus, merge_extra
from tg_station import SessionError

__all__ = ["CALL_S", "POLL_S", "STARTUP_S", "GraphClient", "episode_labels"]

_LATCHED = QoSProfile(
    depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL, reliability=ReliabilityPolicy.RELIABLE
)
STARTUP_S = 90.0  # importing, building the world and planning on a loaded 2-core machine
CALL_S = 30.0
POLL_S = 0.1


class GraphClient:
    """The runner's node in domain ``domain_id`` with the DDS settings ``env``; :meth:`close` ends it.

    ``recorder`` is the name of the recorder node the runner started (its station's):
    the only recorder this client drives.
    """

    def __init__(
        self,
        *,
        env: Mapping[str, str],
        domain_id: int,
        recorder: str,
        log_dir: Path,
        check_nodes: Callable[[], None],
        on_recorder_status: Callable[[RecorderStatus], None],
    ) -> None:
        self.log_dir = log_dir
        self._check_nodes = check_nodes
        self.teleop = TeleopStatus()
        self._teleop_changed = threading.Condition()
        with _environment(env):
            context = Context()
            rclpy.init(context=context, domain_id=domain_id, signal_handler_options=SignalHandlerOptions.NO)
            self._context: Context | None = context
            self._node: Node | None = Node("tg_collect", context=context)
        node = self._node
        self._executor: SingleThreadedExecutor | None = SingleThreadedExecutor(context=context)
        self._executor.add_node(node)
        threading.Thread(target=self._spin, daemon=True).start()
        path = f"/{recorder}"
        self.recorder = RecorderClient(node, recorder=path, spun_elsewhere=True, timeout_s=CALL_S)
        self.status = StatusListener(node, recorder=path, callback=on_recorder_status)
        self._reset: Any = node.create_client(Trigger, "/sim_bridge/reset")
        self._evaluate: Any = node.create_client(Trigger, "/sim_bridge/evaluate")
        self._teleop_start: Any = node.create_client(Trigger, "/scripted_teleop/start")
        self._teleop_stop: Any = node.create_client(Trigger, "/scripted_teleop/stop")
        self._bridge_params: Any = node.create_client(SetParameters, "/sim_bridge/set_parameters")
        self._recorder_params: Any = node.create_client(SetParameters, f"{path}/set_parameters")
        node.create_subscription(String, "/scripted_teleop/status", self._on_teleop_status, _LATCHED)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(timeout_sec=1.0)
            self._executor = None
        if self._node is not None:
            self._node.destroy_node()
            self._node = None
        if self._context is not None:
            rclpy.shutdown(context=self._context)
            self._context = None

    def _spin(self) -> None:
        executor = self._executor
        try:
            while executor is not None and self._context is not None and self._context.ok():
                executor.spin_once(timeout_sec=POLL_S)
        except Exception:
            return

    def _on_teleop_status(self, msg: Any) -> None:
        status = TeleopStatus.from_json(msg.data)
        with self._teleop_changed:
            self.teleop = status
            self._teleop_changed.notify_all()

    # ------------------------------------------------------------------ the graph's services

    def reset_scene(self, seed: int) -> SimScene:
        """The simulator's next scene, laid out from ``seed``."""
        self._set_parameters(self._bridge_params, {"seed": seed})
        return SimScene.from_json(self._call(self._reset))

    def evaluate(self) -> SimVerdict:
        return SimVerdict.from_json(self._call(self._evaluate))

    def start_script(self) -> TeleopStart:
        return TeleopStart.from_json(self._call(self._teleop_start))

    def stop_script(self) -> None:
        """Stop the teleoperator's commands (refused, harmlessly, when it is not commanding)."""
        self._call(self._teleop_stop, check=False)

    def label_recorder(self, labels: EpisodeLabels) -> None:
        """The next episode's labels, as the recorder's parameters (it reads them at ``~/start``)."""
        values: dict[str, JsonValue] = {
            "task": labels.task,
            "instruction": labels.instruction,
            "operator": labels.operator,
            "station": labels.station,
            "extra_json": json.dumps(dict(labels.extra)),
        }
        self._set_parameters(self._recorder_params, values)

    def inject_faults(self, *, freeze: Sequence[str] = (), mute: Sequence[str] = ()) -> None:
        """Freeze cameras (their last image again and again) and mute topics of the simulator; () clears."""
        self._set_parameters(
            self._bridge_params, {"freeze_topics": ",".join(freeze), "mute_topics": ",".join(mute)}
        )

    def note_recorder(self, notes: str) -> None:
        """Why the episode ended as it did, as the recorder's ``notes`` (SetBool carries only the label)."""
        self._set_parameters(self._recorder_params, {"notes": notes})

    def wait_teleop(self, scene_ns: int, *states: str, timeout_s: float = STARTUP_S) -> TeleopStatus:
        """The teleoperator's status once it is about scene ``scene_ns`` and in one of ``states``."""
        deadline = time.monotonic() + timeout_s
        with self._teleop_changed:
            while not self.teleop.about(scene_ns, *states):
                self._teleop_changed.wait(POLL_S)
                self._check_nodes()
                if time.monotonic() > deadline:
                    raise SessionError(
                        f"scripted_teleop did not report a plan within {timeout_s:g} s (last status: "
                        f"{self.teleop.to_json()}); its log: {self.log_dir / 'scripted_teleop.log'}"
                    )
            return self.teleop

    def teleop_after(self, timeout_s: float) -> TeleopStatus:
        """The teleoperator's status after the next change, or after ``timeout_s``."""
        with self._teleop_changed:
            self._teleop_changed.wait(timeout_s)
            return self.teleop

    def wait_services(self) -> None:
        """Wait until every node's services answer (the nodes are up)."""
        deadline = time.monotonic() + STARTUP_S
        clients = [
            self._reset,
            self._evaluate,
            self._teleop_start,
            self._bridge_params,
            self._recorder_params,
        ]
        while True:
            self._check_nodes()
            missing = [c.srv_name for c in clients if not c.service_is_ready()]
            if not missing:
                break
            if time.monotonic() > deadline:
                raise SessionError(
                    f"services {', '.join(missing)} did not come up within {STARTUP_S:g} s; "
                    f"see the node logs in {self.log_dir}"
                )
            time.sleep(POLL_S)
        self.recorder.wait_ready(timeout_s=STARTUP_S)

    # ------------------------------------------------------------------ plumbing

    def _call(self, client: Any, *, check: bool = True) -> str:
        response = self._await(client, Trigger.Request())
        if check and not response.success:
            raise SessionError(f"{client.srv_name} refused: {response.message}")
        return str(response.message)

    def _set_parameters(self, client: Any, values: Mapping[str, JsonValue]) -> None:
        request = SetParameters.Request(parameters=[_parameter(k, v) for k, v in values.items()])
        response = self._await(client, request)
        for name, result in zip(values, response.results, strict=True):
            if not result.successful:
                raise SessionError(f"{client.srv_name}: parameter {name!r} refused: {result.reason}")

    def _await(self, client: Any, request: Any) -> Any:
        name = client.srv_name
        deadline = time.monotonic() + CALL_S
        while not client.service_is_ready():
            self._check_nodes()
            if time.monotonic() > deadline:
                raise SessionError(f"service {name} is not available (is its node running?)")
            time.sleep(POLL_S)
        future = client.call_async(request)
        done = threading.Event()
        future.add_done_callback(lambda _: done.set())
        while not done.wait(POLL_S):
            self._check_nodes()
            if time.monotonic() > deadline:
                future.cancel()
                raise SessionError(f"service {name} did not answer within {CALL_S:g} s")
        result = future.result()
        if result is None:
            raise SessionError(f"service {name} failed: {future.exception()}")
        return result


def episode_labels(scene: SimScene, script: TeleopStart, *, operator: str, station: str) -> EpisodeLabels:
    """The recorder's labels of an episode of ``scene`` run by ``script``.

    ``operator`` is the session's (a person's name), "" for the simulated operator's
    (``sim:<name>``); ``extra_json`` holds the simulator's and the operator's parts.
    """
    return EpisodeLabels(
        task=scene.task,
        instruction=scene.instruction,
        operator=operator or f"sim:{script.operator}",
        station=station,
        extra=merge_extra(scene.extra, script.extra),
    )


def _parameter(name: str, value: JsonValue) -> ParameterMsg:
    msg = ParameterValue()
    if isinstance(value, bool):
        msg.type, msg.bool_value = ParameterType.PARAMETER_BOOL, value
    elif isinstance(value, int):
        msg.type, msg.integer_value = ParameterType.PARAMETER_INTEGER, value
    elif isinstance(value, float):
        msg.type, msg.double_value = ParameterType.PARAMETER_DOUBLE, value
    else:
        msg.type, msg.string_value = ParameterType.PARAMETER_STRING, str(value)
    return ParameterMsg(name=name, value=msg)


@contextmanager
def _environment(env: Mapping[str, str]) -> Iterator[None]:
    """This process's DDS settings while its participant is created (rclpy reads the environment)."""
    keys = (
        "ROS_DOMAIN_ID",
        "RMW_IMPLEMENTATION",
        "FASTDDS_DEFAULT_PROFILES_FILE",
        "ROS_AUTOMATIC_DISCOVERY_RANGE",
    )
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update({k: env[k] for k in keys if k in env})
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
