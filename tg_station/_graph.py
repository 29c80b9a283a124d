"""The node graph of a recording session: one specification for the runner and the launch files.

``tg collect`` starts these nodes as processes itself (no ``ros2 launch`` on
PyPI); a robot PC with a full ROS 2 install starts the same graph from
``launch/*.launch.yaml``. A test keeps the two equal.

Each recorder is named after its station (:func:`recorder_name`), so two
stations sharing a ROS domain never drive each other's recorder; the recorder
refuses to start when its name is already taken in the domain.

>>> graph = session_graph(Path("launch/sim_pick_place.yaml"), out=Path("d"), station="lab1")
>>> [f"{n.package}/{n.executable}" for n in graph]
['tg_sim/sim_bridge', 'tg_sim/scripted_teleop', 'tg_recorder/recorder']
>>> graph[2].ros_args()[:5]
['--ros-args', '-r', '__node:=recorder_lab1', '-p', 'session:=launch/sim_pick_place.yaml']
>>> record_graph("kuavo4pro", out=Path("d"), station="arm-2")[0].name
'recorder_arm_2'
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tg_config._loading import looks_like_path
from tg_config._session import SessionConfig

__all__ = [
    "NodeSpec",
    "ParameterValue",
    "default_station",
    "record_graph",
    "recorder_name",
    "session_graph",
    "write_session",
]

ParameterValue = str | int | float | bool


@dataclass(frozen=True)
class NodeSpec:
    """One node of a session: what to run, under which name, with which parameters and remappings.

    ``module`` is the Python module whose ``main()`` runs the node when the
    session runner starts it with ``python -m``; ``package``/``executable`` are
    the same node for ``ros2 run`` and launch files.
    """

    package: str
    executable: str
    name: str
    module: str
    parameters: Mapping[str, ParameterValue] = field(default_factory=dict)
    remappings: tuple[tuple[str, str], ...] = ()

    def ros_args(self) -> list[str]:
        """The ``--ros-args`` command-line tail that gives the node its name, parameters and remappings."""
        args = ["--ros-args", "-r", f"__node:={self.name}"]
        for key, value in self.parameters.items():
            args += ["-p", f"{key}:={_param_text(value)}"]
        for source, target in self.remappings:
            args += ["-r", f"{source}:={target}"]
        return args


def _param_text(value: ParameterValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_NOT_IN_A_NAME = re.compile(r"[^A-Za-z0-9_]")


def recorder_name(station: str) -> str:
    """The recorder node's name at ``station``: ``recorder_<station>``, other characters than
    letters, digits and ``_`` as ``_`` (a ROS node name allows no others).

    >>> recorder_name("hall-a.07")
    'recorder_hall_a_07'
    """
    return f"recorder_{_NOT_IN_A_NAME.sub('_', station) or '_'}"


def default_station() -> str:
    """A station id unique on this network while this process runs: the host's name and our pid."""
    return f"{socket.gethostname().split('.')[0]}_{os.getpid()}"


def session_graph(
    session: Path, *, out: Path, station: str, real_time_factor: float = 1.0
) -> tuple[NodeSpec, ...]:
    """The simulated session ``session`` (a session YAML): simulator, scripted operator, recorder.

    The recorder is :func:`recorder_name` of ``station``.

    The simulator is the clock (it publishes ``/clock``, never faster than
    ``real_time_factor`` times real time); the operator and the recorder run on
    simulated time, so a simulation slower than real time still records correct data.
    """
    config = str(session)
    return (
        NodeSpec(
            package="tg_sim",
            executable="sim_bridge",
            name="sim_bridge",
            module="tg_sim.sim_bridge_node",
            parameters={
                "session": config,
                "real_time_factor": float(real_time_factor),
                "use_sim_time": False,
            },
        ),
        NodeSpec(
            package="tg_sim",
            executable="scripted_teleop",
            name="scripted_teleop",
            module="tg_sim.scripted_teleop_node",
            parameters={"session": config, "use_sim_time": True},
        ),
        _recorder(station, {"session": config, "out": str(out), "use_sim_time": True}),
    )


def record_graph(
    profile: str, *, out: Path, station: str, use_sim_time: bool = False
) -> tuple[NodeSpec, ...]:
    """The recorder alone, for a robot whose drivers already run: ``profile`` is a profile name or path."""
    return (_recorder(station, {"profile": profile, "out": str(out), "use_sim_time": use_sim_time}),)


def _recorder(station: str, parameters: Mapping[str, ParameterValue]) -> NodeSpec:
    return NodeSpec(
        package="tg_recorder",
        executable="recorder",
        name=recorder_name(station),
        module="tg_recorder.recorder_node",
        parameters=parameters,
    )


def write_session(session: SessionConfig, path: Path) -> Path:
    """Write ``session`` (e.g. a loaded config with overrides) as a YAML file the nodes can read.

    A profile given as a relative path is made absolute, since it was relative
    to the original file. Refuses to overwrite an existing file.

    >>> import tempfile
    >>> from tg_config import load_session
    >>> session = load_session("launch/sim_pick_place.yaml").model_copy(update={"seed": 9})
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     load_session(write_session(session, Path(tmp) / "s.yaml")).seed
    9
    """
    data = session.model_dump(mode="json", exclude_unset=True)
    profile = session.profile
    if looks_like_path(profile) and not Path(profile).is_absolute() and session.source_path is not None:
        data["profile"] = str((session.source_path.parent / profile).resolve())
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("x", encoding="utf-8") as f:
        yaml.safe_dump(data, f, sort_keys=False)
    return path
