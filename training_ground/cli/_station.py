"""The station side of a site: ``--site`` on ``tg record`` and ``tg collect``, and ``tg push --watch``.

With ``--site`` a :class:`tg_site.StationAgent` runs beside the recorder: it
pushes each finished episode in the background and posts the station's status
once a second; the CLI gives it the recorder's status and asks it which task the
next episode records (``--task``, else the site's assignment, else the session's).
"""

from __future__ import annotations

import signal
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

import episodes
from collectors import EpisodeLabels, RecorderStatus
from tg_site import SiteClient, read_token
from tg_site._push_queue import RetentionOptions
from tg_site._station_agent import AgentOptions, StationAgent
from tg_site._stations import Assignment
from training_ground.cli._console import console, err_console

__all__ = [
    "SiteStation",
    "StationSite",
    "site_station",
    "watch_push",
]

_DRAIN_S = 60.0

SiteUrl = Annotated[
    str | None,
    typer.Option(
        "--site",
        help="Push each finished episode to this site server and post the station's status "
        "(token: $TG_SITE_TOKEN or --token-file).",
    ),
]
TokenFile = Annotated[
    Path | None,
    typer.Option(
        "--token-file", help="File holding the station's token (mode 0600); default: $TG_SITE_TOKEN."
    ),
]
MaxUploadMbps = Annotated[
    float | None,
    typer.Option(
        "--max-upload-mbps", min=0.1, help="Upload at most this many megabits a second (spare DDS)."
    ),
]
DeleteAfterPush = Annotated[
    bool,
    typer.Option("--delete-after-push", help="Remove an episode here once the site verified and stored it."),
]
KeepDays = Annotated[
    float | None,
    typer.Option(
        "--keep-days", min=0.0, help="Remove episodes here this many days after the site stored them."
    ),
]


@dataclass(frozen=True)
class StationSite:
    """The ``--site`` options of ``tg record``/``tg collect``/``tg push --watch``; ``url`` "": no site."""

    url: str = ""
    token_file: Path | None = None
    max_upload_mbps: float | None = None
    delete_after_push: bool = False
    keep_days: float | None = None
    ca: Path | None = None

    def clients(self) -> Callable[[float], SiteClient]:
        """A factory of clients of the site (one per agent thread), the token read once, now."""
        token = read_token(self.token_file)
        verify: bool | ssl.SSLContext = True
        if self.ca is not None:
            verify = ssl.create_default_context(cafile=self.ca)
        return lambda timeout_s: SiteClient(self.url, token, verify=verify, timeout_s=timeout_s)

    def agent_options(
        self,
        station: str,
        directory: Path,
        *,
        task: Assignment | None = None,
        session_task: Assignment | None = None,
        operator: str = "",
    ) -> AgentOptions:
        retention = RetentionOptions(self.delete_after_push, self.keep_days)
        return AgentOptions(
            station,
            directory,
            max_upload_mbps=self.max_upload_mbps,
            retention=retention,
            task=task,
            session_task=session_task,
            operator=operator,
        )


class SiteStation:
    """A recorder's agent and the task of each episode: what ``tg record --site`` adds to its loop."""

    def __init__(self, agent: StationAgent) -> None:
        self.agent = agent
        self._task_of: dict[str, Assignment] = {}  # episode id -> the site's task it was started with
        self._labelled: set[str] = set()
        self._pending: Assignment | None = None  # tg collect: the assignment of the episode in progress

    def labels(self, base: EpisodeLabels) -> EpisodeLabels:
        """The next episode's labels: ``base`` with the site's task unless ``--task`` was given."""
        assigned = self.agent.assignment
        if base.task or assigned is None:
            return base
        return EpisodeLabels(assigned.task, assigned.instruction, base.operator, base.station, base.extra)

    def started(self, status: RecorderStatus) -> None:
        """An episode started: remember the site's task it records (for its task id)."""
        assigned = self.agent.assignment
        if status.recording and assigned is not None and not self.agent.options.task:
            self._task_of.setdefault(status.episode_id, assigned)

    def finished(self, status: RecorderStatus) -> None:
        """The last episode is saved: give it the task id (journalled) before the agent may push it."""
        path = Path(status.last_episode) if status.last_episode else None
        if path is None or path.stem in self._labelled or path.stem not in self._task_of:
            return
        self._labelled.add(path.stem)
        if path.exists():
            episodes.set_labels(path, task_id=self._task_of.pop(path.stem).task_id)

    def session_labels(self, base: EpisodeLabels) -> EpisodeLabels:
        """``tg collect``'s next episode: the site's task over the session config's (``base``).

        The assignment is kept for :meth:`saved`, which gives the saved episode its task id.
        """
        assigned = self.agent.assignment
        self._pending = assigned
        if assigned is None:
            return base
        return EpisodeLabels(assigned.task, assigned.instruction, base.operator, base.station, base.extra)

    def saved(self, path: Path) -> None:
        """``tg collect``'s episode ``path`` is saved: the task id of the assignment it was labelled with."""
        assigned, self._pending = self._pending, None
        if assigned is not None:
            episodes.set_labels(path, task_id=assigned.task_id)

    def relabel_saved(self, path: Path) -> None:
        """``tg collect --no-ros``'s episode ``path`` (written with the session's task) is saved: the
        site's assignment now becomes its task, instruction and task id, recorded in its label history."""
        assigned = self.agent.assignment
        if assigned is not None:
            why = episodes.Relabel(
                by="site", reason=f"the site assigns task {assigned.task_id} to this station"
            )
            episodes.set_labels(
                path, task=assigned.task, instruction=assigned.instruction, task_id=assigned.task_id, why=why
            )

    def line(self) -> str:
        task = self.agent.task_for_next_episode()
        head = f"task {task.task}" if task is not None else "no task"
        return f"{head} | {self.agent.summary()}"


