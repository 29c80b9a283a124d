"""`tg record`: the recorder alone, for a robot whose drivers already run, driven from the keyboard.

Keys: space or Enter starts and stops an episode, ``d`` discards the current
one (to re-record it), ``s`` / ``f`` mark the current (or last) episode a
success / failure, ``q`` quits (finishing an episode in progress). A status
line shows each topic's rate against the profile's, rejected messages, gaps,
the recorded data span and the recorder's warnings (a required stream still
silent, stamps that disagree with the recorder's clock).

The recorder is the node of :func:`tg_station.record_graph` (``--profile``) or
the recorder of :func:`tg_station.session_graph` (``--config``: the session's
profile, rates, labels and simulated time), named after ``--station``.

>>> key_action(" "), key_action("d"), key_action("x")
(<Action.TOGGLE: 'toggle'>, <Action.DISCARD: 'discard'>, None)
"""

from __future__ import annotations

import contextlib
import enum
import os
import re
import select
import signal
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer

from collectors import EpisodeLabels, LiveRecorder, RecorderStatus
from tg_base import TgError
from tg_config import ConfigError, ResolvedSession, SessionConfig, load_session
from tg_site._stations import Assignment
from tg_station import (
    NodeSpec,
    ParameterValue,
    default_station,
    record_graph,
    ros_environment,
    segment_bytes_for,
    session_graph,
    write_fastdds_profile,
)
from training_ground.cli._collect import recorded_s
from training_ground.cli._console import console, err_console
from training_ground.cli._robot_options import ProfileOrConfig
from training_ground.cli._station import (
    DeleteAfterPush,
    KeepDays,
    MaxUploadMbps,
    SiteStation,
    SiteUrl,
    StationSite,
    TokenFile,
    site_station,
)

__all__ = [
    "Action",
    "RecordSource",
    "RecorderSetup",
    "apply_action",
    "key_action",
    "new_warnings",
    "record",
    "recorder_setup",
    "status_line",
]

_POLL_S = 0.25
_FIGURES = re.compile(r"\d+(\.\d+)?")
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
            return _saved(recorder.stop())
        return f"recording episode {recorder.start(labels)}"
    if action is Action.DISCARD:
        return f"discarded episode {recorder.discard()}; press space to record it again"
    if action in (Action.SUCCESS, Action.FAILURE):
        return recorder.mark_success(action is Action.SUCCESS)
    if recorder.recording:  # QUIT finishes the episode in progress
        return _saved(recorder.stop())
    return "bye"


def _saved(path: Path) -> str:
    return f"saved {path} ({recorded_s(path):.2f} s recorded)"


def status_line(status: RecorderStatus) -> str:
    """One line: state, recorded span, per topic its rate (expected), rejected messages and gaps; warnings.

    A topic's rate shows ``-`` until its first message: 0 would say it stopped.
    """
    if status.recording:
        head = f"[bold red]● REC[/] {status.episode_id[-8:]} {status.recorded_s:6.1f} s recorded"
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
        rate = f"{t.rate_hz:.0f}" if t.heard else "-"
        parts.append(f"{topic} {rate}{expected} Hz{flags}")
    parts += [f"[yellow]warning: {w}[/]" for w in status.warnings]
    return " | ".join(parts)


_DomainId = Annotated[
    int | None,
    typer.Option(
        "--domain-id", min=0, max=232, help="ROS_DOMAIN_ID of the station (default: $ROS_DOMAIN_ID or 0)."
    ),
]


@dataclass(frozen=True)
class RecordSource:
    """Where ``tg record``'s settings come from: a profile or a session config (exactly one), and more."""

    profile: str | None = None
    config: Path | None = None
    out: Path | None = None
    station: str = ""
    use_sim_time: bool | None = None  # None: the graph's (a session's recorder runs on simulated time)
    keep_empty: bool = False


@dataclass(frozen=True)
class RecorderSetup:
    """The recorder ``tg record`` runs: its node (one of tg_station's graphs) and the session it records."""

    node: NodeSpec
    run: ResolvedSession

    @property
    def parameters(self) -> dict[str, ParameterValue]:
        return dict(self.node.parameters)


