"""`tg record`: the recorder alone, for a robot whose drivers already run, driven from the keyboard.

Keys: space or Enter starts and stops an episode, ``d`` discards the current
one (to re-record it), ``s`` / ``f`` mark the current (or last) episode a
success / failure, ``q`` quits (finishing an episode in progress). A status
line shows each topic's rate against the profile's, rejected messages, gaps
and the episode timer.

>>> key_action(" "), key_action("d"), key_action("x")
(<Action.TOGGLE: 'toggle'>, <Action.DISCARD: 'discard'>, None)
"""

from __future__ import annotations

import contextlib
import enum
import os
import select
import signal
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer

from collectors import EpisodeLabels, LiveRecorder, RecorderStatus
from tg_base import TgError
from tg_config import SessionConfig
from tg_station import ros_environment, segment_bytes_for, write_fastdds_profile
from training_ground.cli._console import console, err_console
from training_ground.cli._robot_options import OutOption, ProfileOption

__all__ = ["Action", "apply_action", "key_action", "record", "status_line"]

_POLL_S = 0.25
# What the DDS layer reads from the environment when rclpy starts.
_DDS_VARS = (
    "ROS_DOMAIN_ID",
    "RMW_IMPLEMENTATION",
    "FASTDDS_DEFAULT_PROFILES_FILE",
    "ROS_AUTOMATIC_DISCOVERY_RANGE",
)


class Action(str, enum.Enum):
    TOGGLE = "toggle"
    DISCARD = "discard"
    SUCCESS = "success"
    FAILURE = "failure"
    QUIT = "quit"


_KEYS: dict[str, Action] = {
    " ": Action.TOGGLE,
    "\n": Action.TOGGLE,
    "\r": Action.TOGGLE,
    "d": Action.DISCARD,
    "s": Action.SUCCESS,
    "f": Action.FAILURE,
    "q": Action.QUIT,
}


def key_action(key: str) -> Action | None:
    """The action of one key press (case-insensitive), None for keys without one."""
    return _KEYS.get(key if key in ("\n", "\r", " ") else key.lower())


def apply_action(action: Action, recorder: LiveRecorder, *, labels: EpisodeLabels | None = None) -> str:
    """Do ``action`` on ``recorder`` (new episodes get ``labels``) and say what happened.

    A request that does not fit the recorder's state raises TgError.
    """
    if action is Action.TOGGLE:
        if recorder.recording:
            return f"saved {recorder.stop()}"
        return f"recording episode {recorder.start(labels)}"
    if action is Action.DISCARD:
        return f"discarded episode {recorder.discard()}; press space to record it again"
    if action in (Action.SUCCESS, Action.FAILURE):
        return recorder.mark_success(action is Action.SUCCESS)
    if recorder.recording:  # QUIT finishes the episode in progress
        return f"saved {recorder.stop()}"
    return "bye"


def status_line(status: RecorderStatus) -> str:
    """One line: state, timer, and per topic its rate (expected), rejected messages and gaps."""
    if status.recording:
        head = f"[bold red]● REC[/] {status.episode_id[-8:]} {status.elapsed_s:6.1f} s"
    else:
        head = f"[green]idle[/] ({status.episodes_recorded} saved)"
    parts = [head]
    for topic, t in status.topics.items():
        expected = f"/{t.expected_hz:g}" if t.expected_hz else ""
        flags = ""
        if t.rejected:
            flags += f" [red]rej {t.rejected}[/]"
        if t.gaps:
            flags += f" [yellow]gaps {t.gaps}[/]"
        parts.append(f"{topic} {t.rate_hz:.0f}{expected} Hz{flags}")
    return " | ".join(parts)


_DomainId = Annotated[
    int | None,
    typer.Option(
        "--domain-id", min=0, max=232, help="ROS_DOMAIN_ID of the station (default: $ROS_DOMAIN_ID or 0)."
    ),
]


