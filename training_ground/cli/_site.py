"""`tg site serve` (the site server) and the `site` command group site administration adds to."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tg_exec import ExecutorOptions
from tg_site import SiteSettings, TlsFiles, parse_size
from training_ground.cli._executor import ExecutorOption, RayAddressOption
from training_ground.cli._site_admin import register_admin

__all__ = ["site_app"]

site_app = typer.Typer(
    name="site",
    help="The site server: serve a store, manage its tokens, reindex and back it up.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@site_app.command("serve")
def serve_command(
    store: Annotated[
        Path, typer.Option("--store", help="Store directory (created with its catalogue on first start).")
    ],
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (0.0.0.0: every interface).")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", help="TCP port (0: any free one; the URL is printed).")
    ] = 8470,
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="Arrival worker processes (or CPUs of a private Ray).")
    ] = 2,
    tls_cert: Annotated[
        Path | None, typer.Option("--tls-cert", help="PEM certificate chain: serve HTTPS.")
    ] = None,
    tls_key: Annotated[Path | None, typer.Option("--tls-key", help="PEM private key of --tls-cert.")] = None,
    min_free: Annotated[
        str,
        typer.Option(
            "--min-free", help="Refuse uploads (507) that would leave less free on the store's disk."
        ),
    ] = "2GB",
    max_upload: Annotated[str, typer.Option("--max-upload", help="Largest episode file accepted.")] = "16GB",
    trash_days: Annotated[
        float,
        typer.Option("--trash-days", help="Days a deleted episode stays in the trash before it is purged."),
    ] = 30.0,
    time_zone: Annotated[
        str, typer.Option("--time-zone", help="The site's time zone for per-day figures.")
    ] = "UTC",
    requests_per_minute: Annotated[
        int, typer.Option("--requests-per-minute", min=1, help="Per token; more are refused with 429.")
    ] = 6000,
    logins_per_minute: Annotated[
        int, typer.Option("--logins-per-minute", min=1, help="Console sign-ins per client address.")
    ] = 10,
    executor: ExecutorOption = None,
    ray_address: RayAddressOption = None,
) -> None:
    """Serve the store: uploads, arrival checks, catalogue and the /api/v1 API, until Ctrl-C or SIGTERM.

    Example: tg site serve --store /srv/tg-site --host 0.0.0.0
    """
    if (tls_cert is None) != (tls_key is None):
        raise typer.BadParameter("give both --tls-cert and --tls-key, or neither", param_hint="--tls-cert")
    settings = SiteSettings(
        store=store,
        host=host,
        port=port,
        workers=workers,
        tls=TlsFiles(tls_cert, tls_key) if tls_cert is not None and tls_key is not None else None,
        min_free_bytes=parse_size(min_free),
        max_upload_bytes=parse_size(max_upload),
        trash_days=trash_days,
        time_zone=time_zone,
        requests_per_minute=requests_per_minute,
        logins_per_minute=logins_per_minute,
        executor=ExecutorOptions.resolve(executor, address=ray_address),
    )
    settings.executor.check()  # an unreachable cluster is one line now, not a failed start later
    # Imported here: FastAPI and uvicorn take half a second that every other tg command would pay.
    from tg_site._serve import serve

    serve(settings)


register_admin(site_app)
