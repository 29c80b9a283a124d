"""In-place annotation writes (``episodes.update_in_place``): SIGKILL at every stage and at random moments.

The updater is ``_updating_child.py`` run with ``sys.executable``. Whatever the
moment of the kill, the episode must read (through ``episodes.open``) with the
old or the new annotations and unchanged raw data; ``tg recover`` then leaves a
file that plain h5py reads the same way. Random kill moments come from a seeded
``random.Random``; replay a failure with ``TG_CRASH_SEED=<seed>``.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

import episodes
from sim_envs import record_synthetic_episode
from tg_config import load_session
from training_ground.cli import app

if sys.platform == "win32":
    pytest.skip("needs POSIX signals", allow_module_level=True)

REPO = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("_updating_child.py")
SEED = int(os.environ.get("TG_CRASH_SEED", "20261127"))


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clean")
    session = load_session(REPO / "launch/sim_pick_place.yaml").model_copy(update={"out": str(out)})
    return record_synthetic_episode(session.resolve(), duration_s=3.0, seed=5, success=True)


def _copy(clean: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / clean.name
    shutil.copyfile(clean, target)
    return target


def _raw_digest(f: h5py.File) -> str:
    """Every raw stream dataset, the aligned view and the metadata: all that an update must not touch."""
    digest = hashlib.sha256()
    for group in ("streams", "aligned"):
        f[group].visititems(
            lambda name, obj: (
                digest.update(name.encode() + np.ascontiguousarray(obj[()]).tobytes())
                if isinstance(obj, h5py.Dataset)
                else None
            )
        )
    digest.update(repr(sorted((k, str(v)) for k, v in f.attrs.items())).encode())
    return digest.hexdigest()


def _through_reader(path: Path) -> tuple[str, int | None]:
    """The raw digest and the probe's round as ``episodes.open`` sees the episode."""
    with episodes.open(path) as ep:
        f = ep._file
        probe = f.get("annotations/probe")
        return _raw_digest(f), None if probe is None else int(probe.attrs["round"])


