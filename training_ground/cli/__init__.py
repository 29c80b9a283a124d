"""The `tg` command: one small verb per library operation.

>>> from typer.testing import CliRunner
>>> from training_ground.cli import app
>>> CliRunner().invoke(app, ["--help"]).exit_code
0
"""

from __future__ import annotations

import sys
import typing
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from tg_base import TgError, __version__
from training_ground.cli import (
    _annotate,
    _collect,
    _dataset,
    _demo,
    _episodes,
    _export,
    _import,
    _ingest,
    _prepare,
    _profiles,
    _record,
    _replay,
    _site,
    _transfer,
    _validate,
    _view,
)
from training_ground.cli._console import err_console
from training_ground.cli._crash import write_crash_log

__all__ = ["app", "command", "main", "readable_help"]

app = typer.Typer(
    name="tg",
    help="Training Ground: record, check and load humanoid teleoperation episodes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
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
app.command("prepare")(_prepare.prepare)
app.command("replay")(_replay.replay)
app.command("view")(_view.view)
app.command("push")(_transfer.push)
app.command("pull")(_transfer.pull)
app.add_typer(_site.site_app)
app.add_typer(_dataset.dataset_app)
app.add_typer(_import.import_app)


# Click's names for the types our parameters take.
_METAVARS: dict[Any, str] = {str: "TEXT", Path: "PATH", int: "N", float: "X"}


def readable_help(command: Any) -> Any:
    """Give every parameter of ``command`` (and its subcommands) help a user reads.

    Typer shows Python's types (``<list[str]>``, ``<bool>``); click's convention is
    ``PATH``, ``TEXT``, ``N``, and flags and arguments show none.
    """
    for sub in getattr(command, "commands", {}).values():
        readable_help(sub)
    for param in command.params:
        if param.param_type_name == "argument":
            # The argument's name already says what it is; typer would add its Python type.
            param.display_type_rich = _no_type
        elif param.metavar is None and not param.is_flag:
            param.metavar = _metavar(param)
    return command


def _no_type(ctx: Any) -> None:
    return None


def _metavar(param: Any) -> str:
    described = param.type_descriptor
    if described.is_choice:
        return "[" + "|".join(map(str, described.choices)) + "]"
    annotation = described.annotation
    if typing.get_origin(annotation) in (list, tuple):
        annotation = typing.get_args(annotation)[0]
    return _METAVARS.get(annotation, "VALUE")


def command() -> None:
    """Run ``tg`` with readable help: what the console script runs."""
    readable_help(typer.main.get_command(app))(prog_name="tg")


def main() -> None:
    """Entry point of the console script: errors become one red line and exit code 1.

    A :class:`TgError` is a condition the user caused or the machine ran into; its
    message says what to do. Anything else is a bug: the user gets one line and
    the path of a crash log holding the traceback, never a bare traceback.
    """
    try:
        command()
    except TgError as exc:
        # The message is text, not markup: "pip install -e '.[view]'" keeps its brackets.
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        sys.exit(1)
    except Exception as exc:  # the last resort: every other exception is a bug of ours
        log = write_crash_log(exc, sys.argv)
        err_console.print(
            f"[bold red]error:[/] unexpected {type(exc).__name__}: {exc}\n"
            f"This is a bug in tg. The traceback is in {log}; please attach it to a bug report.",
            highlight=False,
        )
        sys.exit(1)
