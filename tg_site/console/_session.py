"""Console sign-in: a token typed once becomes a server-side session behind an HttpOnly cookie.

The cookie holds only a random session id (``SameSite=Strict``, ``Secure`` when the
site serves TLS); the token itself stays in this process's memory and is checked
again on every request, so a revoked or expired token ends its sessions at once.
Every form carries the session's CSRF token (the sign-in form a cookie-bound one).
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

from fastapi import Request, Response

from tg_site._auth import ForbiddenError
from tg_site._tokens import Role, TokenError, TokenInfo
from tg_site.api._common import site_of
from tg_site.console._errors import CsrfError, LoginRequiredError

__all__ = [
    "CONSOLE_ROLES",
    "LOGIN_CSRF_COOKIE",
    "SESSION_COOKIE",
    "ConsoleSession",
    "Sessions",
    "check_csrf",
    "console_user",
    "sessions_of",
    "set_session_cookie",
]

SESSION_COOKIE = "tg_session"
LOGIN_CSRF_COOKIE = "tg_login_csrf"
SESSION_TTL_S = 12 * 3600.0
CONSOLE_ROLES = frozenset({Role.REVIEWER, Role.RESEARCHER, Role.ADMIN})


@dataclass(frozen=True)
class ConsoleSession:
    """One signed-in browser: who, with which role, and the CSRF token of its forms."""

    session_id: str
    token: str
    info: TokenInfo
    csrf: str
    expires_at: float

    @property
    def may_review(self) -> bool:
        return self.info.role in (Role.REVIEWER, Role.ADMIN)

    @property
    def is_admin(self) -> bool:
        return self.info.role is Role.ADMIN


class Sessions:
    """The server's signed-in browsers, in memory (a restart signs everyone out)."""

    def __init__(self) -> None:
        self._sessions: dict[str, ConsoleSession] = {}
        self._lock = threading.Lock()

    def create(self, token: str, info: TokenInfo) -> ConsoleSession:
        if info.role not in CONSOLE_ROLES:
            raise ForbiddenError(
                f"a {info.role.value} token cannot sign in to the console; "
                "use a reviewer, researcher or admin token (tg site token create --role reviewer --name ...)"
            )
        session = ConsoleSession(
            secrets.token_urlsafe(32), token, info, secrets.token_urlsafe(32), time.time() + SESSION_TTL_S
        )
        with self._lock:
            self._drop_expired()
            self._sessions[session.session_id] = session
        return session

    def get(self, session_id: str) -> ConsoleSession | None:
        with self._lock:
            found = self._sessions.get(session_id)
            if found is not None and found.expires_at < time.time():
                del self._sessions[session_id]
                return None
            return found

    def drop(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)

    def _drop_expired(self) -> None:
        now = time.time()
        for key in [k for k, s in self._sessions.items() if s.expires_at < now]:
            del self._sessions[key]


def sessions_of(request: Request) -> Sessions:
    sessions: Sessions = request.app.state.console.sessions
    return sessions


def console_user(request: Request) -> ConsoleSession:
    """A FastAPI dependency: the signed-in session (its token checked again), or a redirect to sign in."""
    session = sessions_of(request).get(request.cookies.get(SESSION_COOKIE, ""))
    if session is None:
        raise LoginRequiredError("sign in with a reviewer, researcher or admin token")
    try:
        site_of(request).tokens.verify(session.token)
    except TokenError:
        sessions_of(request).drop(session.session_id)
        raise LoginRequiredError(
            "your token was revoked or has expired; sign in with a current one"
        ) from None
    return session


def check_csrf(expected: str, sent: object) -> None:
    """Refuse a form whose CSRF field is not ``expected`` (compared in constant time)."""
    if not isinstance(sent, str) or not secrets.compare_digest(expected.encode(), sent.encode()):
        raise CsrfError(
            "this form's security token is missing or out of date (CSRF check); reload the page and try again"
        )


def set_session_cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    """An HttpOnly, SameSite=Strict cookie, Secure when the request came over TLS."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
