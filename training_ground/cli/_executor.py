"""``--executor`` and ``--ray-address``: where a batch verb's per-episode or per-bag work runs.

Shared by ``tg ingest``, ``validate``, ``annotate``, ``export`` and ``tg site serve``;
the environment's ``TG_EXECUTOR`` and ``TG_RAY_ADDRESS`` apply where the options
are not given.
"""

from __future__ import annotations

from typing import Annotated

import typer

from tg_exec import DEFAULT_STOP_SIGNAL, Executor, ExecutorOptions, open_executor
from training_ground.cli._console import err_console

__all__ = ["ExecutorOption", "RayAddressOption", "executor_for"]

ExecutorOption = Annotated[
    str | None,
    typer.Option(
        "--executor",
        metavar="local|ray",
        help="Where the work runs: local processes (default) or a Ray cluster [env: TG_EXECUTOR].",
        show_default=False,
    ),
]
RayAddressOption = Annotated[
    str | None,
    typer.Option(
        "--ray-address",
        metavar="HOST:PORT",
        help="The Ray cluster to join (implies --executor ray); none starts a private local Ray "
        "[env: TG_RAY_ADDRESS].",
        show_default=False,
    ),
]


def executor_for(
    kind: str | None,
    address: str | None,
    workers: int | None,
    *,
    stop_signal: int = DEFAULT_STOP_SIGNAL,
) -> Executor:
    """The executor the options (or the environment) name, to use in a ``with`` block.

    Anything but local processes is named on stderr, so a log shows where the work ran.
    """
    executor = open_executor(
        ExecutorOptions.resolve(kind, workers=workers, address=address), stop_signal=stop_signal
    )
    if executor.kind != "local":
        err_console.print(f"running on {executor.describe()}", highlight=False)
    return executor
