"""What the route modules share: the site of a request, role sets, errors, query parsing."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request

from tg_site._auth import require
from tg_site._errors import SiteError
from tg_site._query import EpisodeQuery, QueryError
from tg_site._records import EpisodeRecord
from tg_site._state import SiteState
from tg_site._tokens import Role, TokenInfo

__all__ = [
    "Admin",
    "NotFoundError",
    "Reader",
    "Reviewer",
    "episode_file",
    "episode_record",
    "query_from_params",
    "site_of",
]

Reader = Annotated[TokenInfo, Depends(require(Role.REVIEWER, Role.RESEARCHER))]
Reviewer = Annotated[TokenInfo, Depends(require(Role.REVIEWER))]
Admin = Annotated[TokenInfo, Depends(require())]


class NotFoundError(SiteError):
    """No such episode, stream, frame, task or selection (HTTP 404)."""


def site_of(request: Request) -> SiteState:
    site: SiteState = request.app.state.site
    return site


def episode_record(site: SiteState, episode_id: str) -> EpisodeRecord:
    """The catalogue row of an episode that is in the store (not trashed), or 404."""
    site.store.episode_path(episode_id)  # a path-like id is a 400, before any lookup
    record = site.catalogue.get(episode_id)
    if record is None or record.trashed_at_ns is not None:
        raise NotFoundError(f"episode {episode_id}: not in this site's catalogue (never pushed, or deleted)")
    return record


def episode_file(site: SiteState, episode_id: str) -> Path:
    episode_record(site, episode_id)
    path = site.store.episode_path(episode_id)
    if not path.exists():
        raise NotFoundError(
            f"episode {episode_id}: catalogued but its file is missing from the store; run tg site reindex"
        )
    return path


_TUPLES = {f.name for f in dataclasses.fields(EpisodeQuery) if f.type in ("tuple[str, ...]",)}
_BOOLS = {"success", "qa_passed", "include_trashed", "descending"}
_INTS = {"since_ns", "until_ns", "page_size"}
_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no"}


def query_from_params(params: Any, *, skip: Mapping[str, Any] | None = None) -> EpisodeQuery:
    """An :class:`EpisodeQuery` from URL parameters (``?station=a&station=b&qa_passed=true&sort=...``)."""
    data: dict[str, Any] = {}
    for key in params:
        if skip is not None and key in skip:
            continue
        values = params.getlist(key)
        if key in _TUPLES:
            data[key] = [v for value in values for v in value.split(",") if v]
        elif key in _BOOLS:
            data[key] = _bool(key, values[-1])
        elif key in _INTS:
            try:
                data[key] = int(values[-1])
            except ValueError:
                raise QueryError(f"query parameter {key}={values[-1]!r}: give an integer") from None
        else:
            data[key] = values[-1]
    return EpisodeQuery.from_json(data)


def _bool(key: str, value: str) -> bool | None:
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    if value.lower() in ("", "any", "null", "unknown"):
        return None
    raise QueryError(f"query parameter {key}={value!r}: give true or false")
