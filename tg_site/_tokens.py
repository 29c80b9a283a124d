"""Access tokens: a role, an optional station, an expiry; only a hash of each is stored.

A token reads ``tgs_<id>_<secret>``: the id finds its row in one lookup, the
secret is compared (in constant time) by its SHA-256, so the catalogue, its
backups and the audit log never hold anything a client could present.

>>> import tempfile
>>> from pathlib import Path
>>> from tg_site import Catalogue, Store
>>> catalogue = Catalogue.open(Store(Path(tempfile.mkdtemp())))
>>> token, info = TokenStore(catalogue).create(Role.REVIEWER, name="ana")
>>> TokenStore(catalogue).verify(token).role
<Role.REVIEWER: 'reviewer'>
>>> catalogue.close()
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import or_, select

from tg_site._catalogue import Catalogue
from tg_site._errors import SiteError
from tg_site._models import TokenRow
from tg_site._roles import Role

__all__ = ["Role", "TokenError", "TokenInfo", "TokenStore"]

_PREFIX = "tgs"
_TOKEN = re.compile(rf"^{_PREFIX}_([0-9a-f]{{12}})_([A-Za-z0-9_-]{{20,}})$")
_NS_PER_DAY = 86_400 * 10**9


class TokenError(SiteError):
    """A token that is unknown (or malformed), revoked or expired; or a token request that cannot be met."""


@dataclass(frozen=True)
class TokenInfo:
    """A token's description (never its secret). Times are Unix ns; ``expires`` None: never."""

    id: str
    name: str
    role: Role
    station: str | None
    created: int
    expires: int | None
    revoked: int | None

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) if f.name != "role" else self.role.value for f in fields(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TokenInfo:
        values = {f.name: data[f.name] for f in fields(cls)}
        return cls(**{**values, "role": Role(values["role"])})

    def state(self, now_ns: int | None = None) -> str:
        """``active``, ``revoked`` or ``expired``."""
        if self.revoked is not None:
            return "revoked"
        now = time.time_ns() if now_ns is None else now_ns
        return "expired" if self.expires is not None and self.expires <= now else "active"


class TokenStore:
    """The site's tokens, kept in its catalogue."""

    def __init__(self, catalogue: Catalogue) -> None:
        self._catalogue = catalogue

    def create(
        self, role: Role, *, name: str, station: str | None = None, ttl_days: float | None = None
    ) -> tuple[str, TokenInfo]:
        """A new token: its text (shown once; only its hash is kept) and its description.

        A station token needs ``station`` (the station id it may push for); other
        roles take none. ``ttl_days`` None: the token does not expire.
        """
        role = Role(role)
        if role is Role.STATION and not station:
            raise TokenError("a station token needs the station id it pushes for (--station ID)")
        if role is not Role.STATION and station:
            raise TokenError(
                f"only station tokens name a station; {role.value} tokens do not (drop --station)"
            )
        if not name.strip():
            raise TokenError("a token needs a name (--name), e.g. the person or machine that holds it")
        if ttl_days is not None and ttl_days <= 0:
            raise TokenError(f"--ttl-days must be positive, got {ttl_days}")
        token_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        token = f"{_PREFIX}_{token_id}_{secret}"
        now = time.time_ns()
        row = TokenRow(
            token_id=token_id,
            name=name,
            role=role.value,
            station=station,
            secret_sha256=_hash(token),
            created_ns=now,
            expires_ns=None if ttl_days is None else now + int(ttl_days * _NS_PER_DAY),
            revoked_ns=None,
        )
        with self._catalogue.session() as s, s.begin():
            if s.scalars(select(TokenRow).where(TokenRow.name == name)).first() is not None:
                raise TokenError(f"a token named {name!r} exists already; revoke it or choose another name")
            s.add(row)
        return token, _info(row)

    def verify(self, token: str) -> TokenInfo:
        """The description of a valid token; TokenError says why another is refused."""
        match = _TOKEN.match(token or "")
        with self._catalogue.session() as s:
            row = s.get(TokenRow, match.group(1)) if match else None
        if row is None or not hmac.compare_digest(row.secret_sha256, _hash(token)):
            raise TokenError("unknown token: it was never issued by this site (or is mistyped)")
        return _valid(_info(row))

    def verify_id(self, token_id: str) -> TokenInfo:
        """The token with this id if it is still valid (a console session holds the id, not the token)."""
        with self._catalogue.session() as s:
            row = s.get(TokenRow, token_id)
        if row is None:
            raise TokenError(f"no token with id {token_id!r} on this site any more")
        return _valid(_info(row))

    def revoke(self, name_or_id: str) -> TokenInfo:
        """Revoke the token of that name or id (revoking twice is harmless)."""
        with self._catalogue.session() as s, s.begin():
            statement = select(TokenRow).where(
                or_(TokenRow.name == name_or_id, TokenRow.token_id == name_or_id)
            )
            row = s.scalars(statement).first()
            if row is None:
                raise TokenError(
                    f"no token named {name_or_id!r} (or with that id); list them with tg site token list"
                )
            if row.revoked_ns is None:
                row.revoked_ns = time.time_ns()
            return _info(row)

    def list(self) -> list[TokenInfo]:
        """Every token, revoked and expired ones included, oldest first."""
        with self._catalogue.session() as s:
            return [_info(r) for r in s.scalars(select(TokenRow).order_by(TokenRow.created_ns))]


def _valid(info: TokenInfo) -> TokenInfo:
    """``info`` unless its token was revoked or has expired (TokenError says which)."""
    state = info.state()
    if state == "revoked":
        raise TokenError(f"token {info.name!r} was revoked; ask an admin for a new one")
    if state == "expired":
        raise TokenError(f"token {info.name!r} has expired; ask an admin for a new one")
    return info


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _info(row: TokenRow) -> TokenInfo:
    return TokenInfo(
        row.token_id, row.name, Role(row.role), row.station, row.created_ns, row.expires_ns, row.revoked_ns
    )
