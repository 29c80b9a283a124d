"""The site's HTTP application: routes under ``/api/v1``, errors as JSON with the right status.

>>> from pathlib import Path
>>> app = create_app(SiteSettings(Path("/tmp/tg-site-doc")))
>>> app.title
'Training Ground site'
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect

from tg_base import __version__
from tg_site._auth import ForbiddenError, RateLimitedError
from tg_site._catalogue import UnknownTaskError
from tg_site._errors import SiteError
from tg_site._messages import MessageError
from tg_site._review import StaleReviewError
from tg_site._settings import SiteSettings
from tg_site._state import SiteState
from tg_site._store import EpisodeExistsInStoreError, InvalidEpisodeIdError
from tg_site._tokens import TokenError
from tg_site._upload import StoreFullError, UploadConflictError, UploadError, UploadTooLargeError
from tg_site.api import ROUTERS, NotFoundError
from tg_site.console import CsrfError, mount_console

__all__ = ["STATUS", "create_app"]

_log = logging.getLogger("tg_site")
_PURGE_EVERY_S = 3600.0

# Each error class's HTTP status; the most specific class in an error's MRO wins.
STATUS: dict[type[Exception], int] = {
    SiteError: 400,
    UploadError: 400,
    InvalidEpisodeIdError: 400,
    TokenError: 401,
    ForbiddenError: 403,
    CsrfError: 403,
    NotFoundError: 404,
    UnknownTaskError: 404,
    UploadConflictError: 409,
    EpisodeExistsInStoreError: 409,
    StaleReviewError: 409,
    UploadTooLargeError: 413,
    MessageError: 422,
    RateLimitedError: 429,
    StoreFullError: 507,
}


def _status_of(exc: Exception) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


async def _site_error(request: Request, exc: Exception) -> JSONResponse:
    status = _status_of(exc)
    body: dict[str, object] = {"detail": str(exc)}
    current = getattr(exc, "current", None)  # a stale review answers with the state that won
    if current is not None:
        body["current"] = current
    return JSONResponse(body, status_code=status)


def create_app(settings: SiteSettings) -> FastAPI:
    """The app serving the store ``settings.store``; it opens the store when it starts."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        site = await asyncio.to_thread(SiteState, settings)
        app.state.site = site
        await asyncio.to_thread(site.start)
        # The first purge belongs to the start: what --trash-days expired is gone before the
        # server answers (readiness included), then once an hour.
        await _purge_once(site)
        purger = asyncio.create_task(_purge_periodically(site))
        _log.info("site ready: store %s", settings.store)
        try:
            yield
        finally:
            purger.cancel()
            await asyncio.to_thread(site.close)

    app = FastAPI(
        title="Training Ground site",
        version=__version__,
        lifespan=lifespan,
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    app.add_exception_handler(SiteError, _site_error)
    app.add_exception_handler(ClientDisconnect, _disconnected)
    for router in ROUTERS:
        app.include_router(router)
    mount_console(app, settings.store, _status_of)
    return app


async def _disconnected(request: Request, exc: Exception) -> JSONResponse:
    # Nobody reads this answer; what reached the disk stays as the upload's offset.
    return JSONResponse({"detail": "client disconnected"}, status_code=400)


async def _purge_periodically(site: SiteState) -> None:
    while True:
        await asyncio.sleep(_PURGE_EVERY_S)
        await _purge_once(site)


async def _purge_once(site: SiteState) -> None:
    try:
        purged = await asyncio.to_thread(site.purge_trash)
        if purged:
            _log.info("purged %d episode(s) from the trash: %s", len(purged), ", ".join(purged))
    except Exception:
        _log.exception("emptying the trash failed; trying again in an hour")
