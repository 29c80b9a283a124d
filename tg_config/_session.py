"""Session config: one ``launch/*.yaml`` file says what to record, with which robot, and where.

``tg_config/PROFILES.md`` documents every field. The shape::

    profile: sim_humanoid         # registry name, or a path relative to this file
    task:
      name: pick_place
      instruction: put the red cube in the blue bin
    dataset: sim_pick_place       # default: last part of out, else this file's name
    out: datasets/sim_pick_place  # default: datasets/<dataset>; relative to the working dir
    cameras:                      # overrides by camera name; every key optional
      head: {width: 320, height: 240, rate_hz: 15, quality: 85}
      wrist_left: {enabled: false}
    state_rate_hz: 200            # rate of the observed joint_* streams
    aligned_rate_hz: 15           # wins over the profile's
    master_stream: head           # wins over the profile's
    episode: {max_duration_s: 60, min_duration_s: 1}
    operator: alice
    station: hall-a-07
    seed: 0
    sim: {renderer: auto, failure_rate: 0.1}   # the simulator's settings (SimSettings)
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, NonNegativeInt, PositiveInt, model_validator

from episodes._errors import StreamSpecError
from episodes._spec import (
    EpisodeInfo,
    ImageStreamSpec,
    RobotInfo,
    Role,
    StreamSpec,
)
from tg_config._base import (
    ConfigFile,
    ConfigModel,
    Loc,
    PositiveFinite,
    format_problems,
    read_yaml_mapping,
    validate_file,
)
from tg_config._errors import ConfigError, UnknownProfileError
from tg_config._loading import load_profile, looks_like_path
from tg_config._profile import JOINT_KINDS, RobotProfile
from tg_config._qa_settings import QaSettings

__all__ = [
    "CameraOverride",
    "EpisodeLimits",
    "ResolvedSession",
    "SessionConfig",
    "SimSettings",
    "TaskConfig",
    "load_session",
]


def _dataset_name(value: str) -> str:
    if not value or value in (".", "..") or "/" in value or "\\" in value:
        raise ValueError(f"dataset name {value!r} must be a plain folder name")
    return value


DatasetName = Annotated[str, AfterValidator(_dataset_name)]


class TaskConfig(ConfigModel):
    name: str = Field(min_length=1)
    instruction: str = ""


class CameraOverride(ConfigModel):
    """Changes to one of the profile's cameras; a key left out keeps the profile's value."""

    width: PositiveInt | None = None
    height: PositiveInt | None = None
    rate_hz: PositiveFinite | None = None
    quality: int | None = Field(default=None, ge=1, le=100)
    enabled: bool = True


class EpisodeLimits(ConfigModel):
    max_duration_s: PositiveFinite = 120.0
    min_duration_s: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 1.0

    @model_validator(mode="after")
    def _check(self) -> EpisodeLimits:
        if self.min_duration_s > self.max_duration_s:
            raise ValueError(
                f"min_duration_s ({self.min_duration_s}) is greater than "
                f"max_duration_s ({self.max_duration_s})"
            )
        return self


class SimSettings(ConfigModel):
    """The ``sim:`` section: how the PyBullet training ground (``sim_envs``) runs this session.

    Names are checked against the simulator's registries when a simulation
    starts, so that this file stays free of the simulator.
    """

    # Simulated robot model; default: the one whose URDF the profile names.
    robot: str | None = Field(default=None, min_length=1)
    # Simulated task; default: task.name.
    task: str | None = Field(default=None, min_length=1)
    operator: str = Field(default="scripted", min_length=1)
    # auto: the GPU (EGL) renderer where one is present, else the CPU one (tiny);
    # none: physics only, for sessions without cameras.
    renderer: Literal["auto", "tiny", "egl", "none"] = "auto"
    # Default: at least 200 Hz and a whole multiple of every recorded array stream's rate.
    physics_hz: PositiveFinite | None = None
    control_hz: PositiveFinite = 100.0
    # Share of episodes in which the scripted operator fails on purpose (missed grasp, drop).
    failure_rate: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] = 0.0
    # Standard deviation of the per-pixel camera noise, in 8-bit levels.
    image_noise: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 2.0


class SessionConfig(ConfigFile):
    """What one recording session records: robot profile, task, overrides, output."""

    profile: str = Field(min_length=1)
    task: TaskConfig
    dataset: DatasetName | None = None
    out: str | None = Field(default=None, min_length=1)
    cameras: dict[str, CameraOverride] = Field(default_factory=dict)
    state_rate_hz: PositiveFinite | None = None
    aligned_rate_hz: PositiveFinite | None = None
    master_stream: str | None = None
    episode: EpisodeLimits = EpisodeLimits()
    operator: str = ""
    station: str = ""
    seed: NonNegativeInt = 0
    sim: SimSettings = SimSettings()
    qa: QaSettings = QaSettings()
    """Quality-gate thresholds for this session's task; they win over the profile's."""

    @classmethod
    def for_profile(cls, profile: str, *, out: str | None = None) -> SessionConfig:
        """A session that records ``profile`` (a name or path) as it is, without overrides.

        For ``tg record`` on a robot whose drivers already run: labels such as
        the task come with each episode instead. The task name is a placeholder
        (``record``) that a recorder replaces.

        >>> SessionConfig.for_profile("sim_humanoid", out="/tmp/d").resolve().dataset
        'd'
        """
        return cls(profile=profile, task=TaskConfig(name="record"), out=out)

    def resolve(self, profile: RobotProfile | None = None) -> ResolvedSession:
        """Apply this session's overrides to ``profile`` (default: load ``self.profile``).

        Raises :class:`ConfigError` naming this file for an override of a camera
        the profile lacks, or a master stream that is unknown or disabled.
        """
        if profile is None:
            profile = self._load_profile()
        problems: list[tuple[Loc, str]] = []
        cameras = {c.name for c in profile.cameras}
        for name in self.cameras:
            if name not in cameras:
                declared = ", ".join(sorted(cameras)) or "none"
                problems.append(
                    (
                        ("cameras", name),
                        f"unknown camera {name!r}; profile {profile.name!r} declares: {declared}",
                    )
                )
        specs: list[StreamSpec] = []
        for spec in profile.stream_specs():
            try:
                changed = self._override(spec)
            except StreamSpecError as exc:
                problems.append((("cameras", spec.name), str(exc)))
                continue
            if changed is not None:
                specs.append(changed)
        master = self.master_stream or profile.master
        names = {s.name for s in specs}
        if master not in names:
            loc: Loc = ("master_stream",) if self.master_stream else ("cameras", master)
            if master in cameras:
                why = f"master stream {master!r} is a disabled camera; set master_stream"
            else:
                why = f"unknown stream {master!r}; declared: {', '.join(sorted(names))}"
            problems.append((loc, why))
        if problems:
            raise ConfigError(format_problems(self._where, problems))
        dataset, out = self._output()
        return ResolvedSession(
            session=self,
            profile=profile,
            streams=tuple(specs),
            master_stream=master,
            aligned_rate_hz=self.aligned_rate_hz or profile.aligned_rate_hz,
            dataset=dataset,
            out=out,
        )

    @property
    def _where(self) -> str:
        if self.source_path is None:
            return f"session for profile {self.profile!r}"
        return str(self.source_path)

    def _override(self, spec: StreamSpec) -> StreamSpec | None:
        if isinstance(spec, ImageStreamSpec):
            over = self.cameras.get(spec.name)
            if over is None:
                return spec
            if not over.enabled:
                return None
            return dataclasses.replace(
                spec,
                width=over.width or spec.width,
                height=over.height or spec.height,
                rate_hz=over.rate_hz or spec.rate_hz,
                quality=over.quality or spec.quality,
            )
        # Commands keep the teleoperation rate; only what the robot reports is resampled.
        if (
            self.state_rate_hz is not None
            and spec.kind.value in JOINT_KINDS
            and spec.role is Role.OBSERVATION
        ):
            return dataclasses.replace(spec, rate_hz=self.state_rate_hz)
        return spec

    def _load_profile(self) -> RobotProfile:
        if not looks_like_path(self.profile):
            try:
                return load_profile(self.profile)
            except UnknownProfileError as exc:
                where = f"{self.source_path}: profile" if self.source_path is not None else ""
                raise UnknownProfileError(exc.name, exc.known, where) from None
        path = Path(self.profile)
        if not path.is_absolute() and self.source_path is not None:
            path = self.source_path.parent / path
        return load_profile(path)

    def _output(self) -> tuple[str, Path]:
        if self.dataset is not None:
            dataset = self.dataset
        elif self.out is not None and Path(self.out).name:
            dataset = Path(self.out).name
        elif self.source_path is not None:
            dataset = self.source_path.stem
        else:
            dataset = self.task.name
        out = Path(self.out) if self.out is not None else Path("datasets") / dataset
        return dataset, out


@dataclasses.dataclass(frozen=True)
class ResolvedSession:
    """A session with its profile's settings and its own overrides applied.

    ``streams`` are the final stream specs (cameras resized, disabled ones
    removed); ``out`` is relative to the working directory unless absolute.
    """

    session: SessionConfig
    profile: RobotProfile
    streams: tuple[StreamSpec, ...]
    master_stream: str
    aligned_rate_hz: float
    dataset: str
    out: Path

    @property
    def robot(self) -> RobotInfo:
        return self.profile.robot_info()

    def stream(self, name: str) -> StreamSpec:
        """The final spec of stream ``name``; KeyError when absent or disabled."""
        for spec in self.streams:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def episode_info(self, source: str) -> EpisodeInfo:
        """The labels of an episode recorded in this session (``source``: sim, ros2, bag...)."""
        return EpisodeInfo(
            robot=self.robot,
            source=source,
            dataset=self.dataset,
            task=self.session.task.name,
            instruction=self.session.task.instruction,
            operator=self.session.operator,
            station=self.session.station,
        )


def load_session(path: str | os.PathLike[str]) -> SessionConfig:
    """A validated session config from ``path``; raises :class:`ConfigError` naming the file.

    The profile is not loaded here: :meth:`SessionConfig.resolve` does that.
    """
    file = Path(path)
    if not file.exists():
        raise _no_such_session(file)
    return validate_file(SessionConfig, read_yaml_mapping(file), file)


def _no_such_session(file: Path) -> ConfigError:
    """The error for a session path that does not exist, listing the configs that do."""
    folder = file.parent if file.parent.is_dir() else Path("launch")
    found = sorted(p.name for p in folder.glob("*.yaml") if not p.name.endswith(".launch.yaml"))
    hint = f"; session configs in {folder}/: {', '.join(found)}" if found else ""
    return ConfigError(f"{file}: no such file{hint}")
