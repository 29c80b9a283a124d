"""``/api/v1/tasks`` and ``/api/v1/selections``: what to record, and saved queries to pull."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from tg_site._errors import SiteError
from tg_site._query import EpisodeQuery
from tg_site._tasks import TaskSpec
from tg_site.api._common import Admin, NotFoundError, Reader, site_of
from tg_site.api.episodes import manifest_of

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["tasks and selections"])


@router.post("/tasks", status_code=201)
async def create_task(request: Request, token: Admin) -> dict[str, Any]:
    """A new task: name, robot profile, instructions, target episodes or hours, priority, assignment."""
    site = site_of(request)
    spec = TaskSpec.from_json(await request.json())

    def write() -> dict[str, Any]:
        task = site.catalogue.create_task(spec)
        site.catalogue.audit(token.name, "task.create", None, task.to_json())
        return task.to_json()

    return await run_in_threadpool(site.write, write)


@router.patch("/tasks/{task_id}")
async def update_task(task_id: str, request: Request, token: Admin) -> dict[str, Any]:
    """Change a task's fields (any of POST's, plus ``active``): rename, reword, retarget, reassign, close.

    Stations fetch their assignment every few seconds, so a reassigned task is the next episode's.
    """
    site = site_of(request)
    changes = await request.json()
    if not isinstance(changes, dict):
        raise SiteError(
            f'PATCH /api/v1/tasks/{task_id} takes an object of task fields, e.g. {{"priority": 2}}'
        )

    def write() -> dict[str, Any]:
        before, after = site.catalogue.update_task(task_id, changes)
        site.catalogue.audit(
            token.name, "task.update", None, {"before": before.to_json(), "after": after.to_json()}
        )
        return after.to_json()

    return await run_in_threadpool(site.write, write)


@router.get("/tasks")
def list_tasks(request: Request, token: Reader) -> dict[str, Any]:
    return {"tasks": [t.to_json() for t in site_of(request).catalogue.list_tasks()]}


@router.get("/tasks/{task_id}")
def get_task(task_id: str, request: Request, token: Reader) -> dict[str, Any]:
    """A task and its progress (episodes and hours recorded and approved, share of the target)."""
    catalogue = site_of(request).catalogue
    return {**catalogue.get_task(task_id).to_json(), "progress": catalogue.task_progress(task_id).to_json()}


@router.put("/selections/{name}")
async def save_selection(name: str, request: Request, token: Reader) -> dict[str, Any]:
    """Save the query in the body (EpisodeQuery fields) under ``name``."""
    site = site_of(request)
    query = EpisodeQuery.from_json(await request.json())

    def write() -> dict[str, Any]:
        saved = site.catalogue.save_selection(name, query)
        site.catalogue.audit(token.name, "selection.save", None, {"name": name, "query": query.to_json()})
        return saved.to_json()

    return await run_in_threadpool(site.write, write)


@router.get("/selections")
def list_selections(request: Request, token: Reader) -> dict[str, Any]:
    return {"selections": [s.to_json() for s in site_of(request).catalogue.list_selections()]}


@router.get("/selections/{name}/manifest")
def selection_manifest(name: str, request: Request, token: Reader) -> dict[str, Any]:
    """The episodes the selection matches now: id, file SHA-256, size (what ``tg pull`` fetches)."""
    catalogue = site_of(request).catalogue
    found = next((s for s in catalogue.list_selections() if s.name == name), None)
    if found is None:
        raise NotFoundError(
            f"no selection named {name!r} on this site; save one with PUT /api/v1/selections/{name}"
        )
    return {"name": name, "episodes": [e.to_json() for e in manifest_of(catalogue, found.query)]}
