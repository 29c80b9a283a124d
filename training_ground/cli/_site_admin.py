"""Site administration verbs of `tg site`: token create|revoke|list, reindex, backup.

``register_admin(site_app)`` adds them to the ``site`` group ``_site.py`` defines.
They work on the store directly (the server may be running: the catalogue is
SQLite in WAL mode), so they need no token of their own: whoever can read and
write the store's directory administers it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

import tg_site
from tg_site import Role, SiteError

if TYPE_CHECKING:
    from tg_site import Catalogue, DriftReport, TokenInfo
from training_ground.cli._console import console, err_console

__all__ = ["register_admin"]

StoreOption = Annotated[Path, typer.Option("--store", help="The site's store directory.")]


def register_admin(site_app: typer.Typer) -> None:
    """Add ``token create|revoke|list``, ``reindex`` and ``backup`` to the ``tg site`` group."""
    token_app = typer.Typer(
        name="token",
        help="Create, revoke and list access tokens.",
        no_args_is_help=True,
        rich_markup_mode=None,
    )
    token_app.command("create")(token_create)
    token_app.command("revoke")(token_revoke)
    token_app.command("list")(token_list)
    site_app.add_typer(token_app)
    site_app.command("reindex")(reindex_command)
    site_app.command("backup")(backup_command)


@contextmanager
def _catalogue(store: Path) -> Iterator[Catalogue]:
    if not (store / "catalogue.sqlite").exists():
        raise SiteError(
            f"{store}: no site store there (no catalogue.sqlite); "
            f"start one with: tg site serve --store {store}"
        )
    with tg_site.Catalogue.open(tg_site.Store(store)) as catalogue:
        yield catalogue


def token_create(
    store: StoreOption,
    role: Annotated[Role, typer.Option("--role", help="What the token may do.")],
    station: Annotated[
        str | None, typer.Option("--station", help="Station tokens: the station id it pushes for.")
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Who or what holds it (station tokens: station-<ID>).")
    ] = None,
    ttl_days: Annotated[
        float | None, typer.Option("--ttl-days", help="Days until it expires (default: never).")
    ] = None,
) -> None:
    """Create a token and print it once (on stdout; only its hash is stored).

    Example: tg site token create --store /srv/tg-site --role station --station st-03 > st-03.token
    """
    if name is None:
        if role is not Role.STATION or not station:
            raise typer.BadParameter(
                f"{role.value} tokens need a --name: who or what holds it", param_hint="--name"
            )
        name = f"station-{station}"
    with _catalogue(store) as catalogue:
        token, info = tg_site.TokenStore(catalogue).create(
            role, name=name, station=station, ttl_days=ttl_days
        )
    err_console.print(f"created {_describe(info)}; it is shown once, keep it in a file with mode 0600")
    typer.echo(token)


def token_revoke(
    store: StoreOption,
    name_or_id: Annotated[str, typer.Argument(help="The token's name or id (tg site token list).")],
) -> None:
    """Revoke a token: every request with it is refused from now on.

    Example: tg site token revoke --store /srv/tg-site station-st-03
    """
    with _catalogue(store) as catalogue:
        info = tg_site.TokenStore(catalogue).revoke(name_or_id)
    console.print(f"revoked {_describe(info)}")


def token_list(store: StoreOption) -> None:
    """List the tokens (never their secrets): name, id, role, station, state, created, expires.

    Example: tg site token list --store /srv/tg-site
    """
    with _catalogue(store) as catalogue:
        infos = tg_site.TokenStore(catalogue).list()
    table = Table(title=f"tokens of {store}", title_justify="left")
    for column in ("name", "id", "role", "station", "state", "created", "expires"):
        table.add_column(column)
    for info in infos:
        table.add_row(
            info.name,
            info.id,
            info.role.value,
            info.station or "",
            info.state(),
            _when(info.created),
            _when(info.expires) if info.expires else "never",
        )
    console.print(table)


def reindex_command(
    store: StoreOption,
    verify_hashes: Annotated[
        bool, typer.Option("--verify-hashes", help="Hash every file again, even unchanged ones.")
    ] = False,
) -> None:
    """Rebuild the catalogue's episode rows from the store's files and report what had drifted.

    Tokens, tasks, selections and the audit log are kept. Exit code 0 either way:
    the catalogue matches the files afterwards.

    Example: tg site reindex --store /srv/tg-site
    """
    with _catalogue(store) as catalogue:
        report = tg_site.reindex(
            tg_site.Store(store), catalogue, tg_site.ReindexOptions(verify_hashes=verify_hashes)
        )
    _print_drift(report)


def backup_command(
    dest: Annotated[
        Path, typer.Argument(help="Backup directory (created; brought up to date if it exists).")
    ],
    store: StoreOption,
) -> None:
    """Back the store up: the catalogue consistently (SQLite online backup), the files incrementally.

    The backup is a store: tg site serve --store DEST starts from it.

    Example: tg site backup /mnt/backup/tg-site --store /srv/tg-site
    """
    report = tg_site.backup(store, dest)
    console.print(
        f"backed up {store} to {dest}: {report.copied} files copied ({report.bytes_copied / 1e6:.1f} MB), "
        f"{report.unchanged} unchanged, {report.removed} removed, in {report.seconds:.1f} s"
    )


def _print_drift(report: DriftReport) -> None:
    console.print(f"reindexed {report.scanned} episodes in {report.seconds:.1f} s")
    rows = [
        ("changed since catalogued (row rebuilt)", report.changed),
        ("file without a row (added)", report.uncatalogued),
        ("row without a file (removed)", report.missing),
    ]
    for label, ids in rows:
        if ids:
            console.print(f"{label}: {len(ids)}")
            for episode_id in ids:
                fields = report.details.get(episode_id, ())
                console.print(
                    f"  {episode_id}" + (f" ({', '.join(fields)})" if fields else ""), highlight=False
                )
    for path, why in report.unreadable:
        console.print(f"not a readable episode, left as it is: {path}: {why}", highlight=False)
    if report.clean:
        console.print("no drift: the catalogue matched the files")


def _describe(info: TokenInfo) -> str:
    station = f" for station {info.station}" if info.station else ""
    expires = f", expires {_when(info.expires)}" if info.expires else ""
    return f"{info.role.value} token {info.name!r} (id {info.id}){station}{expires}"


def _when(ns: int) -> str:
    return dt.datetime.fromtimestamp(ns / 1e9, dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
