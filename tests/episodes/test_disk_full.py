"""A full disk, made real with a file-size limit: the recorder child runs under RLIMIT_FSIZE
(SIGXFSZ ignored), so writes past the limit fail with EFBIG, which the writer must treat like
ENOSPC. The child is ``_recording_child.py``; it prints the errors it catches.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest

import episodes
from tests.episodes import _recording_child as child_mod
from tg_base import TgError

if sys.platform == "win32":
    pytest.skip("needs RLIMIT_FSIZE", allow_module_level=True)


RecordingChild = child_mod.RecordingChild

FLUSH_S = 0.2
MARGIN_S = 0.3
MIB = 1024 * 1024


def test_storage_full_error_is_a_tg_error() -> None:
    assert issubclass(episodes.StorageFullError, TgError)
    assert issubclass(episodes.StorageFullError, episodes.EpisodeWriteError)
    assert issubclass(episodes.StorageFullError, OSError)


def _check_message(message: str, partial: Path, doing: str) -> None:
    assert str(partial) in message, message
    assert "disk full" in message, message
    assert doing in message, message
    assert f"tg recover {partial}" in message, message


def _check_clean_exit(child: RecordingChild) -> None:
    stderr = child.stderr()
    assert child.proc.returncode == 0, (
        f"child exited with {child.proc.returncode}"
        + (" (SIGSEGV: HDF5 crashed closing a dataset)" if child.proc.returncode == -signal.SIGSEGV else "")
        + f"\n{child.describe()}"
    )
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr[-3000:]
    assert child.said("done"), child.describe()


def _check_earlier_episode(child: RecordingChild) -> None:
    first = child.episodes[0]
    assert first.final is not None, child.describe()
    with episodes.open(first.final) as ep:
        assert ep.metadata.status == "complete"
        assert child_mod.check_samples(ep, "earlier episode") == first.counts
        child_mod.check_aligned(ep, "earlier episode")


def _recover_and_check(partial: Path, appended: dict[str, int], where: str) -> dict[str, int]:
    with episodes.open(partial) as ep:  # read-only: what reached the disk before the failure
        assert ep.is_partial
        on_disk = child_mod.check_samples(ep, f"{where} partial")
    for name, count in on_disk.items():
        assert count <= appended.get(name, 0), f"{where}: {on_disk} on disk, {appended} appended"
    final = episodes.recover(partial)  # here, without the limit
    assert not partial.exists()
    with episodes.open(final) as ep:
        assert ep.metadata.status == "recovered"
        assert child_mod.check_samples(ep, f"{where} recovered") == on_disk
        child_mod.check_aligned(ep, f"{where} recovered")
    return on_disk


# The first episode (0.5 s) makes a 1.5 MB file: under every limit below. The second crosses it.
CASES = {
    "unpaced": ["--fsize-limit", str(2 * MIB), "--speed", "0"],
    "paced": ["--fsize-limit", str(int(1.7 * MIB)), "--speed", "10"],
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_disk_full_while_recording(tmp_path: Path, case: str) -> None:
    root = tmp_path / "dataset"
    args = [
        "record", str(root), "--complete", "1", "--complete-s", "0.5", "--final-s", "60",
        "--flush", str(FLUSH_S), *CASES[case],
    ]  # fmt: skip
    with RecordingChild(args, log_dir=tmp_path, name=f"full-{case}") as child:
        child.wait_for("the child to end", lambda c: c.said("done"), timeout=60)
        child.finish()
    _check_clean_exit(child)
    assert len(child.episodes) == 2, child.describe()
    _check_earlier_episode(child)

    failed = child.episodes[1]
    (full,) = child.said("storage_full")
    at, message, mro = full.split(" ", 1)[0], *child_mod.json_fields(full.split(" ", 1)[1])
    _check_message(message, failed.partial, "writing samples")
    assert "TgError" in mro and mro[0] == "StorageFullError", mro

    # The writer keeps failing fast with the same error: no hang, no other exception.
    again = [line.split(" ", 3) for line in child.said("again")]
    assert [(stream, kind) for stream, kind, _, _ in again] == [
        ("joints", "StorageFullError"),
        ("camera", "StorageFullError"),
    ], child.describe()
    assert all(float(seconds) < 5.0 for _, _, seconds, _ in again), again
    (closing,) = child.said("close_error")
    assert closing.split(" ", 1)[0] == "StorageFullError", closing

    # The partial holds what was flushed before the failure, and recovers without the limit.
    assert failed.final is None and failed.partial.exists(), child.describe()
    assert failed.partial.stat().st_size <= int(CASES[case][1])
    assert episodes.list_episodes(root) == [child.episodes[0].final]
    on_disk = _recover_and_check(failed.partial, failed.counts, f"[{case}]")
    noticed = float(at)
    lower = {n: failed.appended_by(n, noticed - FLUSH_S - MARGIN_S) for n in ("camera", "joints")}
    assert all(on_disk[n] >= lower[n] for n in lower), (
        f"[{case}] on disk {on_disk}; appended {FLUSH_S + MARGIN_S} s before the error was seen: "
        f"{lower}; appended in all: {failed.counts}"
    )
    assert on_disk["camera"] > 0 and on_disk["joints"] > 0, on_disk
    print(f"\n[{case}] on disk {on_disk} of {failed.counts}; lower bound {lower}")


@pytest.mark.slow
def test_disk_full_while_closing(tmp_path: Path) -> None:
    """All samples are on disk; close() cannot add the aligned view: the episode stays partial."""
    root = tmp_path / "dataset"
    args = [
        "record", str(root), "--complete", "1", "--complete-s", "0.5", "--final-s", "3",
        "--speed", "0", "--flush", str(FLUSH_S), "--close-final", "--limit-at-close", "0",
    ]  # fmt: skip
    with RecordingChild(args, log_dir=tmp_path, name="full-at-close") as child:
        child.wait_for("the child to end", lambda c: c.said("done"), timeout=60)
        child.finish()
    _check_clean_exit(child)
    _check_earlier_episode(child)
    failed = child.episodes[1]
    assert failed.closing_at is not None and failed.final is None, child.describe()
    (full,) = child.said("storage_full")
    _, message, mro = full.split(" ", 1)[0], *child_mod.json_fields(full.split(" ", 1)[1])
    _check_message(message, failed.partial, "finalising the episode")
    assert mro[0] == "StorageFullError", mro
    # The writer gave up in close(): later calls say it is closed (quickly).
    again = [line.split(" ", 3) for line in child.said("again")]
    assert {kind for _, kind, _, _ in again} <= {"WriterClosedError", "StorageFullError"}, again
    assert all(float(seconds) < 5.0 for _, _, seconds, _ in again), again

    assert episodes.list_episodes(root) == [child.episodes[0].final]
    on_disk = _recover_and_check(failed.partial, failed.counts, "[close]")
    assert on_disk == failed.counts, f"the child let every sample reach the disk: {on_disk} {failed.counts}"


@pytest.mark.slow
def test_disk_full_when_the_next_episode_starts(tmp_path: Path) -> None:
    """Not even the new episode's layout fits: the writer's constructor raises StorageFullError."""
    root = tmp_path / "dataset"
    args = [
        "record", str(root), "--complete", "1", "--complete-s", "0.5", "--final-s", "3",
        "--speed", "0", "--flush", str(FLUSH_S), "--limit-at-open", "2000",
    ]  # fmt: skip
    with RecordingChild(args, log_dir=tmp_path, name="full-at-open") as child:
        child.wait_for("the child to end", lambda c: c.said("done"), timeout=60)
        child.finish()
    _check_earlier_episode(child)
    assert len(child.episodes) == 1, child.describe()
    (full,) = child.said("storage_full_at_open")
    message, mro = child_mod.json_fields(full)
    assert mro[0] == "StorageFullError" and "TgError" in mro, f"{mro}: {message}"
    (partial,) = root.glob("*.h5.partial")
    _check_message(message, partial, "creating the episode layout")
    assert episodes.list_episodes(root) == [child.episodes[0].final]
    if child.proc.returncode == -signal.SIGSEGV:
        # Upstream: after a failed metadata write, HDF5 (2.0.0, h5py 3.16) cannot close the
        # dataset that holds the URDF string and crashes in H5_term_library at exit.
        pytest.xfail("HDF5 segfaults at interpreter exit after the layout could not be written")
    _check_clean_exit(child)
