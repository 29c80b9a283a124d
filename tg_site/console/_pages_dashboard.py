"""The dashboard: per-day figures, QA pass rate and top findings, review backlog, task progress."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tg_site.api._common import site_of
from tg_site.console._errors import ConsoleError
from tg_site.console._pages_auth import User
from tg_site.console._pages_tasks import remaining
from tg_site.console._state import console_of, render
from tg_site.console._stats import dashboard

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
_MAX_DAYS = 92


@router.get("/dashboard")
def dashboard_page(request: Request, user: User, days: int = 14) -> Response:
    if not 1 <= days <= _MAX_DAYS:
        raise ConsoleError(f"days={days}: show 1 to {_MAX_DAYS} days")
    site = site_of(request)
    catalogue = site.catalogue
    tasks = [(t, catalogue.task_progress(t.task_id)) for t in catalogue.list_tasks()]
    return render(
        request,
        user,
        "dashboard.html",
        board=console_of(request).cached(
            ("dashboard", days), lambda: dashboard(catalogue, days, site.settings.time_zone)
        ),
        tasks=[(t, p, remaining(t, p)) for t, p in sorted(tasks, key=lambda tp: -tp[0].spec.priority)],
    )
