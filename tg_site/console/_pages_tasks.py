"""The task board: every task with recorded, approved and remaining; an admin defines and assigns tasks."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from tg_site._auth import ForbiddenError
from tg_site._tasks import Task, TaskProgress, TaskSpec
from tg_site.api._common import site_of
from tg_site.console._pages_auth import User
from tg_site.console._session import check_csrf
from tg_site.console._state import render

__all__ = ["form_values", "remaining", "router", "spec_from_form"]

router = APIRouter(include_in_schema=False)
_MAX_NUMBER = 1_000_000_000
_FIELDS = (
    "name",
    "robot_profile",
    "instructions",
    "target_episodes",
    "target_hours",
    "priority",
    "stations",
    "operators",
)


def remaining(task: Task, progress: TaskProgress) -> str:
    """What is left to approve: episodes and/or hours (``—`` without a target)."""
    left = []
    if task.spec.target_episodes:
        left.append(f"{max(0, task.spec.target_episodes - progress.approved)} ep")
    if task.spec.target_hours:
        left.append(f"{max(0.0, task.spec.target_hours - progress.approved_hours):.2f} h")
    return " · ".join(left) or "—"


@router.get("/tasks")
def task_board(request: Request, user: User) -> Response:
    return _board(request, user, {}, {})


def _board(
    request: Request, user: User, values: dict[str, str], errors: dict[str, str], status: int = 200
) -> Response:
    catalogue = site_of(request).catalogue
    tasks = sorted(catalogue.list_tasks(), key=lambda t: (-t.spec.priority, t.spec.name))
    rows = [(t, catalogue.task_progress(t.task_id)) for t in tasks]
    return render(
        request,
        user,
        "tasks.html",
        status,
        rows=[(t, p, remaining(t, p)) for t, p in rows],
        values={name: values.get(name, "") for name in _FIELDS},
        errors=errors,
    )


@router.post("/tasks")
async def create_task(request: Request, user: User) -> Response:
    """Define a task and assign it (admin only); the form says what is wrong next to the field."""
    form = {k: str(v) for k, v in (await request.form()).items()}
    check_csrf(user.csrf, form.get("csrf"))
    _must_be_admin(user, "define tasks")
    spec, errors = spec_from_form(form)
    if spec is None:
        return await run_in_threadpool(_board, request, user, form, errors, 422)
    site = site_of(request)

    def write() -> Task:
        task = site.catalogue.create_task(spec)
        site.catalogue.audit(user.info.name, "task.create", None, task.to_json())
        return task

    await run_in_threadpool(site.write, write)
    return RedirectResponse("/tasks", status_code=303)


@router.get("/tasks/{task_id}/edit")
def edit_task_page(task_id: str, request: Request, user: User) -> Response:
    """A task's form filled in with what it is now (admin only)."""
    _must_be_admin(user, "edit tasks")
    task = site_of(request).catalogue.get_task(task_id)
    return _edit_page(request, user, task, form_values(task.spec), {})


@router.post("/tasks/{task_id}")
async def edit_task(task_id: str, request: Request, user: User) -> Response:
    """Rename, reword, retarget, reassign or close a task (audited as the API's PATCH is)."""
    form = {k: str(v) for k, v in (await request.form()).items()}
    check_csrf(user.csrf, form.get("csrf"))
    _must_be_admin(user, "edit tasks")
    site = site_of(request)
    spec, errors = spec_from_form(form)
    if spec is None:
        task = await run_in_threadpool(site.catalogue.get_task, task_id)
        values = {name: form.get(name, "") for name in (*_FIELDS, "active")}
        return _edit_page(request, user, task, values, errors, 422)
    changes = {**spec.to_json(), "active": bool(form.get("active"))}

    def write() -> None:
        before, after = site.catalogue.update_task(task_id, changes)
        detail = {"before": before.to_json(), "after": after.to_json()}
        site.catalogue.audit(user.info.name, "task.update", None, detail)

    await run_in_threadpool(site.write, write)
    return RedirectResponse("/tasks", status_code=303)


def form_values(spec: TaskSpec) -> dict[str, Any]:
    """What the form shows for ``spec`` (the inverse of :func:`spec_from_form`).

    >>> form_values(TaskSpec("t", instructions=("a", "b"), stations=("st-01", "st-02")))["stations"]
    'st-01, st-02'
    """
    return {
        "name": spec.name,
        "robot_profile": spec.robot_profile,
        "instructions": "\n".join(spec.instructions),
        "target_episodes": "" if spec.target_episodes is None else str(spec.target_episodes),
        "target_hours": "" if spec.target_hours is None else str(spec.target_hours),
        "priority": str(spec.priority),
        "stations": ", ".join(spec.stations),
        "operators": ", ".join(spec.operators),
        "active": spec.active,
    }


def _edit_page(
    request: Request,
    user: User,
    task: Task,
    values: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    return render(request, user, "task_edit.html", status, task=task, values=values, errors=errors)


def _must_be_admin(user: User, what: str) -> None:
    if not user.is_admin:
        raise ForbiddenError(f"a {user.info.role.value} token may not {what}; sign in with an admin token")


def spec_from_form(form: dict[str, str]) -> tuple[TaskSpec | None, dict[str, str]]:
    """A :class:`TaskSpec` from the board's form, or the message for each bad field.

    >>> spec, errors = spec_from_form({"name": "叠毛巾", "instructions": "fold\\n", "target_episodes": "50"})
    >>> spec.instructions, spec.target_episodes, errors
    (('fold',), 50, {})
    >>> spec_from_form({"name": "", "priority": "high"})[1]
    {'name': 'a task needs a name', 'priority': "'high' is not a whole number"}
    """
    errors: dict[str, str] = {}
    data: dict[str, Any] = {"name": form.get("name", "").strip()}
    if not data["name"]:
        errors["name"] = "a task needs a name"
    data["robot_profile"] = form.get("robot_profile", "").strip()
    data["instructions"] = [
        line.strip() for line in form.get("instructions", "").splitlines() if line.strip()
    ]
    for name in ("stations", "operators"):
        data[name] = [v.strip() for v in form.get(name, "").replace("\n", ",").split(",") if v.strip()]
    for name, kind in (("target_episodes", int), ("target_hours", float), ("priority", int)):
        text = form.get(name, "").strip()
        if not text:
            continue
        try:
            data[name] = kind(text)
        except ValueError:
            errors[name] = f"{text!r} is not a {'whole ' if kind is int else ''}number"
            continue
        if not 0 <= data[name] < _MAX_NUMBER:  # NaN fails too
            errors[name] = f"give a number from 0 to {_MAX_NUMBER:,}"
    if errors:
        return None, errors
    return TaskSpec.from_json(data), {}
