"""The `tg` command: one small verb per library operation.

>>> from typer.testing import CliRunner
>>> from training_ground.cli import app
>>> CliRunner().invoke(app, ["--help"]).exit_code
0
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from tg_base import TgError, __version__
from training_ground.cli import (
    _annotate,
    _collect,
    _demo,
    _episodes,
    _export,
    _ingest,
    _profiles,
    _record,
    _validate,
)
from training_ground.cli._console import err_console
from training_ground.cli._crash import write_crash_log

__all__ = ["app", "main"]

app = typer.Typer(
    name="tg",
    help="Training Ground: record, check and load humanoid teleoperation episodes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"training-ground {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Training Ground: record, check and load humanoid teleoperation episodes."""


app.command("info")(_episodes.info)
app.command("realign")(_episodes.realign)
app.command("recover")(_episodes.recover)
app.command("demo")(_demo.demo)
app.command("collect")(_collect.collect)
app.command("ingest")(_ingest.ingest)
app.command("record")(_record.record)
app.command("profiles")(_profiles.profiles)
app.command("validate")(_validate.validate)
app.command("annotate")(_annotate.annotate)
app.command("export")(_export.export)


def main() -> None:
    """Entry point of the console script: errors become one red line and exit code 1.

    A :class:`TgError` is a condition the user caused or the machine ran into; its
    message says what to do. Anything else is a bug: the user gets one line and
    the path of a crash log holding the traceback, never a bare traceback.
    """
    try:
        app()
    except TgError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(1)
    except Exception as exc:  # the last resort: every other exception is a bug of ours
        log = write_crash_log(exc, sys.argv)
        err_console.print(
            f"[bold red]error:[/] unexpected {type(exc).__name__}: {exc}\n"
            f"This is a bug in tg. The traceback is in {log}; please attach it to a bug report.",
            highlight=False,
        )
        sys.exit(1)
