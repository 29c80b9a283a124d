"""A process that updates an episode's annotations in place, for the SIGKILL tests.

Not a test module. ``tests/episodes/test_update_crash_safety.py`` runs it with
``sys.executable`` and kills it. Every line is flushed as soon as it is printed.

Commands::

    loop PATH
        forever: write ``/annotations/probe`` (attribute ``round`` = 1, 2, ... and a
        dataset of a size that changes every round) through ``update_in_place``;
        prints ``committed <round>`` after each update returns.
    annotate PATH STAGE
        ``annotate_episode(PATH)``, killing itself with SIGKILL at ``STAGE`` of the
        in-place write: ``journal-half`` (half of the journal written, not yet
        renamed), ``journal-committed`` (journal in place, episode untouched),
        ``apply-half`` (half of the changed ranges written onto the episode),
        ``applied`` (episode fully written, journal not yet removed).
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

import numpy as np

import episodes
from episodes import _journal


def _die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def loop(path: Path) -> None:
    round_ = 0
    while True:
        round_ += 1
        with episodes.update_in_place(path) as f:
            group = f.require_group("annotations")
            if "probe" in group:
                del group["probe"]
            probe = group.create_group("probe")
            probe.attrs["round"] = round_
            probe.create_dataset("values", data=np.full(500 + 37 * (round_ % 50), round_, dtype=np.int64))
        print(f"committed {round_}", flush=True)


def annotate(path: Path, stage: str) -> None:
    write_journal, apply = _journal._write_journal, _journal._apply

    def half_journal(where: Path, size: int, ranges: list[tuple[int, bytes]]) -> Path:
        journal = _journal.journal_path(where)
        work = journal.with_name(journal.name + ".tmp")
        work.write_bytes(b"".join(data for _, data in ranges)[: max(1, sum(len(d) for _, d in ranges) // 2)])
        _die()
        return journal

    def after_journal(where: Path, size: int, ranges: list[tuple[int, bytes]]) -> Path:
        journal = write_journal(where, size, ranges)
        _die()
        return journal

    def half_apply(base: Any, size: int, ranges: list[tuple[int, bytes]]) -> None:
        for offset, data in ranges[: max(1, len(ranges) // 2)]:
            os.pwrite(base.fileno(), data[: max(1, len(data) // 2)], offset)
        os.fsync(base.fileno())
        _die()

    def full_apply(base: Any, size: int, ranges: list[tuple[int, bytes]]) -> None:
        apply(base, size, ranges)
        _die()

    hooks: dict[str, tuple[str, Any]] = {
        "journal-half": ("_write_journal", half_journal),
        "journal-committed": ("_write_journal", after_journal),
        "apply-half": ("_apply", half_apply),
        "applied": ("_apply", full_apply),
    }
    name, hook = hooks[stage]
    setattr(_journal, name, hook)
    episodes.annotate_episode(path)
    print("survived", flush=True)


if __name__ == "__main__":
    command, target = sys.argv[1], Path(sys.argv[2])
    if command == "loop":
        loop(target)
    else:
        annotate(target, sys.argv[3])
