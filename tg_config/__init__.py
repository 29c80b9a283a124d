"""Configuration: robot profiles, session configs and QA settings, YAML into typed objects.

A *robot profile* (``tg_config/profiles/<name>.yaml``, or a folder on
``TG_PROFILE_PATH``) describes a robot once: joints and limits, cameras,
grippers, and the streams a recording takes from it with their ROS sources.
A *session config* (``launch/<session>.yaml``) picks a profile and a task and
overrides what one session needs (smaller images, other rates, output folder).
``tg_config/PROFILES.md`` documents every field of both.

Run from the repository root:

>>> from tg_config import load_profile, load_session
>>> profile = load_profile("sim_humanoid")
>>> len(profile.joints), len(profile.moving_joints), profile.master
(28, 16, 'head')
>>> session = load_session("launch/sim_pick_place.yaml")
>>> run = session.resolve(profile)
>>> run.aligned_rate_hz, run.dataset, str(run.out)
(15.0, 'sim_pick_place', 'datasets/sim_pick_place')
>>> head = run.stream("head")
>>> head.width, head.height, head.rate_hz
(320, 240, 15.0)
>>> run.stream("joint_position").rate_hz
200.0

Every problem in a file raises :class:`ConfigError` whose message names the
file and the field, one line per problem.

Layer: configuration. It may import ``tg_base`` and ``episodes``, nothing above
(recording, simulation, station, ROS nodes, CLI).
"""

from tg_config._errors import ConfigError, UnknownProfileError
from tg_config._loading import PROFILE_PATH_ENV, list_profiles, load_profile
from tg_config._profile import Camera, Gripper, Joint, RobotProfile, Stream
from tg_config._qa_config import EpisodeQaConfigs, QaSettings, qa_config
from tg_config._session import (
    CameraOverride,
    EpisodeLimits,
    ResolvedSession,
    SessionConfig,
    SimSettings,
    TaskConfig,
    load_session,
)

__all__ = [
    "PROFILE_PATH_ENV",
    "Camera",
    "CameraOverride",
    "ConfigError",
    "EpisodeLimits",
    "EpisodeQaConfigs",
    "Gripper",
    "Joint",
    "QaSettings",
    "ResolvedSession",
    "RobotProfile",
    "SessionConfig",
    "SimSettings",
    "Stream",
    "TaskConfig",
    "UnknownProfileError",
    "list_profiles",
    "load_profile",
    "load_session",
    "qa_config",
]
