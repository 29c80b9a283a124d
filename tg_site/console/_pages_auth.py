"""Sign in with a token, sign out, choose the language."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from tg_site._auth import ForbiddenError
from tg_site._tokens import TokenError
from tg_site.api._common import site_of
from tg_site.console._session import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    SESSION_TTL_S,
    ConsoleSession,
    check_csrf,
    console_user,
    sessions_of,
    set_session_cookie,
)
from tg_site.console._state import console_of, render

__all__ = ["User", "router", "safe_next"]

router = APIRouter(include_in_schema=False)
User = Annotated[ConsoleSession, Depends(console_user)]


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site only (never ``//host`` or a URL)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    csrf = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = render(request, None, "login.html", csrf=csrf, next=safe_next(next), error="")
    set_session_cookie(response, request, LOGIN_CSRF_COOKIE, csrf, 3600)
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    """Check the token (the site's sign-in rate limit applies) and open a session."""
    form = await request.form()
    site = site_of(request)
    csrf = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    target = safe_next(str(form.get("next") or "/"))
    check_csrf(csrf or secrets.token_urlsafe(8), form.get("csrf"))
    site.logins.hit(request.client.host if request.client is not None else "unknown")
    token = str(form.get("token") or "").strip()
    try:
        info = await run_in_threadpool(site.tokens.verify, token)
        session = await run_in_threadpool(sessions_of(request).create, info)
    except (TokenError, ForbiddenError) as exc:
        return render(request, None, "login.html", 401, csrf=csrf, next=target, error=str(exc))
    await run_in_threadpool(site.write, lambda: site.catalogue.audit(info.name, "console.login", None, {}))
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, request, SESSION_COOKIE, session.session_id, int(SESSION_TTL_S))
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


@router.post("/logout")
async def logout(request: Request, user: User) -> Response:
    form = await request.form()
    check_csrf(user.csrf, form.get("csrf"))
    await run_in_threadpool(sessions_of(request).drop, user.session_id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/language")
async def language(request: Request, user: User) -> Response:
    """Save the user's language (by token name: it follows them to another browser)."""
    form = await request.form()
    check_csrf(user.csrf, form.get("csrf"))
    chosen = str(form.get("language") or "")
    await run_in_threadpool(console_of(request).preferences.set_language, user.info.name, chosen)
    return RedirectResponse(safe_next(str(form.get("next") or "/")), status_code=303)
