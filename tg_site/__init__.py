"""The site server: where a training ground's episodes arrive verified, get checked, catalogued and reviewed.

A layer of its own beside the simulated session (``tg_sim``): it may import every
package below it (``episodes``, ``tg_config``, ...) and only the CLI imports it.
Files in the store are the source of truth; the catalogue database is an index
that ``tg site reindex`` rebuilds from them.
"""

from tg_site._backup import BackupReport, backup
from tg_site._catalogue import Catalogue, UnknownTaskError
from tg_site._errors import SiteError
from tg_site._migrate import CatalogueTooNewError
from tg_site._query import SORT_KEYS, EpisodePage, EpisodeQuery, QueryError
from tg_site._records import EpisodeRecord, file_sha256, record_from_file
from tg_site._reindex import DriftReport, ReindexOptions, reindex
from tg_site._store import CATALOGUE_FILE, EpisodeExistsInStoreError, InvalidEpisodeIdError, Store
from tg_site._tasks import AuditEntry, Selection, Task, TaskProgress, TaskSpec
from tg_site._tokens import Role, TokenError, TokenInfo, TokenStore

__all__ = [
    "CATALOGUE_FILE",
    "SORT_KEYS",
    "AuditEntry",
    "BackupReport",
    "Catalogue",
    "CatalogueTooNewError",
    "DriftReport",
    "EpisodeExistsInStoreError",
    "EpisodePage",
    "EpisodeQuery",
    "EpisodeRecord",
    "InvalidEpisodeIdError",
    "QueryError",
    "ReindexOptions",
    "Role",
    "Selection",
    "SiteError",
    "Store",
    "Task",
    "TaskProgress",
    "TaskSpec",
    "TokenError",
    "TokenInfo",
    "TokenStore",
    "UnknownTaskError",
    "backup",
    "file_sha256",
    "record_from_file",
    "reindex",
]
