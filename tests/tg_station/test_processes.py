"""Session nodes as processes: logs, a node that dies, stopping a node that ignores Ctrl-C."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tg_station import NodeExitedError, NodeProcesses, NodeSpec

ROOT = Path(__file__).resolve().parents[2]


def _spec(name: str, mode: str) -> NodeSpec:
    return NodeSpec(
        package="test",
        executable=name,
        name=name,
        module="tests.tg_station._node_child",
        parameters={"mode": mode},
    )


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _wait_for(path: Path, text: str) -> None:
    deadline = time.monotonic() + 20
    while text not in (path.read_text() if path.exists() else ""):
        assert time.monotonic() < deadline, f"{path} never said {text!r}"
        time.sleep(0.05)


def test_nodes_get_their_ros_args_and_a_log_each_and_stop_cleanly_on_sigint(tmp_path):
    with NodeProcesses([_spec("a", "calm"), _spec("b", "calm")], env=_env(), log_dir=tmp_path) as nodes:
        for name in ("a", "b"):
            _wait_for(tmp_path / f"{name}.log", "child started: calm")
        nodes.check()
    log = (tmp_path / "a.log").read_text()
    assert "-m tests.tg_station._node_child --ros-args -r __node:=a -p mode:=calm" in log
    assert "interrupted, closing cleanly" in log
    assert {n.spec.name: n.process.returncode for n in nodes.nodes} == {"a": 0, "b": 0}


def test_a_node_that_exits_is_an_error_naming_it_its_exit_code_and_its_log(tmp_path):
    with NodeProcesses(
        [_spec("good", "calm"), _spec("sim_bridge", "exit3")], env=_env(), log_dir=tmp_path
    ) as nodes:
        nodes.node("sim_bridge").process.wait(20)
        log = tmp_path / "sim_bridge.log"
        with pytest.raises(
            NodeExitedError, match=rf"node 'sim_bridge' exited with code 3; its log: {log}"
        ) as caught:
            nodes.check()
    assert "something went wrong here" in str(caught.value)


def test_a_node_ignoring_sigint_is_terminated(tmp_path):
    nodes = NodeProcesses(
        [_spec("stubborn", "stubborn")],
        env=_env(),
        log_dir=tmp_path,
        signals=((signal.SIGINT, 0.5), (signal.SIGTERM, 5.0)),
    )
    with nodes:
        _wait_for(tmp_path / "stubborn.log", "child started")
    assert nodes.nodes[0].process.returncode == -signal.SIGTERM


def test_a_killed_node_is_reported_as_killed(tmp_path):
    with NodeProcesses([_spec("recorder", "calm")], env=_env(), log_dir=tmp_path) as nodes:
        _wait_for(tmp_path / "recorder.log", "child started")
        nodes.node("recorder").process.kill()
        nodes.node("recorder").process.wait(10)
        with pytest.raises(NodeExitedError, match="node 'recorder' was killed by signal 9; its log: "):
            nodes.check()
