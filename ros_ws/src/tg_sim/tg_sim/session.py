"""The simulated session runner behind ``tg collect`` (without ``--no-ros``).

Starts the graph of :func:`tg_station.session_graph` as processes
(:class:`tg_station.NodeProcesses`), then drives it as an operator at a
station would, through services only: for each episode, reset the simulator's
scene (seed), wait for the teleoperator's plan, start the script, set the
recorder's labels and start it, wait for the script's end, label the episode
with the simulator's success predicate, stop. A node that dies ends the
session with an error naming it and its log file; :meth:`SessionRunner.request_stop`
(the first Ctrl-C) finishes the current episode early, labelled a failure, and
ends the session; leaving the ``with`` block stops every node.

The recorder is named after ``station`` (default: this host and process,
:func:`tg_station.default_station`), and the runner drives only that one: a
second session, or a ``tg record``, in the same ROS domain cannot take it over.

>>> session = Path("launch/sim_pick_place.yaml")
>>> with SessionRunner(session, out=Path("d"), domain_id=42, station="lab1") as runner:  # doctest: +SKIP
...     results = runner.run(episodes=2, seed=0)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import episodes
from collectors import EpisodeLabels, RecorderStatus
from episodes import Role
from sim_envs import SimScene, TeleopStart, judge_outcome
from tg_config import ResolvedSession, load_session
from tg_sim._client import POLL_S, STARTUP_S, GraphClient, episode_labels
from tg_station import (
    NodeProcesses,
    SessionError,
    default_station,
    recorder_name,
    ros_environment,
    segment_bytes_for,
    session_graph,
    write_fastdds_profile,
)

__all__ = ["EpisodeResult", "SessionProgress", "SessionRunner"]

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
    duration_s: float  # recorded data span: the episode's metadata.duration_s, as tg info shows it
    wall_s: float  # wall time from reset to closed file (planning and closing included)
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
    started: float = field(default_factory=time.monotonic)  # the session's start

    @property
    def episode_elapsed_s(self) -> float:
        """Wall time since the current episode's recorder started."""
        return 0.0 if self.episode_started is None else time.monotonic() - self.episode_started

    @property
    def recorded_s(self) -> float:
        """The current episode's recorded data span so far (the recorder's figure; 0 before it has one)."""
        status = self.recorder
        return status.recorded_s if status is not None and status.recording else 0.0

    @property
    def episodes_per_hour(self) -> float | None:
        """Finished episodes per wall-clock hour of the session so far; None before the first."""
        if not self.results:
            return None
        return len(self.results) * 3600.0 / max(time.monotonic() - self.started, 1e-9)

    @property
    def remaining_s(self) -> float | None:
        """Expected wall time until the last episode is done, at the pace so far; None before the first."""
        if not self.results:
            return None
        per_episode = (time.monotonic() - self.started) / len(self.results)
        return max(self.episodes - len(self.results), 0) * per_episode


