"""`tg push` and `tg pull`: episodes to a site server and back, verified and resumable."""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from tg_site import PushResult, SiteClient, SiteClientError, SiteError, read_token
from training_ground.cli._console import console, err_console
from training_ground.cli._paths import episode_files

__all__ = ["pull", "push"]

SITE_ENV = "TG_SITE_URL"
# HTTP statuses that refuse one episode file: bad upload, station mismatch, conflict, too large, malformed.
_PER_FILE = frozenset({400, 403, 409, 413, 422})

SiteOption = Annotated[
    str | None, typer.Option("--site", help=f"The site server's URL (default: ${SITE_ENV}).")
]
TokenFileOption = Annotated[
    Path | None,
    typer.Option("--token-file", help="File holding the token (mode 0600); default: $TG_SITE_TOKEN."),
]
CaOption = Annotated[
    Path | None, typer.Option("--ca", help="CA bundle (PEM) that signed the site's TLS certificate.")
]


def _client(site: str | None, token_file: Path | None, ca: Path | None) -> SiteClient:
    url = site or os.environ.get(SITE_ENV, "")
    if not url:
        raise typer.BadParameter(f"name the site server: --site URL or ${SITE_ENV}", param_hint="--site")
    verify = ssl.create_default_context(cafile=ca) if ca is not None else True
    return SiteClient(url, read_token(token_file), verify=verify)


@contextmanager
def _bytes_bar(total: int, what: str) -> Iterator[Progress]:
    bar = Progress(
        TextColumn(what),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    )
    with bar:
        yield bar


def push(
    paths: Annotated[list[Path], typer.Argument(help="Episode files (.h5) or dataset directories.")],
    site: SiteOption = None,
    token_file: TokenFileOption = None,
    ca: CaOption = None,
) -> None:
    """Send episodes to a site server; what the site has is skipped, an interrupted push resumes.

    Example: TG_SITE_TOKEN=... tg push datasets/demo --site https://site.example:8470
    """
    files = episode_files(paths)
    total = sum(f.stat().st_size for f in files)
    results: list[PushResult] = []
    refused: list[str] = []
    with _client(site, token_file, ca) as client, _bytes_bar(total, "pushing") as bar:
        task = bar.add_task("push", total=total)
        for f in files:
            try:
                results.append(client.push_file(f, lambda n: bar.advance(task, n)))
            except SiteError as exc:
                if not _about_this_file(exc):
                    raise
                refused.append(f"{f}: {exc}")
    sent = [r for r in results if r.state == "uploaded"]
    for r in results:
        console.print(f"{r.episode_id}  {'sent' if r.state == 'uploaded' else 'the site has it'}  {r.path}")
    console.print(
        f"{len(results)} episode(s): {len(sent)} sent ({sum(r.bytes_sent for r in sent)} bytes), "
        f"{len(results) - len(sent)} already on the site" + (f", {len(refused)} refused" if refused else "")
    )
    for line in refused:
        err_console.print(f"[bold red]error:[/] {line}", highlight=False)
    if refused:
        raise typer.Exit(1)


def _about_this_file(exc: SiteError) -> bool:
    """A refusal of one file (not an episode, another station's, a conflict): the others still go.

    A bad token, a full store, a rate limit or a lost connection stops the push instead.
    """
    if isinstance(exc, SiteClientError):
        return exc.status in _PER_FILE
    return True  # refused here before sending: not a readable, finished episode


def pull(
    to: Annotated[Path, typer.Option("--to", help="Directory to put the episodes in (created).")],
    site: SiteOption = None,
    selection: Annotated[
        str | None, typer.Option("--selection", help="A selection saved on the site.")
    ] = None,
    query: Annotated[
        list[str] | None,
        typer.Option(
            "--query", metavar="FIELD=VALUE", help="A filter, e.g. station=st-01 or qa_passed=true; repeat."
        ),
    ] = None,
    token_file: TokenFileOption = None,
    ca: CaOption = None,
) -> None:
    """Fetch a selection (or a query's episodes) into a directory, each verified by its SHA-256.

    Files already there with the right hash are kept; the result is a dataset
    directory (episodes.EpisodeDataset, tg export).

    Example: tg pull --site https://site.example:8470 --selection pick_place_approved --to data/pp
    """
    if (selection is None) == (not query):
        raise typer.BadParameter(
            "give --selection NAME or --query FIELD=VALUE (not both)", param_hint="--selection"
        )
    filters: dict[str, list[str]] = {}
    for item in query or []:
        field, sep, value = item.partition("=")
        if not sep or not field:
            raise typer.BadParameter(f"{item!r} is not FIELD=VALUE", param_hint="--query")
        filters.setdefault(field.strip(), []).append(value.strip())
    with _client(site, token_file, ca) as client:
        entries = client.manifest(selection=selection, query=filters)
        total = sum(e.size for e in entries)
        with _bytes_bar(total, "pulling") as bar:
            task = bar.add_task("pull", total=total)
            results = client.pull(entries, to, lambda n: bar.advance(task, n))
    fetched = sum(1 for r in results if r.state == "downloaded")
    console.print(
        f"{len(results)} episode(s) in {to}: {fetched} downloaded and verified, "
        f"{len(results) - fetched} already there"
    )
