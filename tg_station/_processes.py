"""Starting a session's nodes as processes and stopping them cleanly, without ROS.

Each :class:`NodeSpec` runs as ``python -m <module> --ros-args ...`` with the
session's DDS environment; its output goes to ``<log_dir>/<name>.log``. A node
that exits on its own is an error naming the node and its log file. Stopping
sends SIGINT (what Ctrl-C sends: nodes finish what they do, the recorder closes
its episode), then SIGTERM, then SIGKILL, each after a timeout.

>>> graph = session_graph(Path("launch/sim_pick_place.yaml"), out=Path("d"), station="a")  # doctest: +SKIP
>>> with NodeProcesses(graph, env=ros_env, log_dir=Path("d/logs")) as nodes:  # doctest: +SKIP
...     nodes.check()  # raises NodeExitedError if one has died
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO

from tg_station._errors import NodeExitedError
from tg_station._graph import NodeSpec

__all__ = ["NodeProcess", "NodeProcesses"]

_SIGNALS = ((signal.SIGINT, 5.0), (signal.SIGTERM, 3.0))


@dataclass
class NodeProcess:
    """One running node: its specification, process and log file."""

    spec: NodeSpec
    process: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes]

    def log_tail(self, lines: int = 15) -> str:
        """The last ``lines`` lines of the node's log (what it printed before it died)."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


class NodeProcesses:
    """The nodes of a session, started on entering and stopped (in reverse order) on leaving."""

    def __init__(
        self,
        specs: Sequence[NodeSpec],
        *,
        env: Mapping[str, str],
        log_dir: Path,
        python: str = sys.executable,
        signals: Iterable[tuple[signal.Signals, float]] = _SIGNALS,
    ) -> None:
        self.specs = tuple(specs)
        self.env = dict(env)
        self.log_dir = log_dir
        self.python = python
        self.signals = tuple(signals)
        self.nodes: list[NodeProcess] = []

    def __enter__(self) -> NodeProcesses:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        try:
            for spec in self.specs:
                self.nodes.append(self._start(spec))
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _start(self, spec: NodeSpec) -> NodeProcess:
        log_path = self.log_dir / f"{spec.name}.log"
        log = log_path.open("ab")
        command = [self.python, "-m", spec.module, *spec.ros_args()]
        log.write(f"$ {' '.join(command)}\n".encode())
        log.flush()
        # Own process group: a Ctrl-C in the terminal reaches the runner only, which then
        # stops the nodes in order (the recorder must see its stop before it sees a signal).
        process = subprocess.Popen(
            command,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return NodeProcess(spec, process, log_path, log)

    def node(self, name: str) -> NodeProcess:
        for node in self.nodes:
            if node.spec.name == name:
                return node
        raise KeyError(name)

    def check(self) -> None:
        """Raise :class:`NodeExitedError` if a node has exited (its name, exit code, log file and tail)."""
        for node in self.nodes:
            code = node.process.poll()
            if code is not None:
                raise NodeExitedError(node.spec.name, code, node.log_path, node.log_tail())

    def stop(self) -> dict[str, int]:
        """Stop every node still running: SIGINT, then SIGTERM, then SIGKILL; their exit codes by name."""
        for sig, timeout in self.signals:
            running = [n for n in self.nodes if n.process.poll() is None]
            for node in running:
                _signal(node.process, sig)
            deadline = time.monotonic() + timeout
            for node in running:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    node.process.wait(max(0.0, deadline - time.monotonic()))
        for node in self.nodes:
            if node.process.poll() is None:
                _signal(node.process, signal.SIGKILL)
                node.process.wait()
            node.log.close()
        codes = {n.spec.name: int(n.process.returncode) for n in self.nodes}
        return codes


def _signal(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(process.pid, sig)