def recorder_setup(source: RecordSource) -> RecorderSetup:
    """The recorder node for ``source``; :class:`ConfigError` unless exactly one of profile and config.

    >>> setup = recorder_setup(RecordSource(config=Path("launch/sim_pick_place.yaml"), station="a"))
    >>> setup.node.name, setup.parameters["use_sim_time"], setup.run.session.task.name
    ('recorder_a', True, 'pick_place')
    """
    if (source.profile is None) == (source.config is None):
        raise ConfigError(
            "give either --profile (a robot profile) or --config (a session config: its profile, rates, "
            "task, instruction and simulated time), not both"
            if source.profile
            else "give --profile (a robot profile) or --config (a session config, launch/*.yaml)"
        )
    station = source.station or default_station()
    if source.config is not None:
        session = load_session(source.config)
        out = source.out or session.resolve().out
        graph = session_graph(source.config, out=out, station=station)
        (node,) = [n for n in graph if n.package == "tg_recorder"]
        session = session.model_copy(update={"out": str(out)})
    else:
        if source.out is None:
            raise ConfigError("--out: where to write the episodes (with --profile it has no default)")
        out = source.out
        (node,) = record_graph(str(source.profile), out=out, station=station)
        session = SessionConfig.for_profile(str(source.profile), out=str(out))
    parameters = dict(node.parameters)
    if source.use_sim_time is not None:
        parameters["use_sim_time"] = source.use_sim_time
    parameters["keep_empty"] = source.keep_empty
    node = NodeSpec(node.package, node.executable, node.name, node.module, parameters, node.remappings)
    return RecorderSetup(node, session.resolve())


_Config = Annotated[
    Path | None,
    typer.Option(
        help="Session config (launch/*.yaml): its profile, rates, task, instruction and simulated time; "
        "instead of --profile."
    ),
]
_Out = Annotated[
    Path | None,
    typer.Option("--out", "-o", help="Dataset directory of the episodes (default: the config's out)."),
]
_Station = Annotated[
    str,
    typer.Option(
        help="Which collection station: the episodes' label, and the recorder's name (recorder_<station>), "
        "unique in the ROS domain (default name: this host and process)."
    ),
]
_KeepEmpty = Annotated[
    bool,
    typer.Option(
        "--keep-empty",
        help="Keep an episode in which a required stream got nothing (by default it is discarded).",
    ),
]
_UseSimTime = Annotated[
    bool | None,
    typer.Option(
        "--use-sim-time/--no-use-sim-time",
        help="Use /clock for arrival times (simulation; default: on with --config, off with --profile).",
    ),
]


def record(
    profile: ProfileOrConfig = None,
    out: _Out = None,
    config: _Config = None,
    domain_id: _DomainId = None,
    task: Annotated[str, typer.Option(help="Task label of the episodes, e.g. pick_place.")] = "",
    instruction: Annotated[str, typer.Option(help="Language instruction of the task.")] = "",
    operator: Annotated[str, typer.Option(help="Who teleoperates.")] = "",
    station: _Station = "",
    use_sim_time: _UseSimTime = None,
    keep_empty: _KeepEmpty = False,
    site: SiteUrl = None,
    token_file: TokenFile = None,
    max_upload_mbps: MaxUploadMbps = None,
    delete_after_push: DeleteAfterPush = False,
    keep_days: KeepDays = None,
) -> None:
    """Record a running robot's topics into episodes, with keyboard control.

    Keys: space/Enter start/stop, d discard (re-record), s/f mark success/failure, q quit.

    With --site (and --station) each finished episode is pushed to the site in the
    background and the station's status is posted once a second; the task is --task,
    else the site's assignment for the station, else the session's.

    Example: tg record --profile kuavo4pro --out datasets/kuavo_pick --task pick_place --operator ana

    Example: tg record --config launch/sim_pick_place.yaml --station lab1

    Example: TG_SITE_TOKEN=... tg record --config launch/sim_pick_place.yaml --station lab1 --site https://site:8470
    """
    source = RecordSource(profile, config, out, station, use_sim_time, keep_empty)
    setup = recorder_setup(source)
    domain = domain_id if domain_id is not None else int(os.environ.get("ROS_DOMAIN_ID", "0") or 0)
    labels = EpisodeLabels(task=task, instruction=instruction, operator=operator, station=station)
    on_site = StationSite(site or "", token_file, max_upload_mbps, delete_after_push, keep_days)
    session_task = setup.run.session.task
    status: list[RecorderStatus] = []  # the recorder's latest, for the agent's reports
    with site_station(
        on_site,
        station,
        setup.run.out,
        lambda: status[-1] if status else None,
        task=Assignment("", task, instruction) if task else None,
        session_task=Assignment("", session_task.name, session_task.instruction),
        operator=operator or setup.run.session.operator,
    ) as on_the_site:
        _set_dds_environment(domain, segment_bytes_for(setup.run.streams))
        _record_with_keys(setup, labels, domain=domain, site=on_the_site, latest=status)


