"""The site server: where a training ground's episodes arrive verified, get checked, catalogued and reviewed.

A layer of its own beside the simulated session (``tg_sim``): it may import every
package below it (``episodes``, ``tg_config``, ...) and only the CLI imports it.
Files in the store are the source of truth; the catalogue database is an index
that ``tg site reindex`` rebuilds from them.

The server itself (``tg_site._serve.serve``, ``tg_site._app.create_app``) is left out of
this facade: it loads FastAPI and uvicorn, which every ``import tg_site`` would pay for.
"""

from tg_site._backup import BackupReport, backup
from tg_site._catalogue import Catalogue, UnknownTaskError
from tg_site._client import TOKEN_ENV, PullResult, PushResult, SiteClient, SiteClientError, read_token
from tg_site._errors import SiteError
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
from tg_site._settings import SiteSettings, TlsFiles, parse_size
from tg_site._store import CATALOGUE_FILE, EpisodeExistsInStoreError, InvalidEpisodeIdError, Store
from tg_site._tasks import AuditEntry, Selection, Task, TaskProgress, TaskSpec
from tg_site._tokens import Role, TokenError, TokenInfo, TokenStore

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
