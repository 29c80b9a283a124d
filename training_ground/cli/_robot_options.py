"""Options that the verbs recording a real robot share (`tg ingest`, `tg record`), declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["OutOption", "ProfileOption", "ProfileOrConfig"]

ProfileOption = Annotated[
    str, typer.Option("--profile", "-p", help="Robot profile: a name from `tg profiles`, or a YAML file.")
]
OutOption = Annotated[
    Path, typer.Option("--out", "-o", help="Dataset directory the episodes are written to.")
]

# `tg record` takes a profile or a session config (which names the profile), so neither is required there.
ProfileOrConfig = Annotated[
    str | None,
    typer.Option(
        "--profile", "-p", help="Robot profile: a name from `tg profiles`, or a YAML file (or give --config)."
    ),
]
