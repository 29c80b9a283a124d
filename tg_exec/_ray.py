"""Work over a Ray cluster: the same contract as the local pool, on every node that has a CPU.

Items travel to the nodes by pickle, and paths in them must mean the same file on
every node: a site keeps its episodes and bags on a filesystem every node mounts
(README, "Running on a Ray cluster"). A task whose worker process or node dies is
retried by Ray on another worker (``max_retries``, system failures only); an
exception raised by the work itself is never retried (``retry_exceptions=False``).

Ray is the ``[cluster]`` extra; it is imported only when this executor is made.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any, TypeVar

from tg_exec._base import Executor, describe_failure
from tg_exec._errors import ExecutorError, WorkerDiedError
from tg_exec._progress import Indexed, set_progress_sink

__all__ = ["RayExecutor", "check_reachable"]

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_RETRIES = 3  # Ray's own default for tasks whose worker dies
_IN_FLIGHT_PER_CPU = 4  # tasks queued per CPU: enough to keep every node busy, bounded for 1M items
_POLL_S = 0.2
_CONNECT_S = 5.0  # a head node on a site's network answers in milliseconds
_PROGRESS_BATCH = 1000


def _ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise ExecutorError(
            "the ray executor needs Ray: pip install 'training-ground[cluster]' (or use --executor local)"
        ) from exc
    return ray


def _unreachable(address: str | None, why: object) -> str:
    return (
        f"cannot reach the Ray cluster at {address}: {why}; start it with `ray start --head` "
        "or check --ray-address / TG_RAY_ADDRESS"
    )


def check_reachable(address: str) -> None:
    """Fail in seconds, not after Ray's own minute of retries, when nothing listens at ``address``."""
    if address in ("auto", "local") or "://" in address:
        return  # Ray resolves these itself
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=_CONNECT_S):
            pass
    except (OSError, ValueError) as exc:
        raise ExecutorError(_unreachable(address, exc)) from exc


def _task(work: Indexed[Any, Any], index: int, item: Any, updates: Any) -> Any:
    """One item in a Ray worker; its progress goes to the caller's queue actor."""
    if updates is not None:
        set_progress_sink(lambda i, fraction: updates.put_nowait((i, fraction)))
    try:
        return work(index, item)
    finally:
        set_progress_sink(None)


class RayExecutor(Executor):
    """Items as Ray tasks, one CPU each, on the cluster at ``address``.

    With no address, a private single-machine Ray is started with ``workers``
    CPUs (the dashboard off) and stopped on :meth:`close`; with one, this process
    joins that cluster as a driver and leaves it running on :meth:`close`.
    """

    kind = "ray"

    def __init__(
        self, address: str | None = None, *, workers: int | None = None, max_retries: int = DEFAULT_RETRIES
    ) -> None:
        if max_retries < 0:
            raise ExecutorError(f"max_retries must be 0 or more, got {max_retries}")
        self._ray = _ray()
        self._address = address
        self.max_retries = max_retries
        self._owned = not self._ray.is_initialized()
        if self._owned:
            self._connect(address, workers)
        remote = self._ray.remote(num_cpus=1, max_retries=max_retries, retry_exceptions=False)
        self._remote = remote(_task)

    def _connect(self, address: str | None, workers: int | None) -> None:
        settings: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": True}
        if address is None:
            # "local" starts a private Ray even where RAY_ADDRESS or a running cluster on this
            # machine (/tmp/ray/ray_current_cluster) would make ray.init join that one instead.
            settings.update(num_cpus=workers, include_dashboard=False)
        else:
            check_reachable(address)
        try:
            self._ray.init(address=address or "local", **settings)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise ExecutorError(_unreachable(address, exc)) from exc

    @property
    def cpus(self) -> int:
        """CPUs the cluster has now (all nodes)."""
        return max(1, int(self._ray.cluster_resources().get("CPU", 1)))

    def describe(self) -> str:
        nodes = sum(1 for node in self._ray.nodes() if node.get("Alive"))
        where = f"Ray at {self._address}" if self._address else "a private local Ray"
        cpus = self.cpus
        return f"{where} ({nodes} node{'s' if nodes != 1 else ''}, {cpus} CPU{'s' if cpus != 1 else ''})"

    def map(
        self,
        work: Callable[[T], R],
        items: Sequence[T],
        *,
        on_failure: Callable[[T, str], R],
        on_result: Callable[[R], None] | None = None,
        on_progress: Callable[[int, float], None] | None = None,
    ) -> list[R]:
        ray = self._ray
        shared = ray.put(Indexed(work))  # one copy in the object store, not one per task
        updates = self._progress_queue() if on_progress is not None else None
        done: dict[int, R] = {}
        running: dict[Any, int] = {}
        waiting = iter(enumerate(items))
        window = _IN_FLIGHT_PER_CPU * self.cpus
        try:
            while True:
                while len(running) < window and (nxt := next(waiting, None)) is not None:
                    running[self._remote.remote(shared, nxt[0], nxt[1], updates)] = nxt[0]
                if not running:
                    break
                ready, _ = ray.wait(list(running), num_returns=1, timeout=_POLL_S)
                _drain(updates, on_progress)
                for ref in ready:
                    i = running.pop(ref)
                    done[i] = self._outcome(ref, items[i], on_failure)
                    if on_result is not None:
                        on_result(done[i])
        finally:
            _drain(updates, on_progress)
            if updates is not None:
                ray.kill(updates.actor)
        return [done[i] for i in range(len(items))]

    def _outcome(self, ref: Any, item: T, on_failure: Callable[[T, str], R]) -> R:
        try:
            result: R = self._ray.get(ref)
        except Exception as exc:
            return on_failure(item, describe_failure(self._failure(exc)))
        return result

    def _failure(self, exc: Exception) -> BaseException:
        """The work's own exception, or a :class:`WorkerDiedError` for a worker or node lost."""
        errors = self._ray.exceptions
        if isinstance(exc, errors.RayTaskError):
            cause: BaseException = exc.cause
            return cause
        if isinstance(exc, errors.RayError):
            tries = self.max_retries + 1
            return WorkerDiedError(
                f"its worker died {tries} time{'s' if tries > 1 else ''} ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else ''})"
            )
        return exc

    def _progress_queue(self) -> Any:
        from ray.util.queue import Queue

        return Queue(actor_options={"num_cpus": 0})

    def submit(self, work: Callable[[T], R], item: T) -> Future[R]:
        inner = self._remote.remote(Indexed(work), 0, item, None).future()
        outer: Future[R] = Future()

        def settle(f: Future[Any]) -> None:
            try:
                outer.set_result(f.result())
            except Exception as exc:
                outer.set_exception(self._failure(exc))

        inner.add_done_callback(settle)
        return outer

    def close(self) -> None:
        if self._owned and self._ray.is_initialized():
            self._ray.shutdown()


def _drain(updates: Any, on_progress: Callable[[int, float], None] | None) -> None:
    if updates is None or on_progress is None:
        return
    for index, fraction in updates.get_nowait_batch(min(updates.qsize(), _PROGRESS_BATCH)):
        on_progress(index, fraction)
