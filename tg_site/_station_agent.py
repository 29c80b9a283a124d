"""The station's agent: pushes finished episodes in the background and posts the station's status.

It runs beside a recorder (``tg record --site``, ``tg collect --site``) or alone
(``tg push --watch``) in two threads, so recording never waits for the network:

* the **pusher** takes the oldest episode of the :class:`~tg_site._push_queue.PushQueue`,
  pushes it (resuming an upload begun before, at most ``max_upload_mbps``), marks
  it once the site acknowledged a verified commit, and prunes what the retention
  no longer keeps. Site unreachable (or 5xx, 429): it waits 1, 2, 4, ... up to
  ``backoff_max_s`` seconds and tries again; the queue waits on disk meanwhile.
  An episode the site refuses (400, 409, 413, 422) is marked ``refused`` and not
  retried until the file changes; a refused token (401, 403) is retried.
* the **reporter** posts a :class:`~tg_site._stations.StationReport` every
  ``status_period_s`` (the recorder's status, the queue, free disk, the task) and
  fetches the station's assigned task every ``task_period_s``.

The recorder core never imports this: the CLI hands the agent a function that
returns the recorder's latest status.
"""

from __future__ import annotations

import contextlib
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from collectors import RecorderStatus
from tg_site._client import SiteClient, SiteClientError
from tg_site._errors import SiteError
from tg_site._push_queue import PushQueue, RetentionOptions
from tg_site._stations import Assignment, StationReport

__all__ = ["AgentOptions", "StationAgent", "StationTokenError"]

_REFUSED = frozenset({400, 409, 413, 422})  # this file would be refused again: do not retry it
_IDLE_POLL_S = 0.5
_PRUNE_EVERY_S = 60.0
ClientFactory = Callable[[float], SiteClient]
"""A new client of the site, given its request timeout in seconds."""


class StationTokenError(SiteError):
    """The site refuses this station's token (another station's, revoked, unknown): found at start."""


@dataclass(frozen=True)
class AgentOptions:
    """What the agent pushes and reports, and how; ``task``: ``--task`` (wins over the site's)."""

    station: str
    directory: Path
    max_upload_mbps: float | None = None
    retention: RetentionOptions = field(default_factory=RetentionOptions)
    status_period_s: float = 1.0
    task_period_s: float = 5.0
    settle_s: float = 2.0
    backoff_max_s: float = 30.0
    task: Assignment | None = None
    session_task: Assignment | None = None
    operator: str = ""  # reported with the station's status


class _StoppedError(Exception):
    """The agent is stopping: ends an upload between two chunks (it resumes next time)."""


class _Throttle:
    """Keeps an upload's average at most ``mbps`` megabits a second (sleeping between chunks)."""

    def __init__(self, mbps: float | None, stop: threading.Event) -> None:
        self._bytes_per_s = None if mbps is None else mbps * 1e6 / 8
        self._stop = stop
        self._sent = 0
        self._since = time.monotonic()

    def __call__(self, n: int) -> None:
        if self._stop.is_set():
            raise _StoppedError
        if self._bytes_per_s is None:
            return
        self._sent += n
        ahead = self._sent / self._bytes_per_s - (time.monotonic() - self._since)
        if ahead > 0 and self._stop.wait(ahead):
            raise _StoppedError


@dataclass
class _PushState:
    """What the pusher says about itself (read by the reporter and the status line)."""

    queued: int = 0
    queued_bytes: int = 0
    pushing: str = ""
    pushed: int = 0
    error: str = ""
    retry_at: float = 0.0  # monotonic time of the next try after a failure


