"""Which executor runs a verb's work: options from the command line and the environment."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from tg_exec._base import Executor
from tg_exec._errors import ExecutorError
from tg_exec._local import DEFAULT_STOP_SIGNAL, LocalExecutor
from tg_exec._ray import DEFAULT_RETRIES, RayExecutor, check_reachable

__all__ = ["EXECUTORS", "ExecutorOptions", "open_executor"]


@dataclass(frozen=True)
class ExecutorOptions:
    """``--executor``, ``--workers``, ``--ray-address``, and how often a dead worker's task is retried.

    >>> ExecutorOptions.resolve(address="127.0.0.1:6379", env={}).kind
    'ray'
    >>> ExecutorOptions.resolve(env={"TG_EXECUTOR": "ray"}).address is None
    True
    """

    kind: str = "local"
    workers: int | None = None
    address: str | None = None
    max_retries: int = DEFAULT_RETRIES

    @classmethod
    def resolve(
        cls,
        kind: str | None = None,
        *,
        workers: int | None = None,
        address: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> ExecutorOptions:
        """The command line's values, else ``TG_EXECUTOR`` / ``TG_RAY_ADDRESS``, else local.

        A Ray address alone means the Ray executor.
        """
        env = os.environ if env is None else env
        if kind not in (None, "ray") and address:
            raise ExecutorError(f"--ray-address {address} needs --executor ray (got --executor {kind})")
        address = address or env.get("TG_RAY_ADDRESS") or None
        chosen = kind or env.get("TG_EXECUTOR") or ("ray" if address else "local")
        if chosen not in EXECUTORS:
            raise ExecutorError(f"--executor {chosen!r}: choose one of {', '.join(sorted(EXECUTORS))}")
        return cls(chosen, workers, address if chosen == "ray" else None)

    def check(self) -> None:
        """Fail now, with :class:`ExecutorError`, where the executor could not be reached later.

        A Ray address must answer within seconds; a local pool needs nothing.
        """
        if self.kind == "ray" and self.address is not None:
            check_reachable(self.address)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ExecutorOptions:
        data: dict[str, Any] = json.loads(text)
        return cls(**data)


def _local(options: ExecutorOptions, stop_signal: int) -> Executor:
    return LocalExecutor(options.workers, stop_signal=stop_signal)


def _ray(options: ExecutorOptions, stop_signal: int) -> Executor:
    del stop_signal  # Ray ends a driver's tasks itself; outputs are renamed into place, never half-written
    return RayExecutor(options.address, workers=options.workers, max_retries=options.max_retries)


EXECUTORS: dict[str, Callable[[ExecutorOptions, int], Executor]] = {"local": _local, "ray": _ray}


def open_executor(
    options: ExecutorOptions | None = None, *, stop_signal: int = DEFAULT_STOP_SIGNAL
) -> Executor:
    """The executor ``options`` name (local processes by default), to use in a ``with`` block.

    ``stop_signal`` is what a local worker gets when this process ends (see
    :class:`LocalExecutor`).

    >>> with open_executor(ExecutorOptions(workers=1)) as run:
    ...     run.describe()
    '1 local process'
    """
    options = options or ExecutorOptions()
    return EXECUTORS[options.kind](options, stop_signal)
