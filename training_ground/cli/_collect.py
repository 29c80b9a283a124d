"""`tg collect`: record a simulated session's episodes, through the ROS 2 node graph or directly.

Durations are labelled everywhere: *recorded* is an episode's data span (first to
last sample's arrival, what ``tg info`` shows as its duration), *wall* the real time
it took (reset, planning and closing included).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from enum import Enum
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

import episodes
from sim_envs import SimEpisodeRecord, SimOverrides, collect_sim
from tg_config import ResolvedSession, load_session
from tg_site._stations import Assignment
from training_ground.cli._console import console, err_console
from training_ground.cli._paths import output_directory
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

if TYPE_CHECKING:
    from tg_sim.session import EpisodeResult, SessionProgress

    from collectors import RecorderStatus

__all__ = [
    "collect",
    "episode_line",
    "next_step",
    "record_simulated",
    "record_through_ros",
    "ros_available",
    "status_view",
]


class Renderer(str, Enum):
    auto = "auto"
    tiny = "tiny"
    egl = "egl"


def record_simulated(
    run: ResolvedSession,
    *,
    episodes: int,
    seed: int | None = None,
    overrides: SimOverrides | None = None,
    saved: Callable[[Path], None] | None = None,
) -> list[SimEpisodeRecord]:
    """Collect simulated episodes with a progress bar on stderr and one line per episode.

    ``saved`` is given each episode's path as it is saved (a site's task relabels it).
    """
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    task = overrides.task if overrides is not None else None
    with Progress(*columns, console=err_console, transient=True) as progress:
        bar = progress.add_task(
            f"simulating {run.session.task.name if task is None else task}", total=episodes
        )

        def done(record: SimEpisodeRecord) -> None:
            if saved is not None:
                saved(record.path)
            o = record.outcome
            line = episode_line(o.seed, o.success, o.failure, recorded_s(record.path))
            progress.console.print(
                f"{line}, {o.instruction!r} -> {record.path}", highlight=False, soft_wrap=True
            )
            progress.advance(bar)

        return collect_sim(run, episodes=episodes, seed=seed, overrides=overrides, on_episode=done)


def recorded_s(path: Path) -> float:
    """The episode's recorded data span in s: its ``metadata.duration_s``, the figure ``tg info`` shows."""
    with episodes.open(path) as ep:
        return round(ep.metadata.duration_s, 3)


def episode_line(seed: int, success: bool, failure: str, recorded: float, wall: str = "") -> str:
    """One finished episode: its seed, verdict and recorded span (``wall``: its wall-time part, if any).

    >>> episode_line(5, True, "", 13.284, "wall 17.2 s, real-time factor 0.78")
    '  seed 5: [green]success[/], 13.28 s recorded (wall 17.2 s, real-time factor 0.78)'
    """
    verdict = "[green]success[/]" if success else f"[yellow]failure[/] ({failure})"
    return f"  seed {seed}: {verdict}, {recorded:.2f} s recorded" + (f" ({wall})" if wall else "")


def next_step(dataset: Path) -> str:
    """What to run after recording: the quality gate, with its report's path.

    >>> print(next_step(Path("d")))
    next: tg validate d --write --html d/qa_report.html (the report: d/qa_report.html)
    """
    report = dataset / "qa_report.html"
    return f"next: tg validate {dataset} --write --html {report} (the report: {report})"


def ros_available() -> str:
    """ "" when the ROS 2 session runner can run here, else why not (rclpy or a message package missing)."""
    try:
        import tg_sim.session  # noqa: F401  (imports rclpy and the message packages)
    except ImportError as exc:
        return f"ROS 2 is not importable here ({exc})"
    return ""


def default_domain_id() -> int:
    """``ROS_DOMAIN_ID`` from the environment, else 0: each station of a site sets its own."""
    value = os.environ.get("ROS_DOMAIN_ID", "")
    return int(value) if value.isdigit() else 0


