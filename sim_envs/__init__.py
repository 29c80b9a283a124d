"""The PyBullet training ground: simulated humanoids, table-top tasks and scripted operators.

Robots are our own models built from primitive shapes (``sim_envs/robots/*.urdf``):
a Kuavo 4 Pro-class humanoid and a Walker-class one. Tasks lay out a scene from a
seed and judge success from the simulator's state; scripted operators carry
them out like a person would, failing now and then on purpose. Everything runs
on simulated time, so the same seed gives the same episode.

Run from the repository root (a physics-only episode, nothing rendered):

>>> from tg_config import load_session
>>> import sim_envs
>>> sorted(sim_envs.TASKS), sorted(sim_envs.ROBOTS), sorted(sim_envs.OPERATORS)
(['bimanual_lift', 'pick_place'], ['kuavo_humanoid', 'walker_humanoid'], ['careful', 'hasty', 'scripted'])
>>> setup = sim_envs.SimSetup.from_session(load_session("launch/sim_pick_place.yaml").resolve())
>>> setup.robot.name, setup.task.name, setup.physics_hz
('kuavo_humanoid', 'pick_place', 200.0)
>>> with sim_envs.SimEpisode(setup, seed=3) as episode:
...     outcome = episode.run()
>>> outcome.instruction, outcome.success
('put the red cube in the orange bin', True)

Recording goes through :func:`collect_sim` (``tg collect --no-ros``), or through
ROS 2: :class:`SimDriver` is the simulator as a robot driver, which ``tg_sim``'s nodes wrap.
:func:`replay_episode` drives the simulated robot with an episode's recorded actions and
compares the joints it reaches with the recorded ones (``tg replay``); :class:`DivergenceCheck`
is the quality check built on it (``replay.divergence``, ``tg validate --replay``).
:func:`record_synthetic_episode` writes a plausible episode without any physics (for
tests and benchmarks that need data fast).

Layer: simulation. It may import ``tg_base``, ``episodes`` and ``tg_config``; it never
imports ``collectors`` (real-robot recording), and recording never imports it.
"""

from sim_envs._collect import SimEpisodeRecord, collect_sim
from sim_envs._driver import Pacer, SimDriver
from sim_envs._episode import (
    EpisodeOutcome,
    EpisodeTimings,
    Sampler,
    SimEpisode,
    SimSetup,
    judge_outcome,
    merge_extra,
)
from sim_envs._errors import SimError, UnknownNameError, UnreachableError
from sim_envs._geometry import Pose
from sim_envs._ik import ArmIK
from sim_envs._messages import TELEOP_STATES, SimScene, SimVerdict, TeleopStart, TeleopStatus
from sim_envs._operators import (
    OPERATORS,
    CarefulOperator,
    Command,
    HastyOperator,
    OperatorStyle,
    ScriptedOperator,
)
from sim_envs._overrides import SimOverrides
from sim_envs._registry import Registry
from sim_envs._replay import ReplayOptions, replay_episode
from sim_envs._replay_check import DIVERGENCE, DivergenceCheck
from sim_envs._replay_report import JointTracking, ReplayReport, Tracking, WorstMoment
from sim_envs._robots import ROBOTS, ArmSpec, KuavoHumanoid, SimRobot, WalkerHumanoid
from sim_envs._synthetic import record_synthetic_episode
from sim_envs._tasks import TASKS, BimanualLift, Grip, Phase, PickPlace, Reach, Rest, Step, Task
from sim_envs._world import CameraModel, SimWorld

__all__ = [
    "DIVERGENCE",
    "OPERATORS",
    "ROBOTS",
    "TASKS",
    "TELEOP_STATES",
    "ArmIK",
    "ArmSpec",
    "BimanualLift",
    "CameraModel",
    "CarefulOperator",
    "Command",
    "DivergenceCheck",
    "EpisodeOutcome",
    "EpisodeTimings",
    "Grip",
    "HastyOperator",
    "JointTracking",
    "KuavoHumanoid",
    "OperatorStyle",
    "Pacer",
    "Phase",
    "PickPlace",
    "Pose",
    "Reach",
    "Registry",
    "ReplayOptions",
    "ReplayReport",
    "Rest",
    "Sampler",
    "ScriptedOperator",
    "SimDriver",
    "SimEpisode",
    "SimEpisodeRecord",
    "SimError",
    "SimOverrides",
    "SimRobot",
    "SimScene",
    "SimSetup",
    "SimVerdict",
    "SimWorld",
    "Step",
    "Task",
    "TeleopStart",
    "TeleopStatus",
    "Tracking",
    "UnknownNameError",
    "UnreachableError",
    "WalkerHumanoid",
    "WorstMoment",
    "collect_sim",
    "judge_outcome",
    "merge_extra",
    "record_synthetic_episode",
    "replay_episode",
]