def record(
    profile: ProfileOption,
    out: OutOption,
    domain_id: _DomainId = None,
    task: Annotated[str, typer.Option(help="Task label of the episodes, e.g. pick_place.")] = "",
    instruction: Annotated[str, typer.Option(help="Language instruction of the task.")] = "",
    operator: Annotated[str, typer.Option(help="Who teleoperates.")] = "",
    station: Annotated[str, typer.Option(help="Which collection station.")] = "",
    use_sim_time: Annotated[bool, typer.Option(help="Use /clock for arrival times (simulation).")] = False,
) -> None:
    """Record a running robot's topics into episodes, with keyboard control.

    Keys: space/Enter start/stop, d discard (re-record), s/f mark success/failure, q quit.

    Example: tg record --profile kuavo4pro --out datasets/kuavo_pick --task pick_place --operator ana
    """
    run = SessionConfig.for_profile(profile, out=str(out)).resolve()
    domain = domain_id if domain_id is not None else int(os.environ.get("ROS_DOMAIN_ID", "0") or 0)
    _set_dds_environment(domain, segment_bytes_for(run.streams))
    labels = EpisodeLabels(task=task, instruction=instruction, operator=operator, station=station)
    _record_with_keys(profile, out, labels, use_sim_time=use_sim_time, domain=domain, robot=run.profile.name)


def _record_with_keys(
    profile: str, out: Path, labels: EpisodeLabels, *, use_sim_time: bool, domain: int, robot: str
) -> None:
    """Run the recorder node in this process, driven by the keyboard, until ``q`` or a signal."""
    try:
        from tg_recorder.recorder_node import embedded_recorder
    except ImportError as exc:
        raise TgError(f"tg record needs ROS 2 (pip install 'training-ground[ros]'): {exc}") from None

    # SIGTERM and SIGHUP (a closed terminal) end the session like Ctrl-C: the episode is saved.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)
    parameters: dict[str, str | bool] = {"profile": profile, "out": str(out), "use_sim_time": use_sim_time}
    parameters |= {"task": labels.task, "instruction": labels.instruction}
    parameters |= {"operator": labels.operator, "station": labels.station}
    with embedded_recorder(parameters, domain_id=domain) as node:
        try:
            console.print(
                f"recording [bold]{robot}[/] into {out} on ROS domain {domain}; "
                "space/Enter start/stop, d discard, s/f success/failure, q quit"
            )
            _keyboard_loop(node.core, labels)
        except KeyboardInterrupt:
            if node.close("tg record interrupted") is not None:
                err_console.print("interrupted: the episode in progress was saved as aborted")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _set_dds_environment(domain: int, segment_bytes: int) -> None:
    """The station's DDS settings, in this process's environment before rclpy starts.

    A profile file already named by ``FASTDDS_DEFAULT_PROFILES_FILE`` (the robot
    PC's own) is kept.
    """
    profile_file = os.environ.get("FASTDDS_DEFAULT_PROFILES_FILE")
    if not profile_file:
        profile_file = str(
            write_fastdds_profile(Path(tempfile.gettempdir()) / "tg-dds", segment_bytes=segment_bytes)
        )
    env = ros_environment(domain_id=domain, profile_file=Path(profile_file), localhost_only=False, base={})
    discovery = os.environ.get("ROS_AUTOMATIC_DISCOVERY_RANGE")
    for key in _DDS_VARS:
        os.environ[key] = env[key]
    if discovery:  # the station's own choice (e.g. LOCALHOST) wins
        os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = discovery


def _keyboard_loop(recorder: LiveRecorder, labels: EpisodeLabels) -> None:
    with _cbreak() as keys, console.status(status_line(recorder.status())) as live:
        while True:
            key = keys()
            action = key_action(key) if key else None
            if action is not None:
                try:
                    console.print(apply_action(action, recorder, labels=labels))
                except TgError as exc:
                    err_console.print(f"[red]{exc}[/]")
                if action is Action.QUIT:
                    return
            live.update(status_line(recorder.status()))


@contextlib.contextmanager
def _cbreak() -> Iterator[Any]:
    """A function returning the next key pressed within a poll interval ("" if none)."""
    stdin = sys.stdin
    fd = stdin.fileno()

    def read() -> str:
        ready, _, _ = select.select([stdin], [], [], _POLL_S)
        if not ready:
            return ""
        # End of input (stdin closed or piped): quit, which saves an episode in progress.
        return os.read(fd, 1).decode(errors="ignore") or "q"

    if not stdin.isatty():
        yield read
        return
    import termios
    import tty

    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        yield read
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