def record_through_ros(
    config: Path,
    *,
    out: Path,
    episodes: int,
    seed: int | None = None,
    domain_id: int | None = None,
    real_time_factor: float = 1.0,
    station: str | None = None,
    also_show: Callable[[SessionProgress], str] | None = None,
    site: SiteStation | None = None,
) -> list[EpisodeResult]:
    """Run the session's node graph and record ``episodes`` episodes, with a live status on stderr.

    The recorder is named after ``station`` (default: this host and process), so
    sessions and ``tg record`` sharing a ROS domain never drive each other's.

    The first Ctrl-C finishes the current episode early (kept, labelled a
    failure) and ends the session; a second one stops every node at once (the
    recorder saves the open episode as aborted). ``also_show``: a line under the
    status (the station's push queue), given each progress update; ``site``: the
    station on a site, whose assigned task labels each episode over the session's.
    """
    from tg_sim.session import SessionRunner

    domain = default_domain_id() if domain_id is None else domain_id
    with Live(console=err_console, refresh_per_second=4, transient=True) as live:

        def show(progress: SessionProgress) -> None:
            view = status_view(progress)
            if also_show is not None:
                view = Group(view, Text(also_show(progress)))
            live.update(view)

        runner = SessionRunner(
            config,
            out=out,
            domain_id=domain,
            station=station,
            real_time_factor=real_time_factor,
            on_progress=show,
            relabel=site.session_labels if site is not None else None,
        )
        err_console.print(
            f"ROS 2 domain {domain}, recorder /{runner.recorder_name}; node logs in {runner.log_dir}",
            highlight=False,
            soft_wrap=True,
        )

        def done(result: EpisodeResult) -> None:
            if site is not None:
                site.saved(result.path)
            wall = f"wall {result.wall_s:.1f} s, real-time factor {result.real_time_factor:.2f}"
            line = episode_line(result.seed, result.success, result.failure, result.duration_s, wall)
            live.console.print(
                f"{line}, {result.instruction!r} -> {result.path}", highlight=False, soft_wrap=True
            )

        with runner, _first_interrupt(runner.request_stop):
            return runner.run(episodes=episodes, seed=seed, on_episode=done)


@contextmanager
def _first_interrupt(finish: Callable[[], None]) -> Iterator[None]:
    """The first SIGINT calls ``finish``; the next one raises KeyboardInterrupt as usual."""
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        err_console.print(
            "finishing the current episode and stopping (Ctrl-C again to abort it)", highlight=False
        )
        finish()

    signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def status_view(progress: SessionProgress) -> Group:
    """The live display: where the session is, its pace, the recorder's warnings and its topics."""
    table = Table(box=None, pad_edge=False)
    for column in ("topic", "received", "rate Hz", "expected Hz", "gaps", "rejected"):
        table.add_column(column, justify="left" if column == "topic" else "right")
    status = progress.recorder
    warnings = Text()
    if status is not None:
        for warning in status.warnings:
            warnings.append(f"warning: {warning}\n", style="yellow")
        for name, topic in sorted(status.topics.items()):
            expected = "-" if topic.expected_hz is None else f"{topic.expected_hz:g}"
            # Before anything arrived a rate of 0 says nothing: it is "-" until the first message.
            rate = f"{topic.rate_hz:.1f}" if topic.heard else "-"
            table.add_row(name, str(topic.received), rate, expected, str(topic.gaps), str(topic.rejected))
    return Group(Text.from_markup(_status_head(progress)), warnings, table)


def _status_head(progress: SessionProgress) -> str:
    """``episode 2/5  seed 6  recording  4.2 s recorded (wall 5.0 s)  ~1 min 10 s left, 51 episodes/h``."""
    parts = [f"episode {min(progress.done + 1, progress.episodes)}/{progress.episodes}"]
    if progress.seed is not None:
        parts.append(f"seed {progress.seed}")
    parts.append(progress.phase)
    if progress.episode_started is not None:
        parts.append(f"{progress.recorded_s:5.1f} s recorded (wall {progress.episode_elapsed_s:.1f} s)")
    remaining, rate = progress.remaining_s, progress.episodes_per_hour
    if remaining is not None and rate is not None:
        parts.append(f"~{_minutes(remaining)} left, {rate:.0f} episodes/h")
    return "  ".join(parts)


def _minutes(seconds: float) -> str:
    """
    >>> _minutes(42.4), _minutes(130)
    ('42 s', '2 min 10 s')
    """
    whole = round(seconds)
    return f"{whole} s" if whole < 60 else f"{whole // 60} min {whole % 60} s"


