"""``scripted_teleop``: the scripted operator driving the robot through its command topics.

It stands where a VR teleoperation node stands: it sees the scene, and it
moves the robot only by publishing the profile's command topics (arm joint
targets, gripper closures; head targets, which no profile stream records, on
``/head_cmd``), stamped and timed on the node's clock (``use_sim_time``: the
simulator's ``/clock``).

It plans in a physics-only world of its own, built from the seed the bridge
announces on ``/sim_bridge/scene``: a task lays out its scene from the seed
alone, so the two worlds hold the same scene, and the operator's inverse
kinematics needs a world of its own anyway (a person plans in their head, not
on the robot). The plan is refused if the scene it sees differs from the
bridge's, which catches a teleoperator and a simulator of different versions.

Parameters: ``session`` (session YAML), ``scene_topic`` (default ``/sim_bridge/scene``),
``start_delay_s`` (simulated seconds between ``~/start`` and the script's first command,
default 0.5: time for the recorder to start). The script is cut short (``truncated``) where
it would not leave the episode within the session's ``max_duration_s`` with the delay and
half a second to stop the recording. Services: ``~/start`` (``std_srvs/Trigger``:
begin the script for the current scene; the response message is a :class:`sim_envs.TeleopStart`:
the seed, the script's origin on the clock and the operator's part of the episode metadata),
``~/stop`` (stop commanding). Status: ``~/status`` (``std_msgs/String``, a
:class:`sim_envs.TeleopStatus`, transient local, on every change and each second): ``state``
(waiting, planning, ready, running, done: the script ended and the pose is held, stopped,
error), seed, scene_ns (the scene's ``origin_ns``), origin_ns, end_ns, injected, unreachable,
truncated, error.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Sequence
from typing import Any

import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import JointState
from std_msgs.msg import String
from std_srvs.srv import Trigger

from episodes import ArrayStreamSpec, Role, StreamKind
from sim_envs import (
    Command,
    ScriptedOperator,
    SimEpisode,
    SimError,
    SimOverrides,
    SimScene,
    SimSetup,
    TeleopStart,
    TeleopStatus,
)
from tg_config import load_session
from tg_sim._ros import nanoseconds, run_node, spin_until, stamp_msg
from tg_sim.sim_bridge_node import HEAD_COMMAND_TOPIC

__all__ = ["ScriptedTeleop", "main"]

_LATCHED = QoSProfile(
    depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL, reliability=ReliabilityPolicy.RELIABLE
)
_COMMANDING = ("running", "done")
_STOP_MARGIN_NS = 500_000_000  # for the session runner to stop the recorder after the script
# A second of commands: after a stall (a loaded machine) the ticks it missed go out at once,
# each with its own stamp, and must not overwrite each other before they are delivered.
_COMMAND_QOS = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)


class ScriptedTeleop(Node):
    """The node: plans on each new scene, commands at ``control_hz`` while running."""

    def __init__(self) -> None:
        super().__init__("scripted_teleop")
        self.declare_parameter("session", "")
        self.declare_parameter("scene_topic", "/sim_bridge/scene")
        self.declare_parameter("start_delay_s", 0.5)
        session_path = str(self.get_parameter("session").value)
        if not session_path:
            raise SimError("scripted_teleop: parameter 'session' (a session YAML) is required")
        run = load_session(session_path).resolve()
        self.setup = SimSetup.from_session(run, SimOverrides(renderer="tiny"))
        self._lock = threading.Lock()
        self._status = TeleopStatus()
        self._operator: ScriptedOperator | None = None
        self._episode: SimEpisode | None = None
        self._origin_ns = 0
        self._end_ns = 0
        self._arms = {arm.gripper: arm.side for arm in self.setup.robot.arms}
        self._arm_streams: list[tuple[Any, tuple[str, ...], bool]] = []
        covered: set[str] = set()
        for spec in run.streams:
            if isinstance(spec, ArrayStreamSpec) and spec.role is Role.ACTION:
                gripper = spec.kind is StreamKind.GRIPPER
                pub = self.create_publisher(JointState, spec.topic, _COMMAND_QOS)
                self._arm_streams.append((pub, spec.names, gripper))
                if not gripper:
                    covered.update(spec.names)
        # Joints the operator moves that no command stream carries (the head) go on /head_cmd.
        self._uncovered = tuple(
            j
            for j in (*self.setup.robot.head_joints, *(j for a in self.setup.robot.arms for j in a.joints))
            if j not in covered
        )
        self._head_pub = self.create_publisher(JointState, HEAD_COMMAND_TOPIC, _COMMAND_QOS)
        self._status_pub = self.create_publisher(String, "~/status", _LATCHED)
        self.create_subscription(
            String, str(self.get_parameter("scene_topic").value), self._on_scene, _LATCHED
        )
        self.create_service(Trigger, "~/start", self._on_start)
        self.create_service(Trigger, "~/stop", self._on_stop)
        self._period_ns = round(1e9 / self.setup.control_hz)
        self._next_ns = 0
        if self.get_parameter("use_sim_time").value:
            # Every control tick on the simulated clock, each command stamped with its tick: a
            # timer on simulated time skips ticks when the clock advances in steps of its own.
            self.create_subscription(Clock, "/clock", lambda m: self._control_until(nanoseconds(m.clock)), 10)
        else:
            self.create_timer(1.0 / self.setup.control_hz, lambda: self._control_until(self._now()))
        self.create_timer(
            1.0, self._publish_status, clock=rclpy.clock.Clock()
        )  # wall clock: ticks without /clock
        self._publish_status()

    # ------------------------------------------------------------------ planning

    def _on_scene(self, msg: String) -> None:
        scene = SimScene.from_json(msg.data)
        # A scene is known by when it was laid out: a reset may repeat the seed.
        self._set_status(state="planning", seed=scene.seed, scene_ns=scene.origin_ns, error="")
        threading.Thread(target=self._plan, args=(scene,), daemon=True).start()

    def _plan(self, scene: SimScene) -> None:
        seed, scene_ns = scene.seed, scene.origin_ns
        try:
            with SimEpisode(self.setup, seed) as episode:
                mine = json.dumps(episode.task.scene(), sort_keys=True)
                theirs = json.dumps(scene.layout, sort_keys=True)
                if mine != theirs:
                    raise SimError(
                        f"seed {seed}: the scene planned here differs from the simulator's "
                        f"(here {mine}, simulator {theirs}); are both nodes the same version?"
                    )
                operator = episode.operator
                if operator is None:
                    raise SimError("a scripted episode without an operator")
                with self._lock:
                    if self._status.scene_ns != scene_ns:
                        return  # a newer scene arrived while this one was planned
                    self._operator, self._episode = operator, episode
                    self._status = dataclasses.replace(
                        self._status,
                        state="ready",
                        injected=operator.injected,
                        unreachable=operator.unreachable,
                    )
            self._publish_status()
        except SimError as exc:
            with self._lock:
                if self._status.scene_ns == scene_ns:
                    self._status = dataclasses.replace(self._status, state="error", error=str(exc))
            self._publish_status()

    # ------------------------------------------------------------------ services

    def _on_start(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        with self._lock:
            state, seed = self._status.state, self._status.seed
            operator, episode = self._operator, self._episode
            if state != "ready" or operator is None or episode is None or seed is None:
                response.success = False
                response.message = f"not ready to start (state {state}, seed {seed})"
                return response
            delay_ns = round(float(self.get_parameter("start_delay_s").value) * 1e9)
            now = self._now()
            self._origin_ns = now + delay_ns
            self._next_ns = now
            # The recording starts before the script and stops after it: the script gets what is
            # left of the episode length limit, so that the episode stays within it.
            limit_ns = round(self.setup.max_duration_s * 1e9) - delay_ns - _STOP_MARGIN_NS
            self._end_ns = self._origin_ns + min(operator.end_ns, limit_ns)
            extra = episode.operator_extra(origin_ns=self._origin_ns)
        self._set_status(
            state="running",
            origin_ns=self._origin_ns,
            end_ns=self._end_ns,
            truncated=operator.end_ns > limit_ns,
        )
        response.success = True
        response.message = TeleopStart(
            seed=seed, origin_ns=self._origin_ns, end_ns=self._end_ns, extra=extra
        ).to_json()
        return response

    def _on_stop(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        with self._lock:
            state = self._status.state
        commanding = state in _COMMANDING
        if commanding:
            self._set_status(state="stopped")
        response.success = commanding
        response.message = "stopped" if commanding else f"not commanding (state {state})"
        return response

    # ------------------------------------------------------------------ commanding

    def _now(self) -> int:
        return int(self.get_clock().now().nanoseconds)

    def _control_until(self, now_ns: int) -> None:
        """Publish the command of every control tick up to ``now_ns``, each stamped with its tick.

        Like a VR teleoperator, it streams commands from ``~/start`` on: before the
        script's origin and after its end it holds the pose (with the hand's tremor),
        so the recording has commands from its first instant to its last. A new
        scene or ``~/stop`` ends the stream.
        """
        with self._lock:
            state, operator = self._status.state, self._operator
        if state not in _COMMANDING or operator is None:
            return
        while self._next_ns <= now_ns:
            tick = self._next_ns
            self._next_ns += self._period_ns
            self._publish_command(operator.command(tick - self._origin_ns), tick)
            if state == "running" and tick >= self._end_ns:
                self._set_status(state="done")
                state = "done"

    def _publish_command(self, command: Command, tick_ns: int) -> None:
        stamp = stamp_msg(tick_ns)
        for pub, names, gripper in self._arm_streams:
            msg = JointState()
            msg.header.stamp = stamp
            msg.name = list(names)
            if gripper:
                msg.position = [float(command.closures[self._arms[n]]) for n in names]
            else:
                msg.position = [float(command.joints[n]) for n in names]
            pub.publish(msg)
        if self._uncovered:
            msg = JointState()
            msg.header.stamp = stamp
            msg.name = list(self._uncovered)
            msg.position = [float(command.joints[n]) for n in self._uncovered]
            self._head_pub.publish(msg)

    def _set_status(self, **changes: Any) -> None:
        with self._lock:
            self._status = dataclasses.replace(self._status, **changes)
        self._publish_status()

    def _publish_status(self) -> None:
        with self._lock:
            text = self._status.to_json()
        self._status_pub.publish(String(data=text))


def main(args: Sequence[str] | None = None) -> None:
    """Entry point (``ros2 run tg_sim scripted_teleop``, ``python -m tg_sim.scripted_teleop_node``)."""
    run_node(_serve, args, "scripted_teleop")


def _serve(stop: threading.Event) -> None:
    node = ScriptedTeleop()
    # Single-threaded: a MultiThreadedExecutor busy-spins its main thread while a callback of a
    # busy callback group is pending (seen: a core at 93% for minutes, starving the simulation).
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    try:
        spin_until(executor, stop)
    finally:
        executor.shutdown()
        node.destroy_node()


if __name__ == "__main__":
    main()