class SessionRunner:
    """A running session graph; :meth:`run` records episodes through it.

    Each episode goes through the phases of :meth:`_episode`, one method each;
    the ROS plumbing (service calls, parameters, status topics) is :class:`GraphClient`'s.
    """

    def __init__(
        self,
        session: Path,
        *,
        out: Path,
        domain_id: int,
        station: str | None = None,
        real_time_factor: float = 1.0,
        localhost_only: bool = True,
        log_dir: Path | None = None,
        on_progress: Callable[[SessionProgress], None] | None = None,
        relabel: Callable[[EpisodeLabels], EpisodeLabels] | None = None,
    ) -> None:
        """``relabel``: each episode's labels from the scene's, just before it starts (a site's task)."""
        self.session = session
        self._relabel = relabel
        self.run_config: ResolvedSession = load_session(session).resolve()
        self.out = out
        self.log_dir = log_dir or out / "logs" / time.strftime("session-%Y%m%dT%H%M%S")
        profile = write_fastdds_profile(
            self.log_dir, segment_bytes=segment_bytes_for(self.run_config.streams)
        )
        self.env = ros_environment(domain_id=domain_id, profile_file=profile, localhost_only=localhost_only)
        self.domain_id = domain_id
        self.station = station or default_station()
        self._label_station = station or ""  # a station named here labels its episodes (a site checks it)
        self.graph = session_graph(session, out=out, station=self.station, real_time_factor=real_time_factor)
        self.recorder_name = recorder_name(self.station)
        self.progress = SessionProgress(episodes=0)
        self._on_progress = on_progress
        self._stop = threading.Event()
        self._nodes: NodeProcesses | None = None
        self._client: GraphClient | None = None
        self._error_before = ""  # the recorder's error before the current episode started

    # ------------------------------------------------------------------ lifetime

    def __enter__(self) -> SessionRunner:
        self._nodes = NodeProcesses(self.graph, env=self.env, log_dir=self.log_dir).__enter__()
        try:
            self._client = GraphClient(
                env=self.env,
                domain_id=self.domain_id,
                recorder=self.recorder_name,
                log_dir=self.log_dir,
                check_nodes=self._check_nodes,
                on_recorder_status=self._on_recorder_status,
            )
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
        if self._client is not None:
            self._client.close()
            self._client = None
        codes = self._nodes.stop() if self._nodes is not None else {}
        self._nodes = None
        return codes

    def request_stop(self) -> None:
        """Finish the current episode now (kept, labelled a failure) and record no more."""
        self._stop.set()

    @property
    def client(self) -> GraphClient:
        if self._client is None:
            raise SessionError("the session runner is not started (use it in a with block)")
        return self._client

    def _on_recorder_status(self, status: RecorderStatus) -> None:
        self.progress.recorder = status

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
        self.client.wait_services()
        self._wait_recorder_hears_robot()
        self.progress.started = time.monotonic()  # the pace counts episodes, not the nodes' start
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
        """Reset, plan, start, teleoperate, label, stop: one episode, as an operator runs it."""
        started = time.monotonic()
        scene = self._reset(seed)
        self._plan(scene)
        self._start(scene, self.client.start_script())
        received, interrupted = self._teleoperate(scene, started)
        self._update("labelling")
        verdict = self.client.evaluate()
        failure, notes = self._judge(verdict.success, interrupted)
        # SetBool carries only the label: the reason goes first, as the recorder's `notes` parameter.
        self.client.note_recorder(notes)
        self.client.recorder.mark_success(not failure)
        self._update("closing the episode")
        path = self.client.recorder.stop()
        with episodes.open(path) as ep:
            duration_s = round(ep.metadata.duration_s, 3)
        return EpisodeResult(
            index=index,
            seed=seed,
            path=path,
            success=not failure,
            failure=failure,
            notes=notes,
            instruction=scene.instruction,
            duration_s=duration_s,
            wall_s=time.monotonic() - started,
            real_time_factor=verdict.real_time_factor,
            published=dict(verdict.published),
            received=received,
            interrupted=interrupted,
        )

    def _reset(self, seed: int) -> SimScene:
        self.progress.seed = seed
        self.progress.episode_started = None
        self._update("resetting the scene")
        return self.client.reset_scene(seed)

    def _plan(self, scene: SimScene) -> None:
        """Wait for the teleoperator's plan of ``scene``; a plan that failed ends the session."""
        self._update("operator planning")
        plan = self.client.wait_teleop(scene.origin_ns, *_PLANNED)
        if plan.state == "error":
            raise SessionError(f"scripted_teleop could not plan seed {scene.seed}: {plan.error}")

    def _start(self, scene: SimScene, script: TeleopStart) -> None:
        """Label the recorder with the scene and the script (running from now), and start it."""
        session = self.run_config.session
        labels = episode_labels(
            scene, script, operator=session.operator, station=self._label_station or session.station
        )
        self.client.label_recorder(labels if self._relabel is None else self._relabel(labels))
        self._error_before = self.progress.recorder.error if self.progress.recorder is not None else ""
        self.client.recorder.start()
        self.progress.episode_started = time.monotonic()
        self._update("recording")

    def _teleoperate(self, scene: SimScene, started: float) -> tuple[dict[str, int], bool]:
        """Until the script is done (or a stop request): what the recorder received, and if interrupted."""
        received: dict[str, int] = {}
        deadline = time.monotonic() + 10 * self.run_config.session.episode.max_duration_s + 60.0
        while True:
            self._check_nodes()
            status = self.progress.recorder
            if status is not None and status.recording:
                received = {name: t.received for name, t in status.topics.items()}
            if status is not None and status.error and status.error != self._error_before:
                raise SessionError(f"seed {scene.seed}: the recorder ended the episode: {status.error}")
            done = self.client.teleop_after(POLL_S).about(scene.origin_ns, "done")
            self._update("recording")
            if done:
                return received, False
            if self._stop.is_set():
                self.client.stop_script()
                return received, True
            if time.monotonic() > deadline:
                raise SessionError(
                    f"seed {scene.seed}: the operator's script did not end within "
                    f"{deadline - started:.0f} s; see the node logs in {self.log_dir}"
                )

    def _judge(self, achieved: bool, interrupted: bool) -> tuple[str, str]:
        """The failure ("" on success) and notes, from the simulator's verdict and the operator's report."""
        if interrupted:
            return "interrupted", "stopped by the operator (Ctrl-C) before the script ended"
        teleop = self.client.teleop
        return judge_outcome(
            achieved=achieved,
            injected=teleop.injected,
            unreachable=teleop.unreachable,
            truncated=teleop.truncated,
            max_duration_s=self.run_config.session.episode.max_duration_s,
        )

    # ------------------------------------------------------------------ plumbing

    def _update(self, phase: str) -> None:
        self.progress.phase = phase
        if self._on_progress is not None:
            self._on_progress(self.progress)

    def _check_nodes(self) -> None:
        if self._nodes is not None:
            self._nodes.check()

    def _wait_recorder_hears_robot(self) -> None:
        """Wait until the recorder receives every topic the simulator publishes.

        Its clock (``use_sim_time``) is zero until ``/clock`` arrives, and an episode
        started before that would begin at time zero; the simulator's topics arriving
        means the recorder has matched the simulator's publishers, ``/clock`` among them.
        """
        topics = {s.topic for s in self.run_config.streams if s.role is not Role.ACTION}
        deadline = time.monotonic() + STARTUP_S
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
                    f"the recorder receives nothing on {', '.join(silent)} after {STARTUP_S:g} s; "
                    f"see the node logs in {self.log_dir}"
                )
            time.sleep(POLL_S)
