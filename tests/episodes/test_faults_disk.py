"""The fault suite's disk classes (issue 13 items 3, 4, 8): a full disk (ENOSPC on a small tmpfs),
read-only outputs (a read-only bind mount, an immutable file) under every writing verb.

Each verb must end with one line per file naming it (and, on a full disk, the space it needs),
exit 1, never a traceback or a crash, and leave nothing behind: no ``.journal.tmp``,
``.updating`` or ``.partial`` (or ``tg recover`` recognises and removes what a killed one left).
One CLI run per class; the rest in-process.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import episodes
from tests.disks import CRASH_MARKS, fill, hidden_files, immutable, read_only, run_tg, small_disk
from tests.episodes.fault_catalogue import raw_digest, record_clean

if not sys.platform.startswith("linux"):
    pytest.skip("tmpfs, bind mounts and chattr are Linux's", allow_module_level=True)

EXPORT = ["--qa", "any", "--state", "joint_position", "--action", "gripper", "--image-size", "240x320"]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("recorded")
    return [record_clean(root) for _ in range(3)]


def _copy_dataset(recorded: list[Path], directory: Path) -> list[Path]:
    directory.mkdir()
    return [Path(shutil.copyfile(p, directory / p.name)) for p in recorded]


@pytest.fixture
def on_small_disk(tmp_path: Path, recorded: list[Path]) -> Iterator[list[Path]]:
    """The three episodes in ``ds/`` on an 8 MiB tmpfs (fill it with :func:`fill`)."""
    with small_disk(tmp_path / "disk") as disk:
        yield _copy_dataset(recorded, disk / "ds")


def clean_failure(done: object, *names: object) -> str:
    """The output of a `tg` run that must end with exit 1, naming ``names``, with no crash."""
    out = done.stdout + done.stderr  # type: ignore[attr-defined]
    assert done.returncode == 1, out  # type: ignore[attr-defined]
    assert not [mark for mark in CRASH_MARKS if mark in out], out
    for name in names:
        assert str(name) in out, (name, out)
    return out


# ---------------------------------------------------------------- full disk


def test_annotate_on_a_full_disk_names_each_episode_and_the_space_needed(on_small_disk: list[Path]) -> None:
    ds = on_small_disk[0].parent
    filler = fill(ds.parent, 16 * 1024)
    out = clean_failure(run_tg("annotate", str(ds), "--workers", "1"), *on_small_disk)
    for path in on_small_disk:
        assert re.search(
            rf"{re.escape(str(path))}: not enough free space for updating {path.name} in place: needs about "
            r"[\d.]+ MB, [\d.]+ MB free on its disk",
            out,
        ), out
    assert hidden_files(ds) == [], "an update left its journal or work file behind"
    for path in on_small_disk:
        assert episodes.read_annotations(path) is None
        assert "episode.pending_update" not in episodes.validate_episode(path).counts()
    filler.unlink()
    again = run_tg("annotate", str(ds), "--workers", "1")
    assert again.returncode == 0, again.stdout + again.stderr
    assert all(episodes.read_annotations(p) is not None for p in on_small_disk)


def test_update_in_place_on_a_full_disk_is_refused_untouched(on_small_disk: list[Path]) -> None:
    path = on_small_disk[0]
    before = path.read_bytes()
    fill(path.parent.parent, 16 * 1024)
    with (
        pytest.raises(episodes.StorageFullError, match=rf"^{re.escape(str(path))}: not enough free space"),
        episodes.update_in_place(path) as f,
    ):
        f.require_group("annotations").create_dataset("big", data=b"x" * 100_000)
    assert path.read_bytes() == before and hidden_files(path.parent) == []


def test_validate_write_on_a_full_disk_reports_each_episode(on_small_disk: list[Path]) -> None:
    fill(on_small_disk[0].parent.parent, 16 * 1024)
    reports = episodes.validate_episodes(on_small_disk, write=True, workers=1)
    for report in reports:
        (finding,) = [f for f in report.findings if f.check == "file.unreadable"]
        stored = rf"result not stored: {re.escape(report.path)}: not enough free space"
        assert re.match(stored, finding.message), finding.message
        assert not report.written
    assert hidden_files(on_small_disk[0].parent) == []


def test_realign_on_a_full_disk_keeps_every_episode_and_leaves_no_copy(on_small_disk: list[Path]) -> None:
    ds = on_small_disk[0].parent
    before = {p: raw_digest(p) for p in on_small_disk}
    filler = fill(ds.parent, 300 * 1024)  # less than one episode: no copy fits
    out = clean_failure(run_tg("realign", str(ds), "--rate", "20"), *on_small_disk)
    assert "not enough free space for rewriting" in out and "3 file(s) not realigned" in out, out
    assert hidden_files(ds) == []
    for path in on_small_disk:
        with episodes.open(path) as ep:
            assert ep.aligned_info.rate_hz == 10
        assert raw_digest(path) == before[path]
    filler.unlink()
    assert run_tg("realign", str(ds), "--rate", "20").returncode == 0


@pytest.mark.parametrize(("fmt", "name", "says"), [
    ("lerobot", "lr", "disk full while exporting (No space left on device"),
    ("robomimic", "rm.hdf5", "not enough free space for writing demo_0"),
])  # fmt: skip
def test_export_on_a_full_disk_is_one_line_and_leaves_no_partial(
    on_small_disk: list[Path], fmt: str, name: str, says: str
) -> None:
    """robomimic: HDF5 segfaulted (3 of 3 runs) when a write failed; lerobot: a PyAV traceback."""
    ds = on_small_disk[0].parent
    out_path = ds.parent / name
    fill(ds.parent, 20 * 1024)
    done = run_tg("export", str(ds), *EXPORT, "--format", fmt, "--out", str(out_path))
    assert done.returncode != -11, "segmentation fault"
    out = clean_failure(done, out_path, says)
    assert "free some space and run it again" in out
    assert not out_path.exists() and hidden_files(ds.parent) == []


def test_robomimic_on_a_disk_filled_after_its_check_is_still_one_error(on_small_disk: list[Path]) -> None:
    """Another process may fill the disk after the free-space check: HDF5 then fails a write, and
    without a chunk cache that is an exception, not the segfault of closing an unwritable chunk."""
    ds = on_small_disk[0].parent
    fill(ds.parent, 400 * 1024)
    script = f"""