class StationAgent:
    """Background push and status of one station; :meth:`start` it, :meth:`stop` it at the end.

    >>> agent = StationAgent(lambda t: SiteClient("http://127.0.0.1:8470", "t0ken", timeout_s=t),
    ...                      AgentOptions("st-01", Path("datasets/demo")))  # doctest: +SKIP
    >>> agent.check()  # doctest: +SKIP
    >>> agent.start()  # doctest: +SKIP
    """

    def __init__(
        self,
        clients: ClientFactory,
        options: AgentOptions,
        recorder_status: Callable[[], RecorderStatus | None] = lambda: None,
    ) -> None:
        self.options = options
        self.queue = PushQueue(options.directory, settle_s=options.settle_s)
        self._clients = clients
        self._recorder_status = recorder_status
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._state = _PushState()
        self._assignment: Assignment | None = None
        self.site_error = ""  # why the last report did not reach the site

    # -- start and stop --------------------------------------------------------------------------

    def check(self) -> Assignment | None:
        """Ask the site for this station's task: a refused token raises; an unreachable site is noted.

        Without a station (``tg push --watch`` with an uploader's token) there is nothing to ask.
        """
        if not self.options.station:
            return None
        with self._clients(10.0) as client:
            try:
                self._assignment = self._fetch_task(client)
            except SiteClientError as exc:
                if exc.status in (401, 403):
                    raise StationTokenError(
                        f"--station {self.options.station}: the site {client.url} refuses this token "
                        f"({exc}); nothing was recorded"
                    ) from None
                self.site_error = str(exc)  # unreachable now: record anyway, push later
        return self._assignment

    def start(self) -> None:
        loops = [("push", self._push_loop)] + (
            [("report", self._report_loop)] if self.options.station else []
        )
        for name, target in loops:
            thread = threading.Thread(target=target, name=f"station-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop both threads (an upload in progress stops after its chunk and resumes next time)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout_s)

    def __enter__(self) -> StationAgent:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what the CLI asks -----------------------------------------------------------------------

    @property
    def assignment(self) -> Assignment | None:
        """The site's task for this station, as last fetched."""
        return self._assignment

    def task_for_next_episode(self) -> Assignment | None:
        """``--task``, else the site's assignment, else the session's task (None: none of them)."""
        return self.options.task or self._assignment or self.options.session_task

    def summary(self) -> str:
        """For a status line: the queue, what is being pushed, and why the site cannot be reached."""
        s = self._state
        parts = [f"queue {s.queued}" + (f" ({s.queued_bytes / 1e6:.0f} MB)" if s.queued_bytes else "")]
        if s.pushing:
            parts.append(f"pushing {s.pushing[-8:]}")
        parts.append(f"pushed {s.pushed}")
        if s.error:
            wait = max(0.0, s.retry_at - time.monotonic())
            parts.append(f"push failed: {s.error}" + (f"; retry in {wait:.0f} s" if wait else ""))
        elif self.site_error:
            parts.append(f"site: {self.site_error}")
        return ", ".join(parts)

    @property
    def pushed(self) -> int:
        return self._state.pushed

    def pending(self) -> int:
        """Episodes not acknowledged by the site now, those still settling included (read from the disk)."""
        return len(self.queue.pending(settled=False))

    # -- the pusher ------------------------------------------------------------------------------

    def _push_loop(self) -> None:
        backoff, pruned = 0.0, -_PRUNE_EVERY_S
        with self._clients(60.0) as client:
            while not self._stop.is_set():
                if time.monotonic() - pruned >= _PRUNE_EVERY_S or self.options.retention.delete_after_push:
                    self.queue.prune(self.options.retention)
                    pruned = time.monotonic()
                waiting = self.queue.pending()
                self._note_queue(waiting)
                if not waiting:
                    self._stop.wait(_IDLE_POLL_S)
                    continue
                try:
                    ok = self._push_one(client, waiting[0])
                except _StoppedError:
                    return
                backoff = 0.0 if ok else min(max(1.0, backoff * 2), self.options.backoff_max_s)
                if backoff:
                    self._state.retry_at = time.monotonic() + backoff
                    self._stop.wait(backoff)

    def _note_queue(self, waiting: list[Path]) -> None:
        total = 0
        for path in waiting:
            with contextlib.suppress(FileNotFoundError):
                total += path.stat().st_size
        self._state.queued, self._state.queued_bytes = len(waiting), total

    def _push_one(self, client: SiteClient, path: Path) -> bool:
        """Push ``path``; False when it should be tried again later (the site unreachable, busy, ...)."""
        try:
            before = _version(path)
        except FileNotFoundError:
            return True
        self._state.pushing = path.stem
        try:
            result = client.push_file(path, _Throttle(self.options.max_upload_mbps, self._stop))
        except SiteClientError as exc:
            return self._failed(path, before, exc, refusable=exc.status in _REFUSED)
        except SiteError as exc:  # not a readable episode
            return self._failed(path, before, exc, refusable=True)
        except OSError as exc:  # removed or unreadable meanwhile
            return self._failed(path, before, exc, refusable=False)
        finally:
            self._state.pushing = ""
        self.queue.mark(path, result.state, version=before)
        self._state.pushed += 1
        self._state.error = ""
        return True

    def _failed(self, path: Path, before: tuple[int, int], exc: Exception, *, refusable: bool) -> bool:
        try:
            unchanged = _version(path) == before
        except FileNotFoundError:
            return True
        if refusable and unchanged:  # the same bytes would be refused again
            self.queue.mark(path, "refused", str(exc), version=before)
            self._state.error = f"{path.name} refused: {exc}"
            return True
        self._state.error = str(exc)
        return not unchanged  # a file labelled meanwhile: push again now

    # -- the reporter ----------------------------------------------------------------------------

    def _report_loop(self) -> None:
        next_task = time.monotonic() + self.options.task_period_s
        with self._clients(max(2.0, self.options.status_period_s * 2)) as client:
            while not self._stop.wait(self.options.status_period_s):
                try:
                    if time.monotonic() >= next_task:
                        next_task = time.monotonic() + self.options.task_period_s
                        self._assignment = self._fetch_task(client)
                    client.request(
                        "POST",
                        f"/api/v1/stations/{self.options.station}/status",
                        json=self.report().to_json(),
                    )
                    self.site_error = ""
                except SiteClientError as exc:
                    self.site_error = str(exc)

    def _fetch_task(self, client: SiteClient) -> Assignment | None:
        data = client.json("GET", f"/api/v1/stations/{self.options.station}/task")
        found = data.get("assignment")
        return None if found is None else Assignment.from_json(found)

    def report(self) -> StationReport:
        """The station's status now, as the reporter posts it."""
        s = self._state
        task = self.task_for_next_episode()
        try:
            free = shutil.disk_usage(self.options.directory).free
        except OSError:
            free = -1
        return StationReport(
            station=self.options.station,
            recorder=self._recorder_status(),
            queue=s.queued,
            queue_bytes=s.queued_bytes,
            pushing=s.pushing,
            pushed=s.pushed,
            push_error=s.error,
            free_bytes=free,
            task_id=task.task_id if task else "",
            task=task.task if task else "",
            instruction=task.instruction if task else "",
            operator=self.options.operator,
            sent_at_ns=time.time_ns(),
        )


def _version(path: Path) -> tuple[int, int]:
    """Size and mtime: what tells one version of an episode file from the next (labels set after a stop)."""
    st = path.stat()
    return st.st_size, st.st_mtime_ns
