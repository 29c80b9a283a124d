"""The site server: where a training ground's episodes arrive verified, get checked, catalogued and reviewed.

A layer of its own beside the simulated session (``tg_sim``): it may import every
package below it (``episodes``, ``tg_config``, ...) and only the CLI imports it.
Files in the store are the source of truth; the catalogue database is an index
that ``tg site reindex`` rebuilds from them.

The server itself (``tg_site._serve.serve``, ``tg_site._app.create_app``) is left out of
this facade: it loads FastAPI and uvicorn, which every ``import tg_site`` would pay for.
The facade's other names load on first use (PEP 562): the catalogue brings SQLAlchemy and
the client httpx, and every ``tg`` command, ``tg info`` included, imports this package
for its CLI group.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tg_base import lazy_names
from tg_site._errors import SiteError

if TYPE_CHECKING:
    from tg_site._backup import BackupReport, backup
    from tg_site._catalogue import Catalogue, UnknownTaskError
    from tg_site._client import TOKEN_ENV, PullResult, PushResult, SiteClient, SiteClientError, read_token
    from tg_site._messages import (
        CommitResult,
        Labels,
        ManifestEntry,
        MessageError,
        ReviewRequest,
        UploadRequest,
        UploadState,
    )
    from tg_site._migrate import CatalogueTooNewError
    from tg_site._query import SORT_KEYS, EpisodePage, EpisodeQuery, QueryError
    from tg_site._records import EpisodeRecord, file_sha256, record_from_file
    from tg_site._reindex import DriftReport, ReindexOptions, reindex
    from tg_site._roles import Role
    from tg_site._settings import SiteSettings, TlsFiles, parse_size
    from tg_site._store import CATALOGUE_FILE, EpisodeExistsInStoreError, InvalidEpisodeIdError, Store
    from tg_site._tasks import AuditEntry, Selection, Task, TaskProgress, TaskSpec
    from tg_site._tokens import TokenError, TokenInfo, TokenStore

# Where each name of the facade lives; the block above says the same to type checkers
# (tests/tg_site/test_facade.py checks that the two agree).
_LAZY: dict[str, tuple[str, ...]] = {
    "tg_site._backup": ("BackupReport", "backup"),
    "tg_site._catalogue": ("Catalogue", "UnknownTaskError"),
    "tg_site._client": (
        "TOKEN_ENV",
        "PullResult",
        "PushResult",
        "SiteClient",
        "SiteClientError",
        "read_token",
    ),
    "tg_site._messages": (
        "CommitResult",
        "Labels",
        "ManifestEntry",
        "MessageError",
        "ReviewRequest",
        "UploadRequest",
        "UploadState",
    ),
    "tg_site._migrate": ("CatalogueTooNewError",),
    "tg_site._query": ("SORT_KEYS", "EpisodePage", "EpisodeQuery", "QueryError"),
    "tg_site._records": ("EpisodeRecord", "file_sha256", "record_from_file"),
    "tg_site._reindex": ("DriftReport", "ReindexOptions", "reindex"),
    "tg_site._settings": ("SiteSettings", "TlsFiles", "parse_size"),
    "tg_site._store": ("CATALOGUE_FILE", "EpisodeExistsInStoreError", "InvalidEpisodeIdError", "Store"),
    "tg_site._tasks": ("AuditEntry", "Selection", "Task", "TaskProgress", "TaskSpec"),
    "tg_site._roles": ("Role",),
    "tg_site._tokens": ("TokenError", "TokenInfo", "TokenStore"),
}
__getattr__ = lazy_names("tg_site", _LAZY, globals())


__all__ = [
    "CATALOGUE_FILE",
    "SORT_KEYS",
    "TOKEN_ENV",
    "AuditEntry",
    "BackupReport",
    "Catalogue",
    "CatalogueTooNewError",
    "CommitResult",
    "DriftReport",
    "EpisodeExistsInStoreError",
    "EpisodePage",
    "EpisodeQuery",
    "EpisodeRecord",
    "InvalidEpisodeIdError",
    "Labels",
    "ManifestEntry",
    "MessageError",
    "PullResult",
    "PushResult",
    "QueryError",
    "ReindexOptions",
    "ReviewRequest",
    "Role",
    "Selection",
    "SiteClient",
    "SiteClientError",
    "SiteError",
    "SiteSettings",
    "Store",
    "Task",
    "TaskProgress",
    "TaskSpec",
    "TlsFiles",
    "TokenError",
    "TokenInfo",
    "TokenStore",
    "UnknownTaskError",
    "UploadRequest",
    "UploadState",
    "backup",
    "file_sha256",
    "parse_size",
    "read_token",
    "record_from_file",
    "reindex",
]
