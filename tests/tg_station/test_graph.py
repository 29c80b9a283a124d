"""The launch files describe the same node graph as the one `tg collect` starts.

ROS 2's launch is not on PyPI, so the YAML launch files are read here as plain
YAML, with ``$(var ...)`` and ``$(dirname)`` substituted as launch would, and
parameter values typed the way launch types them (YAML rules on the result).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tg_station import NodeSpec, default_station, record_graph, recorder_name, session_graph

LAUNCH = Path(__file__).resolve().parents[2] / "launch"
_SUBSTITUTION = re.compile(r"\$\((\w[\w-]*)\s*([^)]*)\)")


def _substitute(text: str, args: dict[str, str], launch_file: Path) -> str:
    def one(match: re.Match[str]) -> str:
        kind, name = match.group(1), match.group(2).strip()
        if kind == "var":
            return args[name]
        if kind == "dirname":
            return str(launch_file.parent)
        raise AssertionError(f"{launch_file.name}: substitution $({kind}) is not understood by this test")

    return _SUBSTITUTION.sub(one, text)


def _launch_graph(launch_file: Path, given: dict[str, str]) -> tuple[list[NodeSpec], dict[str, str]]:
    """The nodes (as NodeSpecs, modules left empty) and environment a YAML launch file describes."""
    entries = yaml.safe_load(launch_file.read_text(encoding="utf-8"))["launch"]
    args: dict[str, str] = {}
    for entry in entries:
        if "arg" in entry:
            arg = entry["arg"]
            if arg["name"] in given:
                args[arg["name"]] = given[arg["name"]]
            elif "default" in arg:
                args[arg["name"]] = _substitute(str(arg["default"]), args, launch_file)
            else:
                raise AssertionError(f"{launch_file.name}: argument {arg['name']!r} has no value")
    env: dict[str, str] = {}
    nodes: list[NodeSpec] = []
    for entry in entries:
        if "set_env" in entry:
            env[entry["set_env"]["name"]] = _substitute(str(entry["set_env"]["value"]), args, launch_file)
        if "node" in entry:
            node = entry["node"]
            params: dict[str, Any] = {}
            for param in node.get("param", []):
                value = param["value"]
                if isinstance(value, str):
                    value = yaml.safe_load(_substitute(value, args, launch_file))
                params[param["name"]] = value
            remaps = tuple(
                (_substitute(r["from"], args, launch_file), _substitute(r["to"], args, launch_file))
                for r in node.get("remap", [])
            )
            nodes.append(
                NodeSpec(
                    package=node["pkg"],
                    executable=node["exec"],
                    name=_substitute(node["name"], args, launch_file),
                    module="",
                    parameters=params,
                    remappings=remaps,
                )
            )
    return nodes, env


def _without_modules(graph: tuple[NodeSpec, ...]) -> list[NodeSpec]:
    return [
        NodeSpec(
            package=n.package,
            executable=n.executable,
            name=n.name,
            module="",
            parameters=dict(n.parameters),
            remappings=n.remappings,
        )
        for n in graph
    ]


@pytest.mark.parametrize("session", ["launch/sim_pick_place.yaml", "launch/sim_bimanual_lift.yaml"])
def test_the_session_launch_file_starts_the_graph_tg_collect_starts(session):
    given = {"session": session, "out": "datasets/x", "station": "hall_a"}
    nodes, env = _launch_graph(LAUNCH / "sim_session.launch.yaml", given)
    assert nodes == _without_modules(session_graph(Path(session), out=Path("datasets/x"), station="hall_a"))
    assert nodes[2].name == "recorder_hall_a"
    assert env["FASTDDS_DEFAULT_PROFILES_FILE"] == str(LAUNCH / "fastdds_station.xml")


def test_the_launch_file_passes_a_real_time_factor_the_same_way():
    nodes, _ = _launch_graph(
        LAUNCH / "sim_session.launch.yaml",
        {"session": "launch/sim_pick_place.yaml", "out": "d", "real_time_factor": "2.5", "station": "s"},
    )
    graph = session_graph(
        Path("launch/sim_pick_place.yaml"), out=Path("d"), station="s", real_time_factor=2.5
    )
    assert nodes == _without_modules(graph)
    assert nodes[0].parameters["real_time_factor"] == 2.5


@pytest.mark.parametrize("use_sim_time", [False, True])
def test_the_record_launch_file_starts_the_graph_tg_record_starts(use_sim_time):
    given = {"profile": "kuavo4pro", "out": "datasets/k", "use_sim_time": str(use_sim_time).lower()}
    nodes, env = _launch_graph(LAUNCH / "record.launch.yaml", {**given, "station": "arm1"})
    assert nodes == _without_modules(
        record_graph("kuavo4pro", out=Path("datasets/k"), station="arm1", use_sim_time=use_sim_time)
    )
    assert nodes[0].name == "recorder_arm1"
    assert Path(env["FASTDDS_DEFAULT_PROFILES_FILE"]).is_file()


def test_every_node_of_the_graph_is_a_module_with_a_main_and_a_console_script():
    root = Path(__file__).resolve().parents[2]
    graph = (
        *session_graph(Path("s.yaml"), out=Path("d"), station="a"),
        *record_graph("p", out=Path("d"), station="b"),
    )
    for spec in graph:
        package_dir = root / "ros_ws" / "src" / spec.package
        module_file = root / "ros_ws" / "src" / spec.package / Path(*spec.module.split("."))
        assert module_file.with_suffix(".py").is_file(), spec.module
        assert "def main(" in module_file.with_suffix(".py").read_text(encoding="utf-8")
        setup = (package_dir / "setup.py").read_text(encoding="utf-8")
        assert f"{spec.executable} = {spec.module}:main" in setup


def test_each_station_has_its_own_recorder_name():
    assert recorder_name("hall-a.07") == "recorder_hall_a_07"
    assert recorder_name("") == "recorder__"
    station = default_station()
    assert station.endswith(f"_{os.getpid()}")
    assert re.fullmatch(r"recorder_[A-Za-z0-9_]+", recorder_name(station))
    names = {recorder_name(s) for s in ("a", "b")}
    assert len(names) == 2


@pytest.mark.parametrize("launch_file", ["record.launch.yaml", "sim_session.launch.yaml"])
def test_the_launch_files_need_a_station(launch_file):
    given = {"profile": "p", "session": "s.yaml", "out": "d"}
    with pytest.raises(AssertionError, match="argument 'station' has no value"):
        _launch_graph(LAUNCH / launch_file, given)