def _child(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen(
        [sys.executable, str(CHILD), *args], stdout=subprocess.PIPE, text=True, env=env, cwd=REPO
    )


def _no_leftovers(path: Path) -> None:
    assert not episodes.has_pending_update(path)
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


@pytest.mark.parametrize("stage", ["journal-half", "journal-committed", "apply-half", "applied"])
def test_annotation_write_killed_at_each_stage_keeps_old_or_new(
    clean: Path, tmp_path: Path, stage: str
) -> None:
    path = _copy(clean, tmp_path / "ds")
    with h5py.File(path, "r") as f:
        raw = _raw_digest(f)
    expected = episodes.annotate_episode(_copy(clean, tmp_path / "pristine"), write=True).annotations
    child = _child("annotate", str(path), stage)
    out, _ = child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL, (stage, out)
    # Killed before the journal was in place: the old episode. After: the new one, read through the journal.
    want = None if stage == "journal-half" else expected
    # A journal never committed is no pending update (the episode is unchanged), only a leftover.
    assert episodes.has_pending_update(path) == (want is not None)
    assert bool(episodes.update_leftovers(path)) == (want is None)
    assert episodes.read_annotations(path) == want, stage
    with episodes.open(path) as ep:
        assert _raw_digest(ep._file) == raw, stage
    pending = episodes.validate_episode(path).findings
    if want is None:
        assert not pending, stage
    else:
        warned = [(f.check, f.severity) for f in pending]
        assert warned == [("episode.pending_update", episodes.Severity.WARNING)]
        assert re.search(rf"left \.{path.name}\.journal; run `tg recover", pending[0].message), stage
    assert episodes.recover(path) == path
    assert not episodes.validate_episode(path).findings, stage
    _no_leftovers(path)
    with h5py.File(path, "r") as f:  # plain HDF5, no journal in between
        assert _raw_digest(f) == raw, stage
        assert ("annotations" in f and "segments" in f["annotations"]) == (want is not None), stage
    assert episodes.read_annotations(path) == want, stage
    again = episodes.annotate_episode(path)
    assert again.changed == (want is None) and again.annotations == expected


def test_sigkill_at_random_moments_leaves_old_or_new_annotations(clean: Path, tmp_path: Path) -> None:
    path = _copy(clean, tmp_path / "ds")
    with h5py.File(path, "r") as f:
        raw = _raw_digest(f)
    rng = random.Random(SEED)
    committed = 0
    for kill in range(6):
        child = _child("loop", str(path))
        rounds: list[int] = []
        reader = threading.Thread(
            target=lambda c=child, r=rounds: [r.append(int(line.split()[1])) for line in c.stdout or ()]
        )
        reader.start()
        while not rounds:  # let it commit once, so the kill lands among updates
            time.sleep(0.01)
            assert child.poll() is None, "the updater died on its own"
        delay = rng.uniform(0.0, 0.3)
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        reader.join(timeout=30)
        where = f"seed {SEED}, kill {kill} after {delay:.3f} s"
        # Every run restarts at round 1; a round counts as committed once the child said so.
        last = rounds[-1]
        digest, seen = _through_reader(path)
        assert digest == raw, where
        assert seen in (last, last + 1), f"{where}: probe round {seen}, last committed {last}"
        if episodes.has_pending_update(path) or episodes.update_leftovers(path):
            episodes.recover(path)
        _no_leftovers(path)
        with h5py.File(path, "r") as f:
            assert _raw_digest(f) == raw, where
            assert int(f["annotations/probe"].attrs["round"]) == seen, where
        committed += last
    assert committed >= 6


def test_an_update_that_raises_changes_nothing(clean: Path, tmp_path: Path) -> None:
    path = _copy(clean, tmp_path)
    before = path.read_bytes()
    with pytest.raises(RuntimeError, match="changed my mind"), episodes.update_in_place(path) as f:
        f.require_group("annotations").attrs["x"] = 1
        raise RuntimeError("changed my mind")
    assert path.read_bytes() == before
    _no_leftovers(path)


def test_update_in_place_round_trip_copies_nothing(clean: Path, tmp_path: Path) -> None:
    path = _copy(clean, tmp_path)
    size = path.stat().st_size
    with episodes.update_in_place(path) as f:
        f.require_group("annotations").create_dataset("note", data=np.arange(10))
    with h5py.File(path, "r") as f:
        np.testing.assert_array_equal(f["annotations/note"][()], np.arange(10))
    assert path.stat().st_size - size < 64 * 1024  # only the new objects, no second copy
    _no_leftovers(path)


def test_concurrent_updates_are_refused(clean: Path, tmp_path: Path) -> None:
    path = _copy(clean, tmp_path)
    with episodes.update_in_place(path) as f:
        f.require_group("annotations").attrs["first"] = True
        busy = pytest.raises(episodes.EpisodeBusyError, match="another update of this episode is in progress")
        with busy, episodes.update_in_place(path):
            pass
        with pytest.raises(episodes.EpisodeBusyError, match="another update of this episode is in progress"):
            episodes.realign(path, rate_hz=10.0)  # a copy renamed over the file would lose this update
    with h5py.File(path, "r") as f:
        assert bool(f["annotations"].attrs["first"])


def test_a_damaged_journal_is_reported_not_applied(clean: Path, tmp_path: Path) -> None:
    path = _copy(clean, tmp_path)
    journal = path.with_name(f".{path.name}.journal")
    journal.write_bytes(b"TG-JOURNAL-1\n" + b"\0" * 100)
    before = path.read_bytes()
    with pytest.raises(episodes.CorruptEpisodeError, match=r"damaged update journal of .*checksum mismatch"):
        episodes.recover(path)
    assert path.read_bytes() == before


def _update(path: Path, change: bool = False) -> None:
    with episodes.update_in_place(path) as f:
        if change:
            f.attrs["touched"] = True


def test_update_in_place_refuses_what_is_not_a_finished_episode(tmp_path: Path) -> None:
    with pytest.raises(episodes.NotAnEpisodeError, match=r"missing\.h5: no such file"):
        _update(tmp_path / "missing.h5")
    text = tmp_path / "text.h5"
    text.write_text("not hdf5")
    with pytest.raises(
        episodes.NotAnEpisodeError, match=r"text\.h5: not a readable HDF5 file, so not an episode"
    ):
        _update(text)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f.attrs["format"] = "something-else"
    before = other.read_bytes()
    with pytest.raises(episodes.NotAnEpisodeError, match="HDF5 file but not a Training Ground episode"):
        _update(other, change=True)
    assert other.read_bytes() == before
    with pytest.raises(
        episodes.EpisodeBusyError, match="still recording or was interrupted; run `tg recover`"
    ):
        _update(tmp_path / "x.h5.partial")


def test_tg_recover_finishes_an_interrupted_update(clean: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    path = _copy(clean, tmp_path / "ds")
    child = _child("annotate", str(path), "journal-committed")
    child.communicate(timeout=60)
    assert episodes.has_pending_update(path)
    result = CliRunner().invoke(app, ["recover", str(path.parent)])
    assert result.exit_code == 0, result.output
    assert "finished its interrupted update" in result.output
    _no_leftovers(path)
    assert episodes.read_annotations(path) is not None
