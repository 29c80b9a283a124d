"""Console sign-in: a token typed once becomes a server-side session behind an HttpOnly cookie.

The cookie holds only a random session id (``SameSite=Strict``, ``Secure`` when the
site serves TLS); the catalogue keeps its hash and the token's id (never the token),
and the token is checked again on every request, so a revoked or expired token ends
its sessions at once, while a server restart ends none.
Every form carries the session's CSRF token (the sign-in form a cookie-bound one).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request, Response
from sqlalchemy import delete

from tg_site._auth import ForbiddenError
from tg_site._catalogue import Catalogue
from tg_site._models import ConsoleSessionRow
from tg_site._tokens import Role, TokenError, TokenInfo, TokenStore
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
    """The site's signed-in browsers, kept in the catalogue: a server restart signs nobody out.

    Only the SHA-256 of a session id is stored (a catalogue backup opens no browser's
    session) with its token's id: the token is checked on every request, so revoking
    it (or its expiry) ends its sessions; a session also ends after ``SESSION_TTL_S``.
    Writes go through ``write`` (the site's one catalogue writer).
    """

    def __init__(
        self, catalogue: Catalogue, tokens: TokenStore, write: Callable[[Callable[[], None]], None]
    ) -> None:
        self._catalogue = catalogue
        self._tokens = tokens
        self._write = write

    def create(self, info: TokenInfo) -> ConsoleSession:
        """A new session of the token ``info`` (expired sessions are removed now)."""
        if info.role not in CONSOLE_ROLES:
            raise ForbiddenError(
                f"a {info.role.value} token cannot sign in to the console; "
                "use a reviewer, researcher or admin token (tg site token create --role reviewer --name ...)"
            )
        now = time.time_ns()
        session = ConsoleSession(
            secrets.token_urlsafe(32), info, secrets.token_urlsafe(32), now / 1e9 + SESSION_TTL_S
        )
        row = ConsoleSessionRow(
            session_sha256=_hash(session.session_id),
            token_id=info.id,
            csrf=session.csrf,
            created_ns=now,
            expires_ns=now + int(SESSION_TTL_S * 1e9),
        )

        def add() -> None:
            with self._catalogue.session() as s, s.begin():
                s.execute(delete(ConsoleSessionRow).where(ConsoleSessionRow.expires_ns < now))
                s.add(row)

        self._write(add)
        return session

    def get(self, session_id: str) -> ConsoleSession | None:
        """The session of this cookie value (None: none, or expired); TokenError if its token is no
        longer valid (the session is removed then)."""
        if not session_id:
            return None
        with self._catalogue.session() as s:
            row = s.get(ConsoleSessionRow, _hash(session_id))
        if row is None or row.expires_ns < time.time_ns():
            return None
        try:
            info = self._tokens.verify_id(row.token_id)
        except TokenError:
            self.drop(session_id)
            raise
        return ConsoleSession(session_id, info, row.csrf, row.expires_ns / 1e9)

    def drop(self, session_id: str) -> None:
        """End the session (signing out)."""

        def remove() -> None:
            with self._catalogue.session() as s, s.begin():
                s.execute(
                    delete(ConsoleSessionRow).where(ConsoleSessionRow.session_sha256 == _hash(session_id))
                )

        self._write(remove)


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def sessions_of(request: Request) -> Sessions:
    site = site_of(request)
    return Sessions(site.catalogue, site.tokens, site.write)


def console_user(request: Request) -> ConsoleSession:
    """A FastAPI dependency: the signed-in session (its token checked again), or a redirect to sign in."""
    try:
        session = sessions_of(request).get(request.cookies.get(SESSION_COOKIE, ""))
    except TokenError:
        raise LoginRequiredError(
            "your token was revoked or has expired; sign in with a current one"
        ) from None
    if session is None:
        raise LoginRequiredError("sign in with a reviewer, researcher or admin token")
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
