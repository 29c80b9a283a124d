"""The simulated session runner behind ``tg collect`` (without ``--no-ros``).

Starts the graph of :func:`collectors.session_graph` as processes
(:class:`collectors.NodeProcesses`), then drives it as an operator at a
station would, through services only: for each episode, reset the simulator's
scene (seed), wait for the teleoperator's plan, start the script, set the
recorder's labels and start it, wait for the script's end, label the episode
with the simulator's success predicate, stop. A node that dies ends the
session with an error naming it and its log file; :meth:`SessionRunner.request_stop`
(the first Ctrl-C) finishes the current episode early, labelled a failure, and
ends the session; leaving the ``with`` block stops every node.

>>> session = Path("launch/sim_pick_place.yaml")
>>> with SessionRunner(session, out=Path("d"), domain_id=42) as runner:  # doctest: +SKIP
...     results = runner.run(episodes=2, seed=0)
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
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

from collectors import RecorderStatus
from episodes import JsonValue, Role
from sim_envs import judge_outcome, merge_extra
from tg_config import ResolvedSession, load_session
from tg_station import (
    NodeProcesses,
    SessionError,
    ros_environment,
    segment_bytes_for,
    session_graph,
    write_fastdds_profile,
)

__all__ = ["EpisodeResult", "SessionProgress", "SessionRunner"]

_LATCHED = QoSProfile(
    depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL, reliability=ReliabilityPolicy.RELIABLE
)
_STARTUP_S = 90.0  # importing, building the world and planning on a loaded 2-core machine
_CALL_S = 30.0
_POLL_S = 0.1
_PLANNED = ("ready", "error")


@dataclass(frozen=True)
class EpisodeResult:
    """One episode recorded through the graph."""

    index: int
    seed: int
    path: Path
    success: bool
    failure: str
    notes: str
    instruction: str
    wall_s: float  # from reset to closed file
    real_time_factor: float  # simulated / real time between reset and evaluation
    published: Mapping[str, int]  # by the simulator, per topic, since the reset
    received: Mapping[str, int]  # by the recorder, per topic, in its last status while recording
    interrupted: bool = False


@dataclass
class SessionProgress:
    """What the live display shows: where the session is and the recorder's latest status."""

    episodes: int
    done: int = 0
    seed: int | None = None
    phase: str = "starting nodes"
    episode_started: float | None = None  # time.monotonic() of the current episode's start
    recorder: RecorderStatus | None = None
    results: list[EpisodeResult] = field(default_factory=list)

    @property
    def episode_elapsed_s(self) -> float:
        return 0.0 if self.episode_started is None else time.monotonic() - self.episode_started