@contextmanager
def site_station(
    site: StationSite,
    station: str,
    directory: Path,
    recorder_status: Callable[[], RecorderStatus | None],
    *,
    task: Assignment | None = None,
    session_task: Assignment | None = None,
    operator: str = "",
) -> Iterator[SiteStation | None]:
    """The station's agent while the block runs (None without ``--site``); at the end it drains the queue.

    A token the site refuses for ``station`` ends here, before anything is recorded.
    """
    if not site.url:
        yield None
        return
    if not station:
        raise typer.BadParameter(
            "--site needs --station ID: the station this token belongs to", param_hint="--station"
        )
    options = site.agent_options(station, directory, task=task, session_task=session_task, operator=operator)
    agent = StationAgent(site.clients(), options, recorder_status)
    agent.check()
    if agent.site_error:
        err_console.print(
            f"[yellow]site unreachable for now[/] ({agent.site_error}); recording anyway, pushing later"
        )
    agent.start()
    try:
        yield SiteStation(agent)
    finally:
        _drain(agent)


def _drain(agent: StationAgent, timeout_s: float = _DRAIN_S) -> None:
    """Give the pusher up to ``timeout_s`` to push what is queued (it stops early when the site is down)."""
    deadline = time.monotonic() + timeout_s + agent.options.settle_s
    try:
        while time.monotonic() < deadline and agent.pending():
            if agent.site_error and "cannot reach" in agent.site_error:
                break
            time.sleep(0.2)
    finally:
        agent.stop()
    left = agent.pending()
    if left:
        err_console.print(
            f"[yellow]{left} episode(s) not pushed yet[/] ({agent.summary()}) in {agent.options.directory}: "
            f"run tg push {agent.options.directory} --site ... --watch (they resume where they stopped)",
            highlight=False,
        )
    else:
        console.print(f"every episode is on the site ({agent.pushed} pushed this session)", highlight=False)


def watch_push(paths: list[Path], site: StationSite, station: str, *, poll_s: float = 1.0) -> None:
    """``tg push DIR --watch``: push what appears in the directory until SIGINT/SIGTERM."""
    if len(paths) != 1 or not paths[0].is_dir():
        raise typer.BadParameter(
            f"--watch takes one dataset directory, got {' '.join(map(str, paths))}", param_hint="PATHS"
        )
    directory = paths[0]
    options = site.agent_options(station, directory)
    agent = StationAgent(site.clients(), options)
    agent.check()
    err_console.print(
        f"watching {directory} for episodes to push to {site.url} (Ctrl-C to stop)", highlight=False
    )
    shown = ""
    signal.signal(signal.SIGTERM, _interrupt)  # systemd stops it with SIGTERM: the same clean end
    with agent:
        try:
            while True:
                line = agent.summary()
                if line != shown:
                    err_console.print(line, highlight=False)
                    shown = line
                time.sleep(poll_s)
        except KeyboardInterrupt:
            pass
    console.print(f"{agent.pushed} episode(s) pushed; {agent.pending()} waiting", highlight=False)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)
