"""``/api/v1/episodes``: list and filter, one episode's row, QA, annotations, audit, file, frames, plots.

Reads need a reviewer or researcher token; review needs a reviewer; deletion an admin.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

import episodes
from tg_site._catalogue import Catalogue
from tg_site._messages import ManifestEntry, ReviewRequest
from tg_site._query import MAX_PAGE, EpisodeQuery
from tg_site._review import review_episode
from tg_site.api._common import (
    Admin,
    NotFoundError,
    Reader,
    Reviewer,
    episode_file,
    episode_record,
    query_from_params,
    site_of,
)

__all__ = ["manifest_of", "router"]

router = APIRouter(prefix="/api/v1", tags=["episodes"])
_MEDIA = {"jpeg": "image/jpeg", "png": "image/png"}
_MAX_POINTS = 100_000


@router.get("/episodes")
def list_episodes(request: Request, token: Reader) -> dict[str, Any]:
    """A page of episodes matching the filters (``?station=..&qa_passed=true&sort=duration&cursor=..``)."""
    site = site_of(request)
    return site.catalogue.query(query_from_params(request.query_params)).to_json()


@router.get("/manifest")
def manifest(request: Request, token: Reader) -> dict[str, Any]:
    """Every episode a query matches (all pages) as id, file SHA-256 and size: what ``tg pull`` fetches."""
    site = site_of(request)
    query = query_from_params(request.query_params, skip={"cursor": None, "page_size": None})
    return {"episodes": [e.to_json() for e in manifest_of(site.catalogue, query)]}


def manifest_of(catalogue: Catalogue, query: EpisodeQuery) -> list[ManifestEntry]:
    """Every episode ``query`` matches, all pages, as manifest entries."""
    query = EpisodeQuery.from_json({**query.to_json(), "page_size": MAX_PAGE, "cursor": None})
    return [ManifestEntry(r.episode_id, r.file_sha256, r.size_bytes) for r in catalogue.iter_query(query)]


@router.get("/episodes/{episode_id}")
def get_episode(episode_id: str, request: Request, token: Reader) -> dict[str, Any]:
    """One episode's catalogue row; ``review_version`` is what a review must send as ``expected_version``."""
    record = episode_record(site_of(request), episode_id)
    return {**record.to_json(), "review_version": record.reviewed_at_ns}


@router.get("/episodes/{episode_id}/qa")
def get_qa(episode_id: str, request: Request, token: Reader) -> dict[str, Any]:
    """The quality gate's findings as stored in the episode (None before its arrival finished)."""
    findings = episodes.read_qa(episode_file(site_of(request), episode_id))
    return {
        "episode_id": episode_id,
        "findings": None if findings is None else [f.to_json() for f in findings],
    }


@router.get("/episodes/{episode_id}/annotations")
def get_annotations(episode_id: str, request: Request, token: Reader) -> dict[str, Any]:
    found = episodes.read_annotations(episode_file(site_of(request), episode_id))
    return {"episode_id": episode_id, "annotations": None if found is None else found.to_json()}


@router.get("/episodes/{episode_id}/audit")
def get_audit(episode_id: str, request: Request, token: Reader) -> dict[str, Any]:
    site = site_of(request)
    site.store.episode_path(episode_id)
    return {"episode_id": episode_id, "entries": [e.to_json() for e in site.catalogue.audit_log(episode_id)]}


@router.get("/episodes/{episode_id}/file")
def download(episode_id: str, request: Request, token: Reader) -> FileResponse:
    """The episode file; ``Range: bytes=N-`` resumes a download (206)."""
    path = episode_file(site_of(request), episode_id)
    return FileResponse(path, media_type="application/x-hdf5", filename=f"{episode_id}.h5")


@router.get("/episodes/{episode_id}/thumbnail")
def thumbnail(episode_id: str, request: Request, token: Reader) -> FileResponse:
    site = site_of(request)
    episode_record(site, episode_id)
    path = site.store.thumbnail_path(episode_id)
    if not path.exists():
        raise NotFoundError(f"episode {episode_id}: no thumbnail (arrival not finished, or no camera)")
    return FileResponse(path, media_type="image/jpeg")


@router.get("/episodes/{episode_id}/frames/{stream}/{index}")
def frame(episode_id: str, stream: str, index: int, request: Request, token: Reader) -> Response:
    """Frame ``index`` of camera ``stream`` as stored (JPEG or PNG bytes, no re-encoding)."""
    path = episode_file(site_of(request), episode_id)
    with episodes.open(path) as reader:
        info = reader.streams.get(stream)
        if info is None or not info.is_image:
            raise NotFoundError(f"episode {episode_id}: no camera stream {stream!r}")
        if not 0 <= index < info.count:
            raise NotFoundError(
                f"episode {episode_id}: camera {stream!r} has frames 0..{info.count - 1}, not {index}"
            )
        data = reader.image(stream, index).data
        encoding = getattr(info.spec, "encoding", episodes.ImageEncoding.JPEG).value
    return Response(data, media_type=_MEDIA.get(encoding, "application/octet-stream"))


@router.get("/episodes/{episode_id}/timeseries/{stream}")
def timeseries(
    episode_id: str, stream: str, request: Request, token: Reader, max_points: int = 2000
) -> dict[str, Any]:
    """An array stream for plots: seconds from the episode's start, columns, values, every k-th sample."""
    if not 1 <= max_points <= _MAX_POINTS:
        raise NotFoundError(f"max_points={max_points}: ask for 1 to {_MAX_POINTS} points")
    path = episode_file(site_of(request), episode_id)
    with episodes.open(path) as reader:
        info = reader.streams.get(stream)
        if info is None or info.is_image:
            raise NotFoundError(f"episode {episode_id}: no array stream {stream!r}")
        samples = reader.read(stream)
        if not isinstance(samples, episodes.ArraySamples):
            raise NotFoundError(f"episode {episode_id}: no array stream {stream!r}")
        origin = reader.origin_ns()
        columns = list(getattr(info.spec, "names", ()))
    step = max(1, -(-len(samples) // max_points))
    values = np.asarray(samples.data[::step], dtype=np.float64).astype(object)
    values[~np.isfinite(values.astype(np.float64))] = None  # JSON has no NaN
    return {
        "episode_id": episode_id,
        "stream": stream,
        "columns": columns,
        "step": step,
        "t_s": ((samples.stamp_ns[::step] - origin) / 1e9).tolist(),
        "values": values.tolist(),
    }


@router.post("/episodes/{episode_id}/review")
async def review(episode_id: str, request: Request, token: Reviewer) -> dict[str, Any]:
    """Approve or reject (reason code, note), correct instruction and success; 409 on a stale version."""
    site = site_of(request)
    verdict = ReviewRequest.from_json(await request.json())
    await run_in_threadpool(episode_file, site, episode_id)
    return await run_in_threadpool(review_episode, site, episode_id, verdict, token)


@router.delete("/episodes/{episode_id}")
def delete(episode_id: str, request: Request, token: Admin) -> dict[str, Any]:
    """Move the episode to the trash (purged after ``--trash-days``); its row stays, marked."""
    site = site_of(request)
    episode_file(site, episode_id)
    return site.trash(episode_id, token.name)
