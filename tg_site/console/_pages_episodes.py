"""The episodes table (filters, sort, keyset pages, thumbnails) and saving its query as a selection."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from tg_site._query import SORT_KEYS
from tg_site.api import episodes as episodes_api
from tg_site.api._common import site_of
from tg_site.console._filters import ConsoleFilters, FilteredPage, FilterError, filtered_page
from tg_site.console._pages_auth import User
from tg_site.console._session import check_csrf
from tg_site.console._state import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
_SELECTION_NAME = "selection name"


@router.get("/")
def home(user: User) -> Response:
    return RedirectResponse("/dashboard", status_code=303)


@router.get("/episodes")
def episodes_table(request: Request, user: User, cursor: str | None = None) -> Response:
    return _table(request, user, dict(request.query_params), cursor, {})


def _table(
    request: Request,
    user: User,
    params: dict[str, str],
    cursor: str | None,
    errors: dict[str, str],
    status: int = 200,
    saved: str = "",
) -> Response:
    site = site_of(request)
    started = time.perf_counter()
    try:
        filters = ConsoleFilters.from_params(params, site.settings.time_zone)
        page = filtered_page(site.catalogue, filters, cursor or None)
    except FilterError as exc:
        filters, errors, status = exc.filters, {**errors, **exc.errors}, 422
        page = FilteredPage((), None, 0, False)
    return render(
        request,
        user,
        "episodes.html",
        status,
        filters=filters,
        page=page,
        cursor=cursor or "",
        errors=errors,
        saved=saved,
        sort_keys=list(SORT_KEYS),
        selections=site.catalogue.list_selections(),
        server_ms=(time.perf_counter() - started) * 1000,
    )


@router.post("/episodes/selection")
async def save_selection(request: Request, user: User) -> Response:
    """Save the table's filters as a named selection (what ``tg pull --selection NAME`` fetches)."""
    form = await request.form()
    check_csrf(user.csrf, form.get("csrf"))
    params = {k: str(v) for k, v in form.items() if k not in ("csrf", "name")}
    site = site_of(request)
    name = str(form.get("name") or "").strip()
    try:
        filters = ConsoleFilters.from_params(params, site.settings.time_zone)
    except FilterError as exc:
        return _table(request, user, params, None, exc.errors, 422)
    error = _selection_error(name, filters)
    if error:
        return _table(request, user, params, None, {"name": error}, 422)
    query = filters.query()

    def write() -> Any:
        saved = site.catalogue.save_selection(name, query)
        site.catalogue.audit(user.info.name, "selection.save", None, {"name": name, "query": query.to_json()})
        return saved

    await run_in_threadpool(site.write, write)
    return _table(request, user, params, None, {}, saved=name)


def _selection_error(name: str, filters: ConsoleFilters) -> str:
    if not name:
        return "give the selection a name"
    if not all(c.isalnum() or c in "-_." for c in name):
        return f"{name!r}: use letters, digits, '-', '_' and '.' only (tg pull --selection NAME)"
    if filters.scans:
        return (
            "a selection cannot keep the QA check or duration filters (the server resolves selections "
            "with the catalogue's own query); clear them, or save without them"
        )
    return ""


@router.get("/console/episodes/{episode_id}/thumbnail")
def thumbnail(episode_id: str, request: Request, user: User) -> FileResponse:
    return episodes_api.thumbnail(episode_id, request, user.info)


@router.get("/console/episodes/{episode_id}/frames/{stream}/{index}")
def frame(episode_id: str, stream: str, index: int, request: Request, user: User) -> Response:
    """The stored frame bytes, as the API serves them, for the signed-in browser (cached: immutable)."""
    response = episodes_api.frame(episode_id, stream, index, request, user.info)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@router.get("/console/episodes/{episode_id}/timeseries/{stream}")
def timeseries(episode_id: str, stream: str, request: Request, user: User, max_points: int = 2000) -> Any:
    return episodes_api.timeseries(episode_id, stream, request, user.info, max_points)
