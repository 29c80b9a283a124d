"""Adding the console to the site's app: its pages at ``/``, static files at ``/static``, HTML errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import cast
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from tg_site._errors import SiteError
from tg_site.console import (
    _pages_auth,
    _pages_dashboard,
    _pages_episodes,
    _pages_review,
    _pages_stations,
    _pages_tasks,
)
from tg_site.console._errors import LoginRequiredError
from tg_site.console._session import console_user
from tg_site.console._state import ConsoleState, render, static_dir

__all__ = ["mount_console"]

Handler = Callable[[Request, Exception], Awaitable[Response]]


def mount_console(app: FastAPI, store: Path, status_of: Callable[[Exception], int]) -> None:
    """Serve the console of the site at ``store`` from ``app``; ``status_of`` maps errors to HTTP statuses.

    Errors under ``/api/`` keep the API's JSON answers; on a page they are an HTML page
    with the message (a missing session: a redirect to the sign-in form).
    """
    app.state.console = ConsoleState(store)
    api_handler = cast(Handler, app.exception_handlers[SiteError])

    async def site_error(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith("/api/"):
            return await api_handler(request, exc)
        if isinstance(exc, LoginRequiredError):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        try:
            session = console_user(request)
        except SiteError:
            session = None
        return render(request, session, "error.html", status_of(exc), message=str(exc))

    app.exception_handlers[SiteError] = site_error
    for module in (
        _pages_auth,
        _pages_episodes,
        _pages_review,
        _pages_tasks,
        _pages_dashboard,
        _pages_stations,
    ):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=static_dir()), name="static")
