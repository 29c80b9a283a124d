"""The site's store: one directory holding every episode file, uploads in progress and the catalogue.

Layout (created on first use)::

    <root>/episodes/<id[:2]>/<id>.h5   episodes by id (never a client-chosen path)
    <root>/incoming/<upload>.part      uploads in progress (committed by rename)
    <root>/trash/<id>.h5               deleted episodes until the purge policy empties them
    <root>/thumbs/<id[:2]>/<id>.jpg    one thumbnail per episode
    <root>/backups/                    the catalogue as it was before each automatic migration
    <root>/catalogue.sqlite            the catalogue (an index of the files, plus tokens, tasks, ...)

Files are the source of truth; the catalogue is rebuilt from them by ``tg site reindex``.

>>> import tempfile
>>> store = Store(Path(tempfile.mkdtemp()))
>>> store.episode_path("01J9Z8Q4W1ABCDEFGHJKMNPQRS").relative_to(store.root).as_posix()
'episodes/01/01J9Z8Q4W1ABCDEFGHJKMNPQRS.h5'
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import episodes
from episodes import fsync_path
from tg_site._errors import SiteError

# fsync_path is episodes' (named here too: the upload and arrival code import it from here).
__all__ = ["CATALOGUE_FILE", "EpisodeExistsInStoreError", "InvalidEpisodeIdError", "Store", "fsync_path"]

CATALOGUE_FILE = "catalogue.sqlite"
_EPISODE_SUFFIX = ".h5"
_THUMB_SUFFIX = ".jpg"
# Upload ids are the server's own (hex or ULID-like); nothing that could leave incoming/.
_UPLOAD_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class InvalidEpisodeIdError(SiteError):
    """An episode id (or upload id) that is not of the expected syntax, e.g. a path like ``../x``."""


class EpisodeExistsInStoreError(SiteError):
    """The store already holds a file under that episode id; it is never replaced by a commit."""


class Store:
    """The store directory at ``root``; creating one makes its layout (and nothing else).

    Only this class turns an episode id into a path, and only after checking its
    syntax, so no request can name a file outside the store.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.episodes_dir = self.root / "episodes"
        self.incoming_dir = self.root / "incoming"
        self.trash_dir = self.root / "trash"
        self.thumbs_dir = self.root / "thumbs"
        self.backups_dir = self.root / "backups"
        for directory in (self.episodes_dir, self.incoming_dir, self.trash_dir, self.thumbs_dir):
            directory.mkdir(parents=True, exist_ok=True)
        self.backups_dir.mkdir(exist_ok=True)

    @property
    def catalogue_path(self) -> Path:
        return self.root / CATALOGUE_FILE

    @property
    def db_url(self) -> str:
        """The SQLAlchemy URL of the store's catalogue."""
        return f"sqlite:///{self.catalogue_path}"

    def episode_path(self, episode_id: str) -> Path:
        """Where the episode ``episode_id`` lives (whether or not it is there yet)."""
        checked = _checked_id(episode_id)
        return self.episodes_dir / checked[:2] / f"{checked}{_EPISODE_SUFFIX}"

    def thumbnail_path(self, episode_id: str) -> Path:
        checked = _checked_id(episode_id)
        return self.thumbs_dir / checked[:2] / f"{checked}{_THUMB_SUFFIX}"

    def trash_path(self, episode_id: str) -> Path:
        return self.trash_dir / f"{_checked_id(episode_id)}{_EPISODE_SUFFIX}"

    def incoming_path(self, upload_id: str) -> Path:
        """The file an upload in progress is written to."""
        if not isinstance(upload_id, str) or not _UPLOAD_ID.match(upload_id):
            raise InvalidEpisodeIdError(
                f"upload id {upload_id!r} is not valid (1-64 letters, digits, '-' or '_'); "
                "start the upload again to get a new id"
            )
        return self.incoming_dir / f"{upload_id}.part"

    def commit(self, staged: Path, episode_id: str) -> Path:
        """Move the verified file ``staged`` to the episode's final place, durably; returns that place.

        The file is fsynced before the rename and the directory after it, so a crash
        leaves either no file under the final name or the whole one. An existing
        final file is never replaced (``EpisodeExistsInStoreError``).
        """
        final = self.episode_path(episode_id)
        final.parent.mkdir(parents=True, exist_ok=True)
        with open(staged, "rb") as f:
            os.fsync(f.fileno())
        try:
            # link() refuses an existing name atomically, where a check before a rename would race.
            os.link(staged, final)
        except FileExistsError:
            raise EpisodeExistsInStoreError(
                f"{final}: the store already holds episode {episode_id}; it is never replaced "
                "(delete it first to store another file under this id)"
            ) from None
        os.unlink(staged)
        fsync_path(final.parent)
        fsync_path(staged.parent)
        return final

    def trash(self, episode_id: str) -> Path:
        """Move the episode (and its thumbnail) to the trash; returns its place there."""
        source = self.episode_path(episode_id)
        if not source.exists():
            raise SiteError(f"{source}: no episode {episode_id} in the store {self.root}; nothing to delete")
        target = self.trash_path(episode_id)
        os.replace(source, target)
        self.thumbnail_path(episode_id).unlink(missing_ok=True)
        fsync_path(source.parent)
        fsync_path(target.parent)
        return target

    def iter_episodes(self) -> Iterator[Path]:
        """Every episode file of the store, by id (hidden work files and partials left out)."""
        for shard in sorted(p for p in self.episodes_dir.iterdir() if p.is_dir()):
            for path in sorted(shard.glob(f"*{_EPISODE_SUFFIX}")):
                if episodes.is_episode_id(path.stem) and path.is_file():
                    yield path

    def free_bytes(self) -> int:
        """Bytes free for the store's files on its file system."""
        return shutil.disk_usage(self.root).free


def _checked_id(episode_id: str) -> str:
    if not isinstance(episode_id, str) or not episodes.is_episode_id(episode_id):
        raise InvalidEpisodeIdError(
            f"episode id {episode_id!r} is not an episode id (a 26-character ULID such as "
            "01J9Z8Q4W1ABCDEFGHJKMNPQRS); ids come from the episode's file, never from a path"
        )
    return episode_id