_NoRos = Annotated[
    bool,
    typer.Option(
        "--no-ros", help="Simulate in this process: simulator, scripted operator and writer, no ROS."
    ),
]
_Episodes = Annotated[int, typer.Option(min=1, help="How many episodes to record.")]
_Out = Annotated[Path | None, typer.Option(help="Dataset directory (default: the config's out).")]
_Seed = Annotated[
    int | None,
    typer.Option(min=0, help="Seed of the first episode; episode i uses seed+i (default: the config's)."),
]
_Task = Annotated[str | None, typer.Option(help="With --no-ros: simulated task (default: the config's).")]
_Operator = Annotated[
    str | None,
    typer.Option(help="With --no-ros: scripted, careful or hasty operator (default: the config's)."),
]
_FailureRate = Annotated[
    float | None,
    typer.Option(
        min=0.0, max=1.0, help="With --no-ros: share of episodes failed on purpose (default: the config's)."
    ),
]
_RendererOption = Annotated[
    Renderer | None, typer.Option(help="With --no-ros: auto (GPU if present), tiny (CPU) or egl renderer.")
]
_DomainId = Annotated[
    int | None,
    typer.Option(
        min=0, max=232, help="ROS_DOMAIN_ID of the session's nodes (default: $ROS_DOMAIN_ID, else 0)."
    ),
]
_Station = Annotated[
    str | None,
    typer.Option(
        help="Station id, unique in the ROS domain: the recorder is recorder_<station> "
        "(default: this host and process)."
    ),
]
_RealTimeFactor = Annotated[
    float,
    typer.Option(
        min=0.0,
        help="Simulated time at most this many times real time (0: no limit, may outrun the recorder).",
    ),
]


