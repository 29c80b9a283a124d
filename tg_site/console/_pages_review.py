"""The episode page (player, findings, metadata, audit log, review form), saving a review, the queue."""

from __future__ import annotations

from typing import Any, cast

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from tg_site._auth import ForbiddenError
from tg_site._messages import ReviewRequest
from tg_site._query import EpisodeQuery, encode_cursor
from tg_site._records import EpisodeRecord
from tg_site._review import StaleReviewError, review_episode
from tg_site.api._common import episode_file, episode_record, site_of
from tg_site.console._episode_view import audit_rows, read_view
from tg_site.console._pages_auth import User
from tg_site.console._session import check_csrf
from tg_site.console._state import REVIEW_REASONS, render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
_QUEUE = EpisodeQuery(review_state=("pending",), page_size=1)


@router.get("/episodes/{episode_id}")
def episode_page(episode_id: str, request: Request, user: User) -> Response:
    return _page(request, user, episode_record(site_of(request), episode_id))


def _page(request: Request, user: User, record: EpisodeRecord, status: int = 200, **context: Any) -> Response:
    site = site_of(request)
    view = read_view(episode_file(site, record.episode_id))
    values = {
        "state": "",
        "reason": "",
        "note": "",
        "instruction": record.instruction,
        "success": record.success,
    }
    values.update(context.pop("values", {}))
    return render(
        request,
        user,
        "episode.html",
        status,
        record=record,
        view=view,
        audit=audit_rows(site.catalogue.audit_log(record.episode_id, limit=200), site.settings.time_zone),
        version=record.reviewed_at_ns,
        values=values,
        errors=context.pop("errors", {}),
        stale=context.pop("stale", None),
        queue=context.pop("queue", None),
        request_saved=request.query_params.get("saved") == "1",
        **context,
    )


@router.post("/episodes/{episode_id}/review")
async def save_review(episode_id: str, request: Request, user: User) -> Response:
    """Approve or reject with a reason, correct instruction and success; a stale save shows the new state."""
    form = {k: str(v) for k, v in (await request.form()).items()}
    check_csrf(user.csrf, form.get("csrf"))
    site = site_of(request)
    record = await run_in_threadpool(episode_record, site, episode_id)
    queue = _queue_context(form.get("queue_after"), record) if "queue_after" in form else None
    if not user.may_review:
        raise ForbiddenError(
            f"a {user.info.role.value} token may not review episodes; sign in with a reviewer token"
        )
    errors = _review_errors(form)
    if errors:
        return await run_in_threadpool(
            _page, request, user, record, 422, values=form, errors=errors, queue=queue
        )
    verdict = ReviewRequest(
        state=form["state"],
        expected_version=int(form.get("expected_version") or 0),
        reason=form.get("reason", "") if form["state"] == "rejected" else "",
        note=form.get("note", ""),
        instruction=form["instruction"]
        if form.get("instruction", record.instruction) != record.instruction
        else None,
        success={"true": True, "false": False}.get(form.get("success", "")),
    )
    try:
        await run_in_threadpool(review_episode, site, episode_id, verdict, user.info)
    except StaleReviewError as exc:
        current = await run_in_threadpool(episode_record, site, episode_id)
        return await run_in_threadpool(
            _page, request, user, current, 409, stale={"message": str(exc), **exc.current}, queue=queue
        )
    if queue is not None:
        return RedirectResponse(f"/review?after={queue['after']}", status_code=303)
    return RedirectResponse(f"/episodes/{episode_id}?saved=1", status_code=303)


def _review_errors(form: dict[str, str]) -> dict[str, str]:
    errors: dict[str, str] = {}
    if form.get("state") not in ("approved", "rejected"):
        errors["state"] = "choose approve or reject"
    if form.get("state") == "rejected" and form.get("reason") not in REVIEW_REASONS:
        errors["reason"] = "a rejection needs a reason from the list"
    if form.get("success", "") not in ("", "true", "false"):
        errors["success"] = "choose yes, no or unknown"
    version = form.get("expected_version", "0")
    if not (version.isdigit() and int(version) < 2**63):
        errors["state"] = "the form lost the episode's version; reload the page"
    if "instruction" in form and not form["instruction"].strip():
        errors["instruction"] = "the instruction cannot be empty"
    return errors


@router.get("/review")
def review_queue(request: Request, user: User, after: str | None = None) -> Response:
    """The oldest unreviewed episode after ``after``; keys: a approve, r reject (1-6 reason), n next."""
    site = site_of(request)
    page = site.catalogue.query(_QUEUE.page_after(after or None))
    if not page.records:
        return render(request, user, "queue_done.html", restart=bool(after))
    record = page.records[0]
    return _page(request, user, record, queue=_queue_context(after, record))


def _queue_context(after: str | None, record: EpisodeRecord) -> dict[str, str]:
    return {"after": encode_cursor(_QUEUE, cast(Any, record)), "from": after or ""}
