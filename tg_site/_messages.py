"""Typed messages crossing the HTTP boundary, shared by the server and its clients.

Each is a frozen dataclass with ``to_json()``/``from_json()``; the server checks
what comes in through ``from_json`` (a :class:`MessageError` becomes HTTP 422).

>>> UploadState.from_json(UploadState("u-1", "01J", 0, 3, "open").to_json()).size
3
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, TypeVar

from tg_site._errors import SiteError

__all__ = [
    "CommitResult",
    "Labels",
    "ManifestEntry",
    "MessageError",
    "ReviewRequest",
    "UploadRequest",
    "UploadState",
]

_HEX64 = frozenset("0123456789abcdef")
M = TypeVar("M")


class MessageError(SiteError):
    """A request body is not the message its endpoint expects."""


def _field(data: Any, name: str, kind: type | tuple[type, ...], what: str) -> Any:
    if not isinstance(data, dict):
        raise MessageError(f"{what}: expected a JSON object, got {type(data).__name__}")
    if name not in data:
        raise MessageError(f"{what}: field {name!r} is missing")
    value = data[name]
    # bool is an int in Python; a size of true is no size.
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _as_tuple(kind)):
        raise MessageError(f"{what}: field {name!r} has the wrong type ({type(value).__name__})")
    return value


_PLAIN_TYPES: dict[str, type] = {"str": str, "int": int}


def _plain(cls: type[M], data: Any, what: str) -> M:
    """A message whose fields are all required ``str``/``int`` ones, checked one by one."""
    make: Any = cls  # a dataclass: its fields are its keyword arguments
    values = {f.name: _field(data, f.name, _PLAIN_TYPES[str(f.type)], what) for f in fields(make)}
    built: M = make(**values)
    return built


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _sha256(value: str, name: str, what: str) -> str:
    if len(value) != 64 or not set(value) <= _HEX64:
        raise MessageError(f"{what}: field {name!r} must be a SHA-256 in 64 lowercase hex digits")
    return value


@dataclass(frozen=True)
class Labels:
    """An episode's labels as the client's copy holds them (merged into the site's through the journal)."""

    instruction: str
    success: bool | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> Labels:
        what = "labels"
        return cls(_field(data, "instruction", str, what), _field(data, "success", (bool, type(None)), what))


@dataclass(frozen=True)
class UploadRequest:
    """``POST /api/v1/uploads``: the episode a client is about to send."""

    episode_id: str
    raw_digest: str
    sha256: str
    size: int
    labels: Labels | None = None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["labels"] = None if self.labels is None else self.labels.to_json()
        return out

    @classmethod
    def from_json(cls, data: Any) -> UploadRequest:
        what = "upload request"
        size = _field(data, "size", int, what)
        if size <= 0:
            raise MessageError(f"{what}: size {size} must be positive")
        labels = data.get("labels")
        return cls(
            episode_id=_field(data, "episode_id", str, what),
            raw_digest=_sha256(_field(data, "raw_digest", str, what), "raw_digest", what),
            sha256=_sha256(_field(data, "sha256", str, what), "sha256", what),
            size=size,
            labels=None if labels is None else Labels.from_json(labels),
        )


@dataclass(frozen=True)
class UploadState:
    """Where an upload stands: ``open`` (send from ``offset``), ``already_have`` or ``committed``."""

    upload_id: str
    episode_id: str
    offset: int
    size: int
    state: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> UploadState:
        return _plain(cls, data, "upload state")


@dataclass(frozen=True)
class CommitResult:
    """``POST /api/v1/uploads/{id}/commit``: the episode is in the store and queued for arrival."""

    episode_id: str
    sha256: str
    state: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> CommitResult:
        return _plain(cls, data, "commit result")


@dataclass(frozen=True)
class ReviewRequest:
    """``POST /api/v1/episodes/{id}/review``: a reviewer's verdict on the version they saw.

    ``expected_version`` is the review version the reviewer loaded; a save on a stale
    one is refused (409) with the episode's current state.
    """

    state: str
    expected_version: int
    reason: str = ""
    note: str = ""
    instruction: str | None = None
    success: bool | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> ReviewRequest:
        what = "review"
        state = _field(data, "state", str, what)
        if state not in ("approved", "rejected", "pending"):
            raise MessageError(f"{what}: state {state!r} must be approved, rejected or pending")
        if state == "rejected" and not data.get("reason"):
            raise MessageError(f"{what}: a rejection needs a reason code (field 'reason')")
        return cls(
            state=state,
            expected_version=_field(data, "expected_version", int, what),
            reason=str(data.get("reason") or ""),
            note=str(data.get("note") or ""),
            instruction=data.get("instruction") if isinstance(data.get("instruction"), str) else None,
            success=data.get("success") if isinstance(data.get("success"), bool) else None,
        )


@dataclass(frozen=True)
class ManifestEntry:
    """One episode of a selection or query: what ``tg pull`` fetches and checks."""

    episode_id: str
    sha256: str
    size: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> ManifestEntry:
        return _plain(cls, data, "manifest entry")
