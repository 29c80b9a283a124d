"""Ingest on a full disk: one clear failure per bag that says what is left (nothing), no partial file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from collectors import ingest_bags
from tests import disks
from tests.collectors.bagfixtures import write_kuavo_bag
from tg_config import load_profile


@pytest.fixture
def small_disk(tmp_path) -> Iterator[Path]:
    """A 2 MiB tmpfs: ENOSPC as on a real full disk (RLIMIT_FSIZE would give EFBIG instead)."""
    with disks.small_disk(tmp_path / "small", "2m") as mount:
        yield mount


def test_a_full_disk_fails_the_bag_and_says_nothing_of_it_was_kept(tmp_path, small_disk):
    profile = load_profile("kuavo4pro")
    bag = write_kuavo_bag(tmp_path / "big.bag", profile, duration_s=1.0, camera_hz=10).path  # ~3.7 MB
    out = small_disk / "out"
    summary = ingest_bags([bag], profile, out)
    (failure,) = summary.failures
    assert failure.reason.startswith(f"{bag}: no room left to write in {out} (")
    assert "nothing of this bag was kept" in failure.reason and "run the same ingest again" in failure.reason
    assert ".partial" not in failure.reason and "tg recover" not in failure.reason
    assert list(out.iterdir()) == []  # no partial file left taking the space
