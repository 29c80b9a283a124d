"""The site server: where a training ground's episodes arrive verified, get checked, catalogued and reviewed.

A layer of its own beside the simulated session (``tg_sim``): it may import every
package below it (``episodes``, ``tg_config``, ...) and only the CLI imports it.
Files in the store are the source of truth; the catalogue database is an index
that ``tg site reindex`` rebuilds from them.
"""

from tg_site._errors import SiteError
from tg_site._store import CATALOGUE_FILE, EpisodeExistsInStoreError, InvalidEpisodeIdError, Store

__all__ = ["CATALOGUE_FILE", "EpisodeExistsInStoreError", "InvalidEpisodeIdError", "SiteError", "Store"]
