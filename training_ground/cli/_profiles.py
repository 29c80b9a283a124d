"""`tg profiles`: the robot profiles the registry knows, and one of them in full."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tg_config import ConfigError, list_profiles, load_profile
from training_ground.cli._console import console

__all__ = ["profiles"]


def profiles(
    action: Annotated[str | None, typer.Argument(help="'show' to print one profile.")] = None,
    name: Annotated[str | None, typer.Argument(help="With show: a profile name, or a YAML file.")] = None,
) -> None:
    """List the robot profiles (shipped, and on TG_PROFILE_PATH); `show NAME` prints one as YAML.

    Example: tg profiles show kuavo4pro
    """
    if action is None:
        _list()
        return
    if action != "show":
        raise typer.BadParameter(f"unknown action {action!r}; the only one is 'show'", param_hint="ACTION")
    if not name:
        raise typer.BadParameter(
            "show needs a profile name, e.g. `tg profiles show kuavo4pro`", param_hint="NAME"
        )
    profile = load_profile(name)  # validates: a broken file is an error here, not a printout
    source = profile.source_path
    # The file as written, comments included: it is what a user copies to start a new robot.
    text = source.read_text(encoding="utf-8") if source is not None else profile.to_yaml()
    typer.echo(f"# {source}\n{text}" if source is not None else text, nl=not text.endswith("\n"))


def _list() -> None:
    table = Table(title="robot profiles", title_justify="left")
    table.add_column("name", no_wrap=True)  # what `show NAME` takes: never broken across lines
    table.add_column("model")
    for column in ("joints", "cameras", "streams"):
        table.add_column(column, justify="right")
    table.add_column("file", overflow="fold")
    for name, path in list_profiles().items():
        try:
            profile = load_profile(name)
        except ConfigError as exc:
            first = str(exc).splitlines()[0]
            table.add_row(name, f"[red]invalid:[/] {first}", "", "", "", _short(path))
            continue
        table.add_row(
            name,
            profile.model,
            str(len(profile.joints)),
            str(len(profile.cameras)),
            str(len(profile.streams)),
            _short(path),
        )
    console.print(table)


def _short(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
