"""Building a new dataset directory: staged beside its final name, renamed into place when complete.

A merge or split killed half-way leaves a hidden ``.<name>.building-<pid>`` directory
(work in progress, datasets/FORMAT.md) and never a half-filled ``--out``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

from episodes import _layout as fmt
from episodes._errors import DatasetError
from episodes._journal import replay_journal
from episodes._maintenance import list_episodes
from episodes._qa._annotate import read_annotations
from episodes._qa._stats import StreamStats, write_dataset_stats
from episodes._splits import Splits, load_splits, write_splits

__all__ = ["check_new", "episode_id_of", "finish_dataset", "membership", "new_dataset", "place"]


def episode_id_of(path: Path) -> str:
    """The episode id a dataset file's name gives (``<id>.h5``)."""
    return path.name.removesuffix(fmt.EPISODE_SUFFIX)


@contextlib.contextmanager
def new_dataset(out: Path, sources: Iterable[Path] = ()) -> Iterator[Path]:
    """A work directory that becomes ``out`` when the block completes; removed if it raises.

    Refused: an ``out`` that exists and is not an empty directory, or that is one of ``sources``.
    """
    out = Path(out)
    check_new(out, sources)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = out.parent / f".{out.name}.building-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    try:
        yield work
        if out.exists():
            out.rmdir()  # empty, checked above
        os.replace(work, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def check_new(out: Path, sources: Iterable[Path] = ()) -> None:
    """Refuse ``out`` for a new dataset: one of ``sources``, or there and not an empty directory."""
    for source in sources:
        if out.resolve() == Path(source).resolve():
            raise DatasetError(f"{out}: cannot write a dataset into itself; choose a new --out directory")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise DatasetError(f"{out}: already exists and is not empty; choose a new --out directory")


def place(source: Path, directory: Path, *, copy: bool = False) -> bool:
    """Put episode file ``source`` into ``directory``: a hard link where possible; True if linked.

    A pending in-place update of ``source`` is finished first, so the new file is the
    episode as readers see it (a journal is never shared or copied).
    """
    replay_journal(source)
    target = directory / source.name
    if not copy:
        try:
            os.link(source, target)
            return True
        except OSError:  # another filesystem, or links not allowed: copy
            pass
    shutil.copy2(source, target)
    return False


def membership(sources: Iterable[Path]) -> Splits | None:
    """The train/validation membership the ``sources`` record, joined (None if none records one)."""
    found = [s for s in (load_splits(source) for source in sources) if s is not None]
    if not found:
        return None
    train = frozenset().union(*(s.train for s in found))
    valid = frozenset().union(*(s.valid for s in found))
    return Splits(found[0].valid_fraction, train - valid, valid, found[0].method)


def finish_dataset(root: Path, splits: Splits | None) -> bool:
    """Write ``root``'s splits.json (``splits`` restricted to its episodes) and dataset_stats.json.

    The statistics are aggregated from each episode's stored ones (``tg annotate``); when
    an episode has none, no statistics file is written and False is returned.
    """
    files = list_episodes(root)
    ids = {episode_id_of(p) for p in files}
    if splits is not None and ids & (splits.train | splits.valid):
        write_splits(
            root, Splits(splits.valid_fraction, splits.train & ids, splits.valid & ids, splits.method)
        )
    stats: dict[str, list[StreamStats]] = {}
    for path in files:
        stored = read_annotations(path)
        if stored is None or not stored.stats:
            return False
        stats[episode_id_of(path)] = list(stored.stats)
    if stats:
        write_dataset_stats(root, stats)
    return bool(stats)