def _record_with_keys(
    setup: RecorderSetup,
    labels: EpisodeLabels,
    *,
    domain: int,
    site: SiteStation | None = None,
    latest: list[RecorderStatus] | None = None,
) -> None:
    """Run the recorder node in this process, driven by the keyboard, until ``q`` or a signal."""
    try:
        from tg_recorder.recorder_node import embedded_recorder
    except ImportError as exc:
        raise TgError(f"tg record needs ROS 2 (pip install 'training-ground[ros]'): {exc}") from None

    # SIGTERM and SIGHUP (a closed terminal) end the session like Ctrl-C: the episode is saved.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)
    parameters = setup.parameters
    parameters |= {"task": labels.task, "instruction": labels.instruction}
    parameters |= {"operator": labels.operator, "station": labels.station}
    with embedded_recorder(parameters, domain_id=domain, node_name=setup.node.name) as node:
        try:
            console.print(
                f"recording [bold]{setup.run.profile.name}[/] into {setup.run.out} on ROS domain {domain} "
                f"as /{setup.node.name}; space/Enter start/stop, d discard, s/f success/failure, q quit",
                highlight=False,
            )
            _keyboard_loop(node.core, labels, site, latest if latest is not None else [])
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


def _keyboard_loop(
    recorder: LiveRecorder, labels: EpisodeLabels, site: SiteStation | None, latest: list[RecorderStatus]
) -> None:
    """Keys to actions until ``q``; with a site, each episode's task from it and the queue on the line."""
    shown: set[str] = set()
    with _cbreak() as keys, console.status(status_line(recorder.status())) as live:
        while True:
            key = keys()
            action = key_action(key) if key else None
            if action is not None:
                episode_labels = site.labels(labels) if site is not None else labels
                try:
                    console.print(apply_action(action, recorder, labels=episode_labels))
                except TgError as exc:
                    err_console.print(f"[red]{exc}[/]")
                if site is not None:
                    site.started(recorder.status())
            status = recorder.status()
            latest[:] = [status]
            if site is not None:
                site.finished(status)
            if action is Action.QUIT:
                return
            for warning in new_warnings(status, shown):
                err_console.print(f"[yellow]warning:[/] {warning}", highlight=False)
            live.update(status_line(status) + (f" | {site.line()}" if site is not None else ""))


def new_warnings(status: RecorderStatus, shown: set[str]) -> list[str]:
    """The warnings of ``status`` not printed yet (added to ``shown``): the status line is gone from a log.

    Figures do not make a warning new, so a drifting clock offset is printed once.

    >>> shown: set[str] = set()
    >>> def status(*warnings: str) -> RecorderStatus:
    ...     return RecorderStatus("idle", "", 0.0, 0, "", warnings=warnings)
    >>> new_warnings(status("clock: /js stamps are 10.8 s behind"), shown)
    ['clock: /js stamps are 10.8 s behind']
    >>> new_warnings(status("clock: /js stamps are 10.9 s behind", "other"), shown)
    ['other']
    """
    fresh = []
    for warning in status.warnings:
        key = _FIGURES.sub("#", warning)
        if key not in shown:
            shown.add(key)
            fresh.append(warning)
    return fresh


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
