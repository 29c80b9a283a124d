"""Who may call what: bearer tokens checked against the token store, roles per endpoint, rate limits.

Every endpoint but ``/healthz`` and ``/readyz`` takes a dependency from
:func:`require`; it answers 401 for a missing, unknown, revoked or expired
token, 403 for a role that may not do this and 429 past the token's rate.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from fastapi import Request

from tg_site._errors import SiteError
from tg_site._tokens import Role, TokenError, TokenInfo, TokenStore

__all__ = ["ForbiddenError", "RateLimitedError", "RateLimiter", "TokenCheck", "require"]

_WINDOW_S = 60.0


class ForbiddenError(SiteError):
    """The token is valid but its role (or station) may not do this (HTTP 403)."""


class RateLimitedError(SiteError):
    """Too many requests from one token or address in the last minute (HTTP 429)."""


class RateLimiter:
    """At most ``per_minute`` events per key in any 60 s window (sliding, in memory)."""

    def __init__(self, per_minute: int, what: str) -> None:
        self._per_minute = per_minute
        self._what = what
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> None:
        now = time.monotonic()
        with self._lock:
            events = self._events.setdefault(key, deque())
            while events and events[0] <= now - _WINDOW_S:
                events.popleft()
            if len(events) >= self._per_minute:
                wait = events[0] + _WINDOW_S - now
                raise RateLimitedError(
                    f"{self._what} {key}: more than {self._per_minute} requests a minute; "
                    f"wait {wait:.0f} s and try again"
                )
            events.append(now)


class TokenCheck:
    """Verifies ``Authorization: Bearer <token>`` and applies the per-token rate limit."""

    def __init__(self, tokens: TokenStore, limiter: RateLimiter) -> None:
        self._tokens = tokens
        self._limiter = limiter

    def __call__(self, header: str | None) -> TokenInfo:
        scheme, _, token = (header or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise TokenError(
                "this endpoint needs a token: send 'Authorization: Bearer <token>' "
                "(tg reads it from TG_SITE_TOKEN or --token-file)"
            )
        info = self._tokens.verify(token.strip())
        self._limiter.hit(f"token {info.name}")
        return info


def require(*roles: Role) -> Callable[[Request], TokenInfo]:
    """A FastAPI dependency: the caller's token, which must have one of ``roles`` (admin always may)."""
    allowed = {*roles, Role.ADMIN}

    def dependency(request: Request) -> TokenInfo:
        check: TokenCheck = request.app.state.site.token_check
        info = check(request.headers.get("authorization"))
        if info.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise ForbiddenError(
                f"{request.method} {request.url.path}: a {info.role.value} token may not do this "
                f"(needs one of: {names})"
            )
        return info

    return dependency
