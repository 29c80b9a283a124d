"""``/api/v1/tokens`` (admin): create (the secret is shown once), list, revoke."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from tg_site._messages import MessageError
from tg_site._tokens import Role, TokenError, TokenInfo
from tg_site.api._common import Admin, site_of

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"])


def _info(info: TokenInfo) -> dict[str, Any]:
    return info.to_json()


@router.post("", status_code=201)
async def create_token(request: Request, token: Admin) -> dict[str, Any]:
    """``{role, name, station?, ttl_days?}``: a new token; its secret is in this answer only."""
    site = site_of(request)
    body = await request.json()
    if not isinstance(body, dict) or body.get("role") not in {r.value for r in Role}:
        raise MessageError(f"token: field 'role' must be one of {', '.join(r.value for r in Role)}")
    role = Role(body["role"])
    name, station, ttl = body.get("name"), body.get("station"), body.get("ttl_days")

    def write() -> dict[str, Any]:
        try:
            secret, info = site.tokens.create(role, name=str(name or ""), station=station, ttl_days=ttl)
        except TokenError as exc:  # a request the admin can fix, not a bad token of theirs
            raise MessageError(str(exc)) from None
        site.catalogue.audit(token.name, "token.create", None, {"name": info.name, "role": role.value})
        return {"token": secret, **_info(info)}

    return await run_in_threadpool(site.write, write)


@router.get("")
def list_tokens(request: Request, token: Admin) -> dict[str, Any]:
    return {"tokens": [_info(t) for t in site_of(request).tokens.list()]}


@router.delete("/{name}")
def revoke_token(name: str, request: Request, token: Admin) -> dict[str, Any]:
    site = site_of(request)

    def write() -> dict[str, Any]:
        info = site.tokens.revoke(name)
        site.catalogue.audit(token.name, "token.revoke", None, {"name": info.name})
        return _info(info)

    return site.write(write)