import episodes
from episodes._export import _robomimic
_robomimic._demo_bytes = lambda layout, episode: 0  # the check passes: the disk fills later
options = episodes.ExportOptions(
    filter=episodes.EpisodeFilter(qa="any"),
    state=["joint_position"],
    action=["gripper"],
    image_size=(240, 320),
)
try:
    episodes.export_robomimic({str(ds)!r}, {str(ds.parent / "rm.hdf5")!r}, options)
except episodes.StorageFullError as exc:
    print("error:", exc)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
    )
    assert done.returncode == 0, f"exit {done.returncode} (-11: segmentation fault)\n{done.stderr[-2000:]}"
    assert f"error: {ds.parent / 'rm.hdf5'}: disk full while exporting" in done.stdout, (
        done.stdout + done.stderr
    )
    assert "it needs more than the" in done.stdout and hidden_files(ds.parent) == []


def test_recover_on_a_full_disk_names_the_partial_that_is_still_there(tmp_path: Path) -> None:
    """Issue 13 item 8: the error named .recover-<id>/<id>.h5.partial, removed by then."""
    partial = record_clean(tmp_path / "rec", close=False)
    with small_disk(tmp_path / "disk") as disk:
        moved = Path(shutil.copyfile(partial, disk / partial.name))
        fill(disk, 64 * 1024)
        with pytest.raises(
            episodes.StorageFullError,
            match=rf"^{re.escape(str(moved))}: not enough free space for recovering it \(the partial is "
            "unchanged\\)",
        ):
            episodes.recover(moved, force=True)
        assert moved.exists() and hidden_files(disk) == []


# ---------------------------------------------------------------- leftovers of killed updates


