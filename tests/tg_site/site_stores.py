"""A small real store for the site-core tests: episodes committed by id and catalogued."""

from __future__ import annotations

from pathlib import Path

from tests.tg_site.site_episodes import make_episode
from tg_site import Catalogue, Store, record_from_file


def add_episode(store: Store, catalogue: Catalogue | None, work: Path, *, seed: int, **info: object) -> str:
    """Record an episode, commit it into ``store`` by id and (if ``catalogue``) catalogue it; its id."""
    path = make_episode(work / f"seed{seed}", seed=seed, **info)
    episode_id = path.stem
    final = store.commit(path, episode_id)
    if catalogue is not None:
        catalogue.upsert(record_from_file(final))
    return episode_id
