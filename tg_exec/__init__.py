"""Where per-episode and per-bag work runs: local processes (the default) or a Ray cluster.

One interface, :class:`Executor`, with two implementations that keep the same
contract (results in order, bad input reported once and never retried, dead
workers retried a bounded number of times): :class:`LocalExecutor` and
:class:`RayExecutor` (the ``[cluster]`` extra). ``tg ingest``, ``validate``,
``annotate``, ``export`` and the site server's arrival pipeline take one from
:func:`open_executor`.

This layer sits just above ``tg_base``: ``episodes`` and everything above may use it.

>>> from tg_exec import ExecutorOptions, open_executor
>>> with open_executor(ExecutorOptions(workers=1)) as run:
...     run.map(len, ["ab", "c"], on_failure=lambda item, why: -1)
[2, 1]
"""

from tg_exec._base import Executor, describe_failure
from tg_exec._errors import ExecutorError, WorkerDiedError
from tg_exec._local import (
    DEFAULT_STOP_SIGNAL,
    LocalExecutor,
    arm_death_signal,
    default_workers,
    die_with_parent,
)
from tg_exec._options import EXECUTORS, ExecutorOptions, open_executor
from tg_exec._progress import report_progress
from tg_exec._ray import RayExecutor

__all__ = [
    "DEFAULT_STOP_SIGNAL",
    "EXECUTORS",
    "Executor",
    "ExecutorError",
    "ExecutorOptions",
    "LocalExecutor",
    "RayExecutor",
    "WorkerDiedError",
    "arm_death_signal",
    "default_workers",
    "describe_failure",
    "die_with_parent",
    "open_executor",
    "report_progress",
]
