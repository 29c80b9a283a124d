"""From a robot profile and a session config to what the quality gate expects of an episode.

The profile says which joints exist, their limits and which are expected to
move; the session says which streams were recorded at which rates, how long an
episode may last and what the task is. An optional ``qa:`` section in either
file (session wins) sets thresholds; every key is optional, and
``episodes/QA.md`` documents each with its default::

    qa:
      gap_factor: 8              # time.gap: k x the expected period
      stuck_window_s: 10         # value.stuck: window
      moving_joints: [r_arm_pitch, r_arm_roll]   # narrows the profile's `moves` for this task
      moving_streams: [gripper_state]            # streams all of whose columns must move
      segment_labels: {transport: carry the cup}

Run from the repository root:

>>> from tg_config import load_profile, load_session, qa_config
>>> qa = qa_config(load_profile("sim_humanoid"), load_session("launch/sim_pick_place.yaml"))
>>> qa.expected_rates_hz["joint_position"], qa.max_duration_s, len(qa.moving_joints)
(200.0, 60.0, 16)
>>> qa.joint_limits["head_yaw"]
JointLimit(lower=-0.52, upper=0.52, velocity=3.0)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from episodes import (
    DEFAULT_TASK_TEMPLATES,
    EpisodeMetadata,
    ImageStreamSpec,
    JointLimit,
    QaConfig,
    QaConfigError,
    TaskTemplate,
)
from tg_config._errors import ConfigError
from tg_config._loading import load_profile
from tg_config._profile import RobotProfile
from tg_config._qa_settings import QaSettings
from tg_config._session import EpisodeLimits, ResolvedSession, SessionConfig, load_session

__all__ = ["EpisodeQaConfigs", "QaSettings", "qa_config"]

_LISTS = frozenset(
    {"moving_joints", "moving_streams", "required_streams", "expected_rates_hz", "segment_labels"}
)


def qa_config(
    profile: RobotProfile,
    session: SessionConfig | ResolvedSession | None = None,
) -> QaConfig:
    """The quality gate's config for episodes recorded with ``profile`` (and ``session``).

    Raises :class:`ConfigError` naming the file when a ``qa:`` section names a
    joint or stream that does not exist or sets a threshold out of range.
    """
    run = session.resolve(profile) if isinstance(session, SessionConfig) else session
    settings = _merged(profile, run)
    where = _where(profile, run)
    joints = {j.name: j for j in profile.joints}
    unknown = sorted(set(settings.get("moving_joints") or ()) - set(joints))
    if unknown:
        raise ConfigError(f"{where}: qa.moving_joints: unknown joint(s) {', '.join(unknown)}")
    streams = tuple(run.streams) if run is not None else tuple(profile.stream_specs())
    names = {s.name for s in streams}
    for key in ("moving_streams", "required_streams", "expected_rates_hz"):
        missing = sorted(set(settings.get(key) or ()) - names)
        if missing:
            raise ConfigError(f"{where}: qa.{key}: unknown stream(s) {', '.join(missing)}")
    limits = run.session.episode if run is not None else EpisodeLimits()
    templates = dict(DEFAULT_TASK_TEMPLATES)
    if run is not None:
        task = run.session.task
        known = templates.get(task.name, TaskTemplate())
        labels = {**known.labels, **(settings.get("segment_labels") or {})}
        templates[task.name] = TaskTemplate(task.instruction or known.instruction, labels)
    # Cameras can be switched off by a session, so without one only the profile's streams are required.
    required = [
        s.name for s in streams if s.required and (run is not None or not isinstance(s, ImageStreamSpec))
    ]
    thresholds = {k: v for k, v in settings.items() if k not in _LISTS}
    try:
        return QaConfig(
            required_streams=tuple(settings.get("required_streams") or required),
            expected_rates_hz=dict(
                settings.get("expected_rates_hz")
                or ({s.name: float(s.rate_hz) for s in run.streams if s.rate_hz} if run is not None else {})
            ),
            joint_limits={j.name: JointLimit(j.lower, j.upper, j.velocity) for j in profile.joints},
            moving_joints=frozenset(settings.get("moving_joints") or profile.moving_joints),
            moving_streams=frozenset(settings.get("moving_streams") or ()),
            min_duration_s=limits.min_duration_s,
            max_duration_s=limits.max_duration_s,
            task_templates=templates,
            **thresholds,
        )
    except QaConfigError as exc:
        raise ConfigError(f"{where}: qa: {exc}") from None


def _merged(profile: RobotProfile, run: ResolvedSession | None) -> dict[str, Any]:
    """The keys set in the profile's ``qa:``, then the session's (which win)."""
    out: dict[str, Any] = profile.qa.model_dump(exclude_none=True)
    if run is not None:
        out.update(run.session.qa.model_dump(exclude_none=True))
    return out


def _where(profile: RobotProfile, run: ResolvedSession | None) -> str:
    files = [profile.source_path, run.session.source_path if run is not None else None]
    return " / ".join(str(f) for f in files if f is not None) or f"profile {profile.name!r}"


@dataclass(frozen=True)
class EpisodeQaConfigs:
    """Each episode's config from its robot profile: picklable, for the quality gate's workers.

    ``profile`` (a registry name or a path) replaces the profile an episode
    names; ``session`` (a session config file) adds its streams, rates,
    duration bounds and task, and brings its own profile unless ``profile`` is
    given. Loaded files are cached per process.

    >>> import episodes
    >>> configs = EpisodeQaConfigs(session="launch/sim_pick_place.yaml")
    >>> configs.for_profile("").max_duration_s
    60.0
    """

    profile: str | None = None
    session: str | None = None

    def __call__(self, metadata: EpisodeMetadata) -> QaConfig:
        return self.for_profile(metadata.robot.profile)

    def for_profile(self, recorded: str) -> QaConfig:
        """The config of an episode that names the robot profile ``recorded``."""
        return _cached_config(self.profile, self.session, recorded)


@functools.lru_cache(maxsize=32)
def _cached_config(profile: str | None, session: str | None, recorded: str) -> QaConfig:
    if session is not None:
        run = load_session(Path(session)).resolve(load_profile(profile) if profile else None)
        return qa_config(run.profile, run)
    name = profile or recorded
    if not name:
        raise ConfigError("the episode names no robot profile (its robot_profile attribute is empty)")
    return qa_config(load_profile(name))