class SessionRunner:
    """A running session graph; :meth:`run` records episodes through it."""

    def __init__(
        self,
        session: Path,
        *,
        out: Path,
        domain_id: int,
        real_time_factor: float = 1.0,
        localhost_only: bool = True,
        log_dir: Path | None = None,
        on_progress: Callable[[SessionProgress], None] | None = None,
    ) -> None:
        self.session = session
        self.run_config: ResolvedSession = load_session(session).resolve()
        self.out = out
        self.log_dir = log_dir or out / "logs" / time.strftime("session-%Y%m%dT%H%M%S")
        profile = write_fastdds_profile(
            self.log_dir, segment_bytes=segment_bytes_for(self.run_config.streams)
        )
        self.env = ros_environment(domain_id=domain_id, profile_file=profile, localhost_only=localhost_only)
        self.domain_id = domain_id
        self.graph = session_graph(session, out=out, real_time_factor=real_time_factor)
        self.progress = SessionProgress(episodes=0)
        self._on_progress = on_progress
        self._stop = threading.Event()
        self._nodes: NodeProcesses | None = None
        self._context: Context | None = None
        self._node: Node | None = None
        self._executor: SingleThreadedExecutor | None = None
        self._teleop: dict[str, Any] = {}
        self._teleop_changed = threading.Condition()

    # ------------------------------------------------------------------ lifetime

    def __enter__(self) -> SessionRunner:
        self._nodes = NodeProcesses(self.graph, env=self.env, log_dir=self.log_dir).__enter__()
        try:
            self._start_client()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> dict[str, int]:
        """Stop the runner's own node, then every node process; their exit codes by node name."""
        if self._executor is not None:
            self._executor.shutdown(timeout_sec=1.0)
            self._executor = None
        if self._node is not None:
            self._node.destroy_node()
            self._node = None
        if self._context is not None:
            rclpy.shutdown(context=self._context)
            self._context = None
        codes = self._nodes.stop() if self._nodes is not None else {}
        self._nodes = None
        return codes

    def request_stop(self) -> None:
        """Finish the current episode now (kept, labelled a failure) and record no more."""
        self._stop.set()

    def _start_client(self) -> None:
        with _environment(self.env):
            context = Context()
            rclpy.init(
                context=context, domain_id=self.domain_id, signal_handler_options=SignalHandlerOptions.NO
            )
            self._context = context
            self._node = node = Node("tg_collect", context=context)
        self._executor = SingleThreadedExecutor(context=context)
        self._executor.add_node(node)
        threading.Thread(target=self._spin, daemon=True).start()
        self.recorder = RecorderClient(node, recorder="/recorder", spun_elsewhere=True, timeout_s=_CALL_S)
        self.status = StatusListener(node, recorder="/recorder", callback=self._on_recorder_status)
        self._reset: Any = node.create_client(Trigger, "/sim_bridge/reset")
        self._evaluate: Any = node.create_client(Trigger, "/sim_bridge/evaluate")
        self._teleop_start: Any = node.create_client(Trigger, "/scripted_teleop/start")
        self._teleop_stop: Any = node.create_client(Trigger, "/scripted_teleop/stop")
        self._bridge_params: Any = node.create_client(SetParameters, "/sim_bridge/set_parameters")
        self._recorder_params: Any = node.create_client(SetParameters, "/recorder/set_parameters")
        node.create_subscription(String, "/scripted_teleop/status", self._on_teleop_status, _LATCHED)

    def _spin(self) -> None:
        executor = self._executor
        try:
            while executor is not None and self._context is not None and self._context.ok():
                executor.spin_once(timeout_sec=_POLL_S)
        except Exception:
            return

    def _on_recorder_status(self, status: RecorderStatus) -> None:
        self.progress.recorder = status

    def _on_teleop_status(self, msg: Any) -> None:
        with self._teleop_changed:
            self._teleop = json.loads(msg.data)
            self._teleop_changed.notify_all()

    # ------------------------------------------------------------------ episodes

    def run(
        self,
        *,
        episodes: int,
        seed: int | None = None,
        on_episode: Callable[[EpisodeResult], None] | None = None,
    ) -> list[EpisodeResult]:
        """Record ``episodes`` episodes, episode ``i`` with seed ``seed + i`` (default: the session's)."""
        first = self.run_config.session.seed if seed is None else seed
        self.progress.episodes = episodes
        self._update("waiting for the nodes")
        self._wait_services()
        self._wait_recorder_hears_robot()
        for i in range(episodes):
            if self._stop.is_set():
                break
            result = self._episode(i, first + i)
            self.progress.results.append(result)
            self.progress.done = i + 1
            self._update("episode done")
            if on_episode is not None:
                on_episode(result)
        return self.progress.results

    def _episode(self, index: int, seed: int) -> EpisodeResult:
        started = time.monotonic()
        self.progress.seed = seed
        self.progress.episode_started = None
        self._update("resetting the scene")
        self._set_parameters(self._bridge_params, {"seed": seed})
        scene = json.loads(self._call(self._reset))
        self._update("operator planning")
        scene_ns = scene["origin_ns"]
        plan = self._wait_teleop(
            lambda s: s.get("scene_ns") == scene_ns and s.get("state") in ("ready", "error")
        )
        if plan.get("state") == "error":
            raise SessionError(f"scripted_teleop could not plan seed {seed}: {plan.get('error')}")
        script = json.loads(self._call(self._teleop_start))
        session = self.run_config.session
        operator_name = script["extra"]["sim"]["operator"]
        extra = merge_extra(scene["extra"], script["extra"])
        self._set_parameters(
            self._recorder_params,
            {
                "task": str(scene["task"]),
                "instruction": str(scene["instruction"]),
                "operator": session.operator or f"sim:{operator_name}",
                "station": session.station,
                "extra_json": json.dumps(extra),
            },
        )
        error_before = self.progress.recorder.error if self.progress.recorder is not None else ""
        self.recorder.start()
        self.progress.episode_started = time.monotonic()
        self._update("recording")
        received: dict[str, int] = {}
        deadline = time.monotonic() + 10 * session.episode.max_duration_s + 60.0
        interrupted = False
        while True:
            self._check_nodes()
            status = self.progress.recorder
            if status is not None and status.recording:
                received = {name: t.received for name, t in status.topics.items()}
            if status is not None and status.error and status.error != error_before:
                raise SessionError(f"seed {seed}: the recorder ended the episode: {status.error}")
            with self._teleop_changed:
                self._teleop_changed.wait(_POLL_S)
                done = self._teleop.get("scene_ns") == scene_ns and self._teleop.get("state") == "done"
            self._update("recording")
            if done:
                break
            if self._stop.is_set():
                interrupted = True
                self._call(self._teleop_stop, check=False)
                break
            if time.monotonic() > deadline:
                raise SessionError(
                    f"seed {seed}: the operator's script did not end within {deadline - started:.0f} s; "
                    f"see the node logs in {self.log_dir}"
                )
        self._update("labelling")
        verdict = json.loads(self._call(self._evaluate))
        teleop = self._teleop
        failure, notes = judge_outcome(
            achieved=bool(verdict["success"]),
            injected=str(teleop.get("injected", "")),
            unreachable=str(teleop.get("unreachable", "")),
            truncated=bool(teleop.get("truncated", False)),
            max_duration_s=session.episode.max_duration_s,
        )
        if interrupted:
            failure, notes = "interrupted", "stopped by the operator (Ctrl-C) before the script ended"
        # SetBool carries only the label: the reason goes first, as the recorder's `notes` parameter.
        self._set_parameters(self._recorder_params, {"notes": notes})
        self.recorder.mark_success(not failure)
        self._update("closing the episode")
        path = self.recorder.stop()
        return EpisodeResult(
            index=index,
            seed=seed,
            path=path,
            success=not failure,
            failure=failure,
            notes=notes,
            instruction=str(scene["instruction"]),
            wall_s=time.monotonic() - started,
            real_time_factor=float(verdict.get("real_time_factor", 0.0)),
            published=dict(verdict.get("published", {})),
            received=received,
            interrupted=interrupted,
        )

    # ------------------------------------------------------------------ plumbing

    def _update(self, phase: str) -> None:
        self.progress.phase = phase
        if self._on_progress is not None:
            self._on_progress(self.progress)

    def _check_nodes(self) -> None:
        if self._nodes is not None:
            self._nodes.check()

    def _wait_services(self) -> None:
        deadline = time.monotonic() + _STARTUP_S
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
                    f"services {', '.join(missing)} did not come up within {_STARTUP_S:g} s; "
                    f"see the node logs in {self.log_dir}"
                )
            time.sleep(_POLL_S)
        self.recorder.wait_ready(timeout_s=_STARTUP_S)

    def _wait_recorder_hears_robot(self) -> None:
        """Wait until the recorder receives every topic the simulator publishes.

        Its clock (``use_sim_time``) is zero until ``/clock`` arrives, and an episode
        started before that would begin at time zero; the simulator's topics arriving
        means the recorder has matched the simulator's publishers, ``/clock`` among them.
        """
        topics = {s.topic for s in self.run_config.streams if s.role is not Role.ACTION}
        deadline = time.monotonic() + _STARTUP_S
        while True:
            self._check_nodes()
            status = self.progress.recorder
            if status is not None:
                silent = sorted(t for t in topics if t not in status.topics or status.topics[t].rate_hz <= 0)
                if not silent:
                    return
            else:
                silent = sorted(topics)
            if time.monotonic() > deadline:
                raise SessionError(
                    f"the recorder receives nothing on {', '.join(silent)} after {_STARTUP_S:g} s; "
                    f"see the node logs in {self.log_dir}"
                )
            time.sleep(_POLL_S)

    def _wait_teleop(self, predicate: Callable[[Mapping[str, Any]], bool]) -> dict[str, Any]:
        deadline = time.monotonic() + _STARTUP_S
        with self._teleop_changed:
            while not predicate(self._teleop):
                self._teleop_changed.wait(_POLL_S)
                self._check_nodes()
                if time.monotonic() > deadline:
                    raise SessionError(
                        f"scripted_teleop did not report a plan within {_STARTUP_S:g} s (last status: "
                        f"{json.dumps(self._teleop)}); its log: {self.log_dir / 'scripted_teleop.log'}"
                    )
            return dict(self._teleop)

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
        deadline = time.monotonic() + _CALL_S
        while not client.service_is_ready():
            self._check_nodes()
            if time.monotonic() > deadline:
                raise SessionError(f"service {name} is not available (is its node running?)")
            time.sleep(_POLL_S)
        future = client.call_async(request)
        done = threading.Event()
        future.add_done_callback(lambda _: done.set())
        while not done.wait(_POLL_S):
            self._check_nodes()
            if time.monotonic() > deadline:
                future.cancel()
                raise SessionError(f"service {name} did not answer within {_CALL_S:g} s")
        result = future.result()
        if result is None:
            raise SessionError(f"service {name} failed: {future.exception()}")
        return result


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
