"""The PyBullet training ground: simulated humanoids, table-top tasks and scripted operators.

Robots are our own models built from primitive shapes (``sim_envs/robots/*.urdf``):
a Kuavo 4 Pro-class humanoid and a Walker-class one. Tasks lay out a scene from a
seed and judge success from the simulator's state; scripted operators carry
them out like a person would, failing now and then on purpose. Everything runs
on simulated time, so the same seed gives the same episode.

Run from the repository root (a physics-only episode, nothing rendered):

>>> from collectors import load_session
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

Recording goes through :func:`collectors.collect_sim` (``tg collect --no-ros``), or through
ROS 2: :class:`SimDriver` is the simulator as a robot driver, which ``tg_sim``'s nodes wrap.
"""

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
from sim_envs._robots import ROBOTS, ArmSpec, KuavoHumanoid, SimRobot, WalkerHumanoid
from sim_envs._tasks import TASKS, BimanualLift, Grip, Phase, PickPlace, Reach, Rest, Step, Task
from sim_envs._world import CameraModel, SimWorld

__all__ = [
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
    "EpisodeOutcome",
    "EpisodeTimings",
    "Grip",
    "HastyOperator",
    "KuavoHumanoid",
    "OperatorStyle",
    "Pacer",
    "Phase",
    "PickPlace",
    "Pose",
    "Reach",
    "Registry",
    "Rest",
    "Sampler",
    "ScriptedOperator",
    "SimDriver",
    "SimEpisode",
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
    "UnknownNameError",
    "UnreachableError",
    "WalkerHumanoid",
    "judge_outcome",
    "merge_extra",
]
