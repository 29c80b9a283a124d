"""Robot profiles and session configs: the two YAML files every recording starts from.

A *robot profile* (``collectors/profiles/<name>.yaml``, or a folder on
``TG_PROFILE_PATH``) describes a robot once: joints and limits, cameras,
grippers, and the streams a recording takes from it with their ROS sources.
A *session config* (``launch/<session>.yaml``) picks a profile and a task and
overrides what one session needs (smaller images, other rates, output folder).
``collectors/PROFILES.md`` documents every field of both.

Run from the repository root:

>>> from collectors import load_profile, load_session
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
"""

from collectors._errors import ConfigError, UnknownProfileError
from collectors._loading import PROFILE_PATH_ENV, list_profiles, load_profile
from collectors._profile import Camera, Gripper, Joint, RobotProfile, Stream
from collectors._session import (
    CameraOverride,
    EpisodeLimits,
    ResolvedSession,
    SessionConfig,
    TaskConfig,
    load_session,
)
from collectors._synthetic import record_synthetic_episode

__all__ = [
    "PROFILE_PATH_ENV",
    "Camera",
    "CameraOverride",
    "ConfigError",
    "EpisodeLimits",
    "Gripper",
    "Joint",
    "ResolvedSession",
    "RobotProfile",
    "SessionConfig",
    "Stream",
    "TaskConfig",
    "UnknownProfileError",
    "list_profiles",
    "load_profile",
    "load_session",
    "record_synthetic_episode",
]
