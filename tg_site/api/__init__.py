"""The site's HTTP routes, versioned under ``/api/v1`` (health, readiness and metrics at the root)."""

from __future__ import annotations

from fastapi import APIRouter

from tg_site.api import collections, episodes, ops, stations, status, tokens, uploads
from tg_site.api._common import NotFoundError

__all__ = ["ROUTERS", "NotFoundError"]

ROUTERS: tuple[APIRouter, ...] = (
    ops.router,
    uploads.router,
    episodes.router,
    collections.router,
    tokens.router,
    status.router,
    stations.router,
)