def test_recover_removes_what_a_killed_update_left_and_validate_does_not_warn(
    tmp_path: Path, recorded: list[Path]
) -> None:
    """A realign killed mid-copy leaves .<id>.h5.updating; an annotate killed mid-journal, .journal.tmp."""
    first, second, third = _copy_dataset(recorded, tmp_path / "ds")
    shutil.copyfile(first, first.with_name(f".{first.name}.updating"))
    second.with_name(f".{second.name}.journal.tmp").write_bytes(b"TG-JOURNAL-1\n half")
    assert [len(episodes.update_leftovers(p)) for p in (first, second, third)] == [1, 1, 0]
    for path in (first, second):
        assert not episodes.has_pending_update(path)
        assert "episode.pending_update" not in episodes.validate_episode(path).counts()
    with (
        episodes.update_in_place(first),  # a live update's files are not leftovers
        pytest.raises(episodes.EpisodeBusyError, match="another update of this episode is in progress"),
    ):
        episodes.recover(first)
    done = run_tg("recover", str(first.parent))
    assert done.returncode == 0, done.stdout + done.stderr
    for path in (first, second):
        assert f"{path}: removed what an unfinished update left" in done.stdout
    assert hidden_files(first.parent) == []
    assert "nothing to recover" in run_tg("recover", str(first.parent)).stdout


# ---------------------------------------------------------------- read-only outputs


def test_annotate_on_a_read_only_mount_reports_each_file_and_the_statistics(
    tmp_path: Path, recorded: list[Path]
) -> None:
    paths = _copy_dataset(recorded, tmp_path / "ds")
    ds = paths[0].parent
    with read_only(ds):
        out = clean_failure(run_tg("annotate", str(ds), "--workers", "1"), *paths)
        assert out.count("not writable (Read-only file system) while opening it for an update") == 3, out
        assert f"{ds / 'dataset_stats.json'}: not writable (Read-only file system)" in out, out


def test_read_only_outputs_of_realign_validate_and_export(tmp_path: Path, recorded: list[Path]) -> None:
    paths = _copy_dataset(recorded, tmp_path / "ds")
    ds = paths[0].parent
    with read_only(ds):
        with pytest.raises(episodes.EpisodeWriteError, match=rf"^{re.escape(str(paths[0]))}: not writable"):
            episodes.realign(paths[0], rate_hz=20)
        (report,) = episodes.validate_episodes(paths[:1], write=True, workers=1)
        assert any("result not stored" in f.message and "Read-only" in f.message for f in report.findings)
        for exporter, name in ((episodes.export_lerobot, "lr"), (episodes.export_robomimic, "rm.hdf5")):
            options = episodes.ExportOptions(
                filter=episodes.EpisodeFilter(qa="any"), state=["joint_position"], action=["gripper"]
            )
            with pytest.raises(
                episodes.EpisodeWriteError,
                match=rf"^{re.escape(str(ds / name))}: not writable \(Read-only file system\) while "
                "exporting; nothing was exported",
            ):
                exporter(ds, ds / name, options)
        assert hidden_files(ds) == []


def test_an_immutable_episode_does_not_stop_annotate_of_its_directory(
    tmp_path: Path, recorded: list[Path]
) -> None:
    locked, *others = _copy_dataset(recorded, tmp_path / "ds")
    with immutable(locked):
        out = clean_failure(run_tg("annotate", str(locked.parent), "--workers", "1"), locked)
        assert f"{locked}: not writable (Operation not permitted) while opening it for an update" in out
    assert episodes.read_annotations(locked) is None
    assert all(episodes.read_annotations(p) is not None for p in others)
    assert "dataset statistics:" in out and "2 episodes" in out, out


def test_recover_into_a_read_only_directory_names_the_partial(tmp_path: Path) -> None:
    partial = record_clean(tmp_path / "rec", close=False)
    with (
        read_only(partial.parent),
        pytest.raises(
            episodes.EpisodeWriteError,
            match=rf"^{re.escape(str(partial))}: not writable \(Read-only file system\) while recovering",
        ),
    ):
        episodes.recover(partial, force=True)
    assert partial.exists() and hidden_files(partial.parent) == []