def collect(
    config: Annotated[Path, typer.Option(help="Session config (launch/*.yaml).")],
    no_ros: _NoRos = False,
    episodes: _Episodes = 1,
    out: _Out = None,
    seed: _Seed = None,
    task: _Task = None,
    operator: _Operator = None,
    failure_rate: _FailureRate = None,
    renderer: _RendererOption = None,
    domain_id: _DomainId = None,
    real_time_factor: _RealTimeFactor = 1.0,
    station: _Station = None,
    site: SiteUrl = None,
    token_file: TokenFile = None,
    max_upload_mbps: MaxUploadMbps = None,
    delete_after_push: DeleteAfterPush = False,
    keep_days: KeepDays = None,
) -> None:
    """Record episodes of a simulated session: through the ROS 2 node graph, or with --no-ros directly.

    Through ROS 2 the simulator, the scripted teleoperator and the recorder run
    as separate nodes (the same graph as launch/sim_session.launch.yaml), on the
    simulator's clock, discovering only peers on this machine. Episodes are
    written as they finish; the same seed gives the same scenes.

    With --site (and --station) each finished episode is pushed to the site in the
    background and the station's status posted once a second; each episode records
    the task the site assigns to the station when it starts (--task with --no-ros
    wins, the session config's task when the site assigns none), with its task id.

    Example: tg collect --config launch/sim_pick_place.yaml --episodes 5 --out datasets/try
    """
    on_site = StationSite(site or "", token_file, max_upload_mbps, delete_after_push, keep_days)
    overrides = SimOverrides(
        task=task,
        operator=operator,
        failure_rate=failure_rate,
        renderer=renderer.value if renderer is not None else None,
    )
    if no_ros:
        session = load_session(config).resolve()
        dataset = out if out is not None else session.out
        with site_station(
            on_site, station or "", dataset, lambda: None, **_agent_labels(session, task, operator)
        ) as agent:
            relabel = agent.relabel_saved if agent is not None and task is None else None
            direct = _DirectRun(out, episodes, seed, overrides, station)
            _collect_directly(config, direct, relabel)
        return
    given = [f"--{name.replace('_', '-')}" for name in overrides.given()]
    if given:
        err_console.print(
            f"[bold red]error:[/] {', '.join(given)}: only with --no-ros; through ROS 2 the nodes "
            "read the session config (edit its sim: section)",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(2)
    _collect_through_ros(config, out, _RosRun(episodes, seed, domain_id, real_time_factor, station), on_site)


@dataclass(frozen=True)
class _RosRun:
    """What ``tg collect`` asks of the node graph (the options of :func:`record_through_ros`)."""

    episodes: int
    seed: int | None
    domain_id: int | None
    real_time_factor: float
    station: str | None


@dataclass(frozen=True)
class _DirectRun:
    """What ``tg collect --no-ros`` asks of the simulator in this process."""

    out: Path | None
    episodes: int
    seed: int | None
    overrides: SimOverrides
    station: str | None  # labels the episodes (a site checks it against the station's token)


def _agent_labels(
    run: ResolvedSession, task: str | None = None, sim_operator: str | None = None
) -> dict[str, Any]:
    """The agent's tasks (``--task`` with --no-ros wins over the site's, the session's comes last)
    and the operator its reports name (the session's, else the simulated one as episodes label it)."""
    return {
        "task": Assignment("", task, "") if task else None,
        "session_task": Assignment("", run.session.task.name, run.session.task.instruction),
        "operator": run.session.operator or f"sim:{sim_operator or run.session.sim.operator}",
    }


def _collect_through_ros(config: Path, out: Path | None, run: _RosRun, site: StationSite) -> None:
    """``tg collect`` without ``--no-ros``: the node graph records; exit 1 if it recorded fewer."""
    why = ros_available()
    if why:
        err_console.print(f"[bold red]error:[/] {why}; add --no-ros to record without ROS 2", highlight=False)
        raise typer.Exit(1)
    session = load_session(config).resolve()
    dataset = out if out is not None else session.out
    output_directory(dataset, "--out")
    latest: list[RecorderStatus] = []  # the recorder's newest status, for the station's reports
    with site_station(
        site, run.station or "", dataset, lambda: latest[-1] if latest else None, **_agent_labels(session)
    ) as on_site:

        def station_line(progress: SessionProgress) -> str:
            if progress.recorder is not None:
                latest[:] = [progress.recorder]
            return on_site.line() if on_site is not None else ""

        _run_session(config, dataset, run, station_line if on_site is not None else None, on_site)


def _run_session(
    config: Path,
    dataset: Path,
    run: _RosRun,
    also_show: Callable[[SessionProgress], str] | None,
    site: SiteStation | None,
) -> None:
    try:
        results = record_through_ros(config, out=dataset, **asdict(run), also_show=also_show, site=site)
    except KeyboardInterrupt:
        err_console.print(
            f"[bold red]aborted:[/] nodes stopped; an episode in progress was saved as aborted in {dataset}",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1) from None
    _summary([(r.success, r.duration_s) for r in results], dataset)
    if len(results) < run.episodes:
        raise typer.Exit(1)


def _collect_directly(config: Path, direct: _DirectRun, relabel: Callable[[Path], None] | None) -> None:
    """``tg collect --no-ros``: simulator, scripted operator and writer in this process."""
    session = load_session(config)
    if direct.out is not None:
        session = session.model_copy(update={"out": str(direct.out), "dataset": None})
    if direct.station:
        session = session.model_copy(update={"station": direct.station})
    run = session.resolve()
    episodes, seed, overrides = direct.episodes, direct.seed, direct.overrides
    output_directory(run.out, "--out")
    err_console.print(
        f"recording {episodes} simulated episode(s) of {config} into {run.out}",
        highlight=False,
        soft_wrap=True,
    )
    records = record_simulated(run, episodes=episodes, seed=seed, overrides=overrides, saved=relabel)
    _summary([(r.outcome.success, recorded_s(r.path)) for r in records], run.out)


def _summary(episodes_done: list[tuple[bool, float]], dataset: Path) -> None:
    """The closing lines: how many, how many successful, the recorded span in all, and what to run next."""
    ok = sum(1 for success, _ in episodes_done if success)
    total = sum(recorded for _, recorded in episodes_done)
    console.print(
        f"{len(episodes_done)} episode(s), {ok} successful, {total:.2f} s recorded, in {dataset}",
        highlight=False,
        soft_wrap=True,
    )
    if episodes_done:
        console.print(next_step(dataset), highlight=False, soft_wrap=True)
