"""Health, readiness and Prometheus metrics: what a supervisor and a monitoring system ask."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from tg_site._auth import require
from tg_site._state import SiteState
from tg_site._tokens import Role, TokenInfo

__all__ = ["router"]

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process answers (no token needed)."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    """Store and catalogue open, interrupted arrivals queued again: ready for uploads (no token needed)."""
    site: SiteState | None = getattr(request.app.state, "site", None)
    if site is None or not site.ready:
        return JSONResponse({"status": "starting"}, status_code=503)
    return JSONResponse({"status": "ready", "queue_depth": site.arrivals.depth})


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(request: Request, token: Annotated[TokenInfo, Depends(require(*Role))]) -> PlainTextResponse:
    """Prometheus text: arrivals, bytes, queue depth, time per stage, stations seen, push lag."""
    site: SiteState = request.app.state.site
    return PlainTextResponse(
        site.metrics.render(queue_depth=site.arrivals.depth), media_type="text/plain; version=0.0.4"
    )
