"""The simulator as a robot driver: commands in, sensor samples out, on a session-long clock.

:class:`SimDriver` is what ``tg_sim``'s ``sim_bridge`` node wraps, without any
ROS: it holds one :class:`SimEpisode` at a time (built without a script, so its
commands come from outside, as a teleoperator's would), steps it with the same
core as direct recording (:meth:`SimEpisode.tick`), and keeps one clock across
episodes, so the simulated time a session publishes never goes backwards.
:class:`Pacer` keeps simulated time from running ahead of real time.

>>> from tg_config import load_session
>>> from sim_envs import SimOverrides
>>> run = load_session("launch/sim_pick_place.yaml").resolve()
>>> setup = SimSetup.from_session(run, SimOverrides(renderer="tiny"))
>>> driver = SimDriver(setup, seed=3, origin_ns=10**9, streams=("joint_position",))
>>> seen = []
>>> driver.tick(lambda name, stamp, value: seen.append((name, stamp, value.shape)))
>>> driver.step()
>>> seen, driver.now_ns
([('joint_position', 1000000000, (28,))], 1005000000)
>>> driver.evaluate().success
False
>>> driver.close()
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy.typing as npt

from episodes import Role
from sim_envs._episode import Sampler, SimEpisode, SimSetup, Sink
from sim_envs._errors import SimError
from sim_envs._messages import SimScene, SimVerdict
from sim_envs._operators import Command

__all__ = ["Pacer", "SimDriver"]


class SimDriver:
    """One simulated robot for a whole session; :meth:`reset` lays out the next episode's scene.

    ``streams`` names the streams the driver publishes (default: every
    observation stream of the session; actions are what the teleoperator sends).
    Stamps are ``origin_ns`` plus the simulated time since the driver started.
    """

    def __init__(
        self, setup: SimSetup, *, seed: int, origin_ns: int, streams: Sequence[str] | None = None
    ) -> None:
        self.setup = setup
        known = {s.name: s for s in setup.streams}
        if streams is None:
            streams = [s.name for s in setup.streams if s.role is not Role.ACTION]
        unknown = [name for name in streams if name not in known]
        if unknown:
            raise SimError(f"no stream(s) {', '.join(unknown)} in this session; it has: {', '.join(known)}")
        self._published = [known[name] for name in streams]
        self._arms = {arm.gripper: arm.side for arm in setup.robot.arms}
        self._origin_ns = origin_ns
        self._episode: SimEpisode | None = None
        self._samplers: list[Sampler] = []
        self.reset(seed)

    @property
    def episode(self) -> SimEpisode:
        if self._episode is None:
            raise SimError("the simulator was closed")
        return self._episode

    @property
    def seed(self) -> int:
        return self.episode.seed

    @property
    def now_ns(self) -> int:
        """The session's simulated clock (what ``/clock`` says)."""
        return self._origin_ns + self.episode.world.time_ns

    @property
    def episode_origin_ns(self) -> int:
        """The session clock's time at which the current scene was laid out."""
        return self._origin_ns

    def reset(self, seed: int) -> None:
        """A new scene for ``seed``; the clock goes on from where it is."""
        if self._episode is not None:
            self._origin_ns = self.now_ns
            self._episode.close()
            self._episode = None
        self._episode = SimEpisode(self.setup, seed, scripted=False)
        self._samplers = self._episode.samplers(self._published)

    def tick(self, sink: Sink) -> None:
        """Sample every published stream that is due now; ``sink`` gets session-clock stamps."""
        origin = self._origin_ns

        def shifted(stream: str, stamp_ns: int, value: npt.NDArray[Any]) -> None:
            sink(stream, origin + stamp_ns, value)

        self.episode.tick(self._samplers, shifted)

    def step(self) -> None:
        self.episode.step()

    def command_joints(self, names: Sequence[str], positions: Sequence[float]) -> None:
        """Position targets by joint name; raises :class:`SimError` (nothing applied) for a bad command."""
        world = self.episode.world
        self._check(names, positions, world.joint_index, "joint")
        self.episode.apply(Command(dict(zip(names, map(float, positions), strict=True)), {}))

    def command_grippers(self, names: Sequence[str], closures: Sequence[float]) -> None:
        """Closures (0 open .. 1 closed) by the profile's gripper names; a bad command raises, unapplied."""
        self._check(names, closures, self._arms, "gripper")
        sides = {self._arms[name]: float(value) for name, value in zip(names, closures, strict=True)}
        self.episode.apply(Command({}, sides))

    def _check(
        self, names: Sequence[str], values: Sequence[float], known: Mapping[str, Any], what: str
    ) -> None:
        if len(names) != len(values):
            raise SimError(f"{what} command: {len(names)} names but {len(values)} values")
        unknown = [n for n in names if n not in known or n in self.episode.world.locked]
        if unknown:
            movable = ", ".join(k for k in known if k not in self.episode.world.locked)
            raise SimError(
                f"{what} command: {', '.join(unknown)} cannot be commanded on simulated robot "
                f"{self.setup.robot.name!r} (commandable: {movable})"
            )
        if not all(math.isfinite(v) for v in values):
            raise SimError(f"{what} command: non-finite value in {list(values)}")

    def scene(self) -> SimScene:
        """What a teleoperator is shown after a reset: seed, task, instruction, the scene, when it began."""
        episode = self.episode
        return SimScene(
            seed=episode.seed,
            task=self.setup.task.name,
            instruction=episode.task.instruction,
            origin_ns=self._origin_ns,
            extra=episode.world_extra(),
        )

    def evaluate(self) -> SimVerdict:
        """The task's success predicate on the current state, with the instruction and scene."""
        episode = self.episode
        achieved = bool(episode.task.success())
        return SimVerdict(
            seed=episode.seed,
            success=achieved,
            failure="" if achieved else "not_achieved",
            notes="" if achieved else "the task was not achieved",
            instruction=episode.task.instruction,
            scene=dict(episode.task.scene()),
        )

    def close(self) -> None:
        if self._episode is not None:
            self._episode.close()
            self._episode = None


class Pacer:
    """Keeps simulated time at most ``real_time_factor`` times as fast as real time (0: no limit).

    A simulation slower than that (rendering on a CPU) is never hurried to catch
    up: when it falls more than ``slack_s`` behind, the pace starts afresh from
    where it is. Message stamps carry simulated time, so slow is still correct.

    >>> waited = []
    >>> pacer = Pacer(2.0, clock=lambda: 0.0, sleep=waited.append)
    >>> pacer.wait(0)
    >>> pacer.wait(10**9)  # one simulated second at twice real time: half a second of wall time
    >>> waited
    [0.5]
    """

    def __init__(
        self,
        real_time_factor: float,
        *,
        slack_s: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not real_time_factor >= 0.0 or math.isinf(real_time_factor):
            raise SimError(
                f"real_time_factor must be a finite number >= 0 (0: no limit), got {real_time_factor}"
            )
        self.factor = real_time_factor
        self._slack = slack_s
        self._clock, self._sleep = clock, sleep
        self._anchor: tuple[float, int] | None = None

    def wait(self, sim_ns: int) -> None:
        """Return when simulated time ``sim_ns`` may be shown (sleeps if the simulation is ahead)."""
        if self.factor == 0.0:
            return
        now = self._clock()
        if self._anchor is None:
            self._anchor = (now, sim_ns)
            return
        wall0, sim0 = self._anchor
        due = wall0 + (sim_ns - sim0) / 1e9 / self.factor
        if due > now:
            self._sleep(due - now)
        elif now - due > self._slack:
            self._anchor = (now, sim_ns)
