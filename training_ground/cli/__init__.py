"""The `tg` command: one small verb per library operation.

>>> from typer.testing import CliRunner
>>> from training_ground.cli import app
>>> CliRunner().invoke(app, ["--help"]).exit_code
0
"""

from __future__ import annotations

import sys

import typer

from training_ground import TgError
from training_ground.cli import _demo, _episodes
from training_ground.cli._console import err_console

__all__ = ["app", "main"]

app = typer.Typer(
    name="tg",
    help="Training Ground: record, check and load humanoid teleoperation episodes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("info")(_episodes.info)
app.command("realign")(_episodes.realign)
app.command("recover")(_episodes.recover)
app.command("demo")(_demo.demo)


def main() -> None:
    """Entry point of the console script: TgErrors become one red line and exit code 1."""
    try:
        app()
    except TgError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(1)
