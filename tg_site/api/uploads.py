"""``/api/v1/uploads``: start, continue (``PUT`` chunks with ``Content-Range``), ask the offset, commit."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from tg_site._auth import require
from tg_site._messages import UploadRequest
from tg_site._state import SiteState
from tg_site._tokens import Role, TokenInfo
from tg_site._upload import ContentRange

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/uploads", tags=["uploads"])
Pusher = Annotated[TokenInfo, Depends(require(Role.STATION, Role.UPLOADER))]
_FLUSH_BYTES = 4 << 20  # written to disk in pieces this large: a dropped connection keeps what came


def _site(request: Request) -> SiteState:
    state: SiteState = request.app.state.site
    return state


@router.post("")
async def start_upload(request: Request, token: Pusher) -> dict[str, Any]:
    """Announce an episode (id, raw digest, SHA-256, size); get its upload id and the offset to send from.

    ``state`` is ``already_have`` when the site holds this raw content: nothing to send
    (newer labels in the request are merged into the site's copy and audited).
    """
    announced = UploadRequest.from_json(await request.json())
    site = _site(request)
    return (await run_in_threadpool(site.start_upload, announced, token)).to_json()


@router.api_route("/{upload_id}", methods=["GET", "HEAD"])
async def upload_offset(
    upload_id: str, request: Request, response: Response, token: Pusher
) -> dict[str, Any]:
    """Where an upload stands: the offset is the byte to send next (also in the ``Upload-Offset`` header)."""
    state = await run_in_threadpool(_site(request).uploads.state, upload_id, token.id)
    response.headers["Upload-Offset"] = str(state.offset)
    return state.to_json()


@router.put("/{upload_id}")
async def append_chunk(upload_id: str, request: Request, response: Response, token: Pusher) -> dict[str, Any]:
    """Append the body at the offset ``Content-Range: bytes START-END/TOTAL`` names (START = the offset)."""
    site = _site(request)
    where = ContentRange.parse(request.headers.get("content-range"))
    state = await run_in_threadpool(site.uploads.append, upload_id, token.id, where, [])
    pieces: list[bytes] = []
    held = 0
    async for piece in request.stream():
        pieces.append(piece)
        held += len(piece)
        if held >= _FLUSH_BYTES:
            state = await _flush(site, upload_id, token, where, state.offset, pieces)
            pieces, held = [], 0
    if pieces:
        state = await _flush(site, upload_id, token, where, state.offset, pieces)
    response.headers["Upload-Offset"] = str(state.offset)
    return state.to_json()


async def _flush(
    site: SiteState, upload_id: str, token: TokenInfo, where: ContentRange, offset: int, pieces: list[bytes]
) -> Any:
    rest = ContentRange(offset, where.end, where.total)
    state = await run_in_threadpool(site.uploads.append, upload_id, token.id, rest, pieces)
    site.metrics.uploaded(state.offset - offset)
    return state


@router.post("/{upload_id}/commit")
async def commit_upload(upload_id: str, request: Request, token: Pusher) -> dict[str, Any]:
    """Verify the complete upload (hash, a finished episode, station) and store it; arrival is queued."""
    return (await run_in_threadpool(_site(request).commit_upload, upload_id, token)).to_json()
