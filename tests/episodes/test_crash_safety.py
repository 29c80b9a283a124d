"""Crash safety with real processes and real signals: SIGKILL a recorder, SIGKILL a recovery.

The recorder is ``_recording_child.py`` run with ``sys.executable``; it reports
what it appended (with its monotonic time) on stdout, and the test kills it at a
moment drawn from a seeded ``random.Random``. Every assertion message carries
the seed and the moment, so a failure can be replayed with ``TG_CRASH_SEED=<seed>``.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import sys
import time
from pathlib import Path

import pytest

import episodes
from tests.episodes import _recording_child as child_mod

if sys.platform == "win32":
    pytest.skip("needs POSIX signals", allow_module_level=True)


RecordingChild = child_mod.RecordingChild

SEED = int(os.environ.get("TG_CRASH_SEED", "20240611"))
FLUSH_S = 0.2
"""The children's flush_interval_s: at most this much recorded data may be lost."""
MARGIN_S = 0.3
"""Slack for writing and flushing a batch after the flush is due (a busy 2-core CI box)."""
JOINT_BATCH = 7  # the child appends one camera frame and up to 7 joint samples per batch


def _fingerprint(path: Path) -> tuple[int, int, str]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest()


def _stale_work_dirs(root: Path) -> list[Path]:
    return sorted(root.glob(".recover-*"))


def _check_complete(path: Path, counts: dict[str, int], where: str) -> None:
    with episodes.open(path) as ep:
        assert ep.metadata.status == "complete", f"{where}: {path.name} status {ep.metadata.status}"
        assert not ep.is_partial
        got = child_mod.check_samples(ep, where)
        assert got == counts, f"{where}: {path.name} holds {got}, the child appended {counts}"
        child_mod.check_aligned(ep, where)


# ---------------------------------------------------------------- 1. SIGKILL while recording


def _wait_for_status_complete(child: RecordingChild, partial: Path) -> str:
    """Poll the partial with a reader until close() has set status=complete (or renamed it)."""
    began = time.monotonic()
    polls = mid_update = 0
    while time.monotonic() - began < 10 and child.proc.poll() is None:
        polls += 1
        try:
            with episodes.open(partial) as ep:
                if ep.metadata.status == "complete":
                    break
        except episodes.CorruptEpisodeError:
            mid_update += 1  # caught the writer rewriting attributes (SWMR does not cover them)
        except episodes.NotAnEpisodeError:
            break  # renamed away: too late
    took = (time.monotonic() - began) * 1e3
    return f"after {polls} polls ({mid_update} mid-update), {took:.1f} ms"


# (what the kill waits for, range of the random part)
MOMENTS = {
    "at_open": "right after the third episode's writer opened (+0..50 ms)",
    "early": "after 0.25..0.5 s of data in the third episode",
    "mid": "after 0.8..1.5 s of data",
    "late": "after 1.8..2.6 s of data",
    "finalising": "0..30 ms after the child printed 'closing' (close() of 20 s of data)",
    "finalising_now": "as soon as the child printed 'closing'",
    "finalising_status_set": "once a reader sees status=complete in the partial (fsync, rename pending)",
}


@pytest.mark.slow
@pytest.mark.parametrize("moment", list(MOMENTS))
def test_sigkill_while_recording_loses_at_most_one_flush_interval(tmp_path: Path, moment: str) -> None:
    rng = random.Random(f"{SEED}-record-{moment}")
    root = tmp_path / "dataset"
    finalising = moment.startswith("finalising")
    args = ["record", str(root), "--complete", "2", "--complete-s", "0.4", "--flush", str(FLUSH_S)]
    if finalising:
        # Paced at 20x real time, so the flushed data before the kill is a real bound.
        args += ["--final-s", "20", "--speed", "20", "--close-final"]
    else:
        args += ["--final-s", "60", "--speed", "1"]

    def third_has(seconds: float) -> object:
        return lambda c: len(c.episodes) >= 3 and c.episodes[2].counts.get("camera", 0) / 30.0 >= seconds

    with RecordingChild(args, log_dir=tmp_path) as child:
        detail = ""
        if moment == "at_open":
            child.wait_for("the third episode", lambda c: len(c.episodes) >= 3)
            delay = rng.uniform(0.0, 0.05)
            time.sleep(delay)
            detail = f"{delay * 1e3:.0f} ms after it opened"
        elif finalising:
            child.wait_for("closing", lambda c: len(c.episodes) >= 3 and c.episodes[2].closing_at is not None)
            delay = rng.uniform(0.0, 0.03) if moment == "finalising" else 0.0
            if delay:
                time.sleep(delay)
            detail = f"{delay * 1e3:.1f} ms after 'closing'"
            if moment == "finalising_status_set":
                detail = _wait_for_status_complete(child, child.episodes[2].partial)
        else:
            lo, hi = {"early": (0.25, 0.5), "mid": (0.8, 1.5), "late": (1.8, 2.6)}[moment]
            data_s = rng.uniform(lo, hi)
            child.wait_for(f"{data_s:.2f} s of data", third_has(data_s))
            detail = f"after {data_s:.3f} s of data"
        killed_at = child.kill()

    where = f"[seed={SEED} moment={moment}: {MOMENTS[moment]}; killed {detail}]"
    assert child.proc.returncode in (-9, 0), (
        f"{where}: child ended with {child.proc.returncode}\n{child.describe()}"
    )
    eps = child.episodes
    assert len(eps) == 3, f"{where}: child opened {len(eps)} episodes\n{child.describe()}"
    done = [ep for ep in eps if ep.final is not None]
    for ep in eps[:2]:
        assert ep.final is not None, f"{where}: earlier episode not closed\n{child.describe()}"
        _check_complete(ep.final, ep.counts, f"{where} earlier episode")

    last = eps[2]
    final = last.partial.with_name(last.partial.name.removesuffix(".partial"))
    if last.final is not None or (final.exists() and not last.partial.exists()):
        # The kill came after the atomic rename: a complete episode, with everything.
        assert finalising, f"{where}: third episode finalised although it was never closed"
        assert not last.partial.exists(), f"{where}: both {final.name} and its partial exist"
        _check_complete(final, last.counts, f"{where} finalised episode")
        outcome = "complete (killed after the rename)"
    else:
        assert last.partial.exists(), f"{where}: neither {last.partial} nor {final} exists"
        assert not final.exists(), f"{where}: both {final.name} and its partial exist"
        listed = episodes.list_episodes(root)
        assert listed == sorted(ep.final for ep in done), f"{where}: list_episodes gave {listed}"
        assert last.partial in episodes.list_episodes(root, include_partial=True), where

        before = _fingerprint(last.partial)
        with episodes.open(last.partial) as ep:  # read-only, SWMR: the writer died
            assert ep.is_partial
            assert ep.metadata.status in ("recording", "complete"), f"{where}: {ep.metadata.status}"
            on_disk = child_mod.check_samples(ep, f"{where} partial")
        assert _fingerprint(last.partial) == before, f"{where}: reading the partial modified it"

        bound_at = killed_at - FLUSH_S - MARGIN_S
        lower = {name: last.appended_by(name, bound_at) for name in ("camera", "joints")}
        # A batch may be flushed after it was appended but before its line was printed.
        upper = {
            "camera": last.counts.get("camera", 0) + 1,
            "joints": last.counts.get("joints", 0) + JOINT_BATCH,
        }
        numbers = (
            f"on disk {on_disk}; appended by kill-{FLUSH_S}-{MARGIN_S} s: {lower}; "
            f"appended before the kill: {last.counts}"
        )
        for name in ("camera", "joints"):
            assert lower[name] <= on_disk[name] <= upper[name], f"{where}: {numbers}"

        if not any(on_disk.values()):
            # Killed before the first flush: a valid file with nothing to recover.
            with pytest.raises(episodes.CorruptEpisodeError, match="no stream has any sample"):
                episodes.recover(last.partial)
            assert last.partial.exists(), f"{where}: recover deleted a partial it could not recover"
            assert not _stale_work_dirs(root), f"{where}: {_stale_work_dirs(root)} left behind"
            print(f"\n{where} -> {numbers} -> nothing to recover (killed before the first flush)")
            return

        recovered = episodes.recover(last.partial)
        assert recovered == final, where
        assert not last.partial.exists(), f"{where}: partial kept after a successful recovery"
        with episodes.open(recovered) as ep:
            assert ep.metadata.status == "recovered", f"{where}: status {ep.metadata.status}"
            got = child_mod.check_samples(ep, f"{where} recovered")
            assert got == on_disk, f"{where}: recovered {got}, but the partial held {on_disk}"
            ticks = child_mod.check_aligned(ep, f"{where} recovered")
        outcome = f"{numbers} -> recovered {got}, {ticks} aligned ticks"

    everything = sorted([*(ep.final for ep in eps[:2]), final])
    assert episodes.list_episodes(root) == everything, where
    assert episodes.list_episodes(root, include_partial=True) == everything, where
    assert not _stale_work_dirs(root), f"{where}: {_stale_work_dirs(root)} left behind"
    print(f"\n{where} -> {outcome}")


# ---------------------------------------------------------------- 2. SIGKILL while recovering

BIG = {"width": 320, "height": 240}


@pytest.fixture(scope="module")
def big_partial(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A partial of 20 s of 320x240 video and joints whose recorder was killed once all was flushed."""
    base = tmp_path_factory.mktemp("big_partial")
    args = [
        "record", str(base / "src"), "--complete", "0", "--final-s", "20", "--speed", "0",
        "--flush", str(FLUSH_S), "--width", str(BIG["width"]), "--height", str(BIG["height"]),
    ]  # fmt: skip
    with RecordingChild(args, log_dir=base, name="big-recorder") as child:
        child.wait_for("all samples appended", lambda c: c.episodes and c.episodes[-1].idle_at, timeout=60)
        ep = child.episodes[-1]
        # Wait for the flush that puts the last samples on disk (seen through a SWMR reader).
        deadline = time.monotonic() + 30
        while True:
            with episodes.open(ep.partial) as reader:
                on_disk = {name: info.count for name, info in reader.streams.items()}
            if on_disk == ep.counts or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        child.kill()
    assert on_disk == ep.counts, f"the recorder flushed {on_disk} of {ep.counts} within 30 s"
    data = ep.partial.read_bytes()
    # How long recover() takes here, to spread the kills over it.
    calib = base / "calibrate"
    calib.mkdir()
    shutil.copyfile(ep.partial, calib / ep.partial.name)
    began = time.monotonic()
    episodes.recover(calib / ep.partial.name)
    duration = time.monotonic() - began
    print(f"\nbig partial: {len(data) / 1e6:.1f} MB, {ep.counts}; in-process recover() took {duration:.3f} s")
    return {
        "path": ep.partial,
        "counts": dict(ep.counts),
        "sha256": hashlib.sha256(data).hexdigest(),
        "recover_s": duration,
    }


def _fresh_copy(big: dict[str, object], tmp_path: Path) -> Path:
    source = big["path"]
    assert isinstance(source, Path)
    root = tmp_path / "dataset"
    root.mkdir()
    partial = root / source.name
    shutil.copyfile(source, partial)
    return partial


def _check_recovered_big(partial: Path, big: dict[str, object], where: str) -> None:
    root = partial.parent
    final = root / partial.name.removesuffix(".partial")
    assert not partial.exists(), f"{where}: partial kept after a successful recovery"
    assert not _stale_work_dirs(root), f"{where}: stale work dirs {_stale_work_dirs(root)}"
    assert episodes.list_episodes(root, include_partial=True) == [final], where
    with episodes.open(final) as ep:
        assert ep.metadata.status == "recovered", f"{where}: status {ep.metadata.status}"
        got = child_mod.check_samples(ep, where, **BIG)
        assert got == big["counts"], f"{where}: recovered {got} of {big['counts']}"
        child_mod.check_aligned(ep, where)


RECOVER_KILLS = ["work_file_appears", "work_file_finalised", "random_1", "random_2", "random_3"]


@pytest.mark.slow
@pytest.mark.parametrize("moment", RECOVER_KILLS)
def test_sigkill_during_recover_leaves_partial_recoverable(
    tmp_path: Path, big_partial: dict[str, object], moment: str
) -> None:
    rng = random.Random(f"{SEED}-recover-{moment}")
    partial = _fresh_copy(big_partial, tmp_path)
    root = partial.parent
    recover_s = float(big_partial["recover_s"])  # type: ignore[arg-type]
    with RecordingChild(["recover", str(partial)], log_dir=tmp_path, name="recoverer") as child:
        child.wait_for("recovering", lambda c: any(line.startswith("recovering") for line in c.lines))
        if moment.startswith("work_file"):
            # Kill while the copy is written inside the hidden work directory, or once it was
            # finalised there (renamed to <id>.h5, provenance being rewritten, about to move).
            pattern = ".recover-*/*.partial" if moment == "work_file_appears" else ".recover-*/*.h5"
            deadline = time.monotonic() + 30
            while not any(p.is_file() for p in root.glob(pattern)):
                if child.proc.poll() is not None or time.monotonic() > deadline:
                    break  # missed it (the recovery finished): still a valid trial
                time.sleep(0.0005)
            detail = f"once {pattern} existed"
        else:
            delay = rng.uniform(0.0, 1.6 * recover_s)
            time.sleep(delay)
            detail = f"{delay * 1e3:.0f} ms after 'recovering' (in-process recover: {recover_s * 1e3:.0f} ms)"
        child.kill()
    where = f"[seed={SEED} moment={moment}: killed {detail}]"
    state = sorted(str(p.relative_to(root)) for p in root.rglob("*"))
    finished = any(line.startswith("recovered") for line in child.lines)
    print(f"\n{where}: recover child {'finished' if finished else 'killed'}; left {state}")

    if not finished:
        if partial.exists():
            sha = hashlib.sha256(partial.read_bytes()).hexdigest()
            assert sha == big_partial["sha256"], f"{where}: recover modified the partial; left {state}"
            with episodes.open(partial) as ep:
                assert {n: i.count for n, i in ep.streams.items()} == big_partial["counts"], where
            assert partial in episodes.list_episodes(root, include_partial=True), where
            # Run it again, in-process: it must clean up and finish the job.
            episodes.recover(partial)
        else:
            # Killed between the partial's deletion and the child's last line: the job was done.
            assert (root / partial.name.removesuffix(".partial")).exists(), f"{where}: left {state}"
    _check_recovered_big(partial, big_partial, where)


@pytest.mark.slow
def test_recover_rerun_after_kill_between_rename_and_cleanup(
    tmp_path: Path, big_partial: dict[str, object]
) -> None:
    """The state a recovery leaves when killed right after its rename (a window too short to hit
    with a signal): the recovered episode in place, the partial and the empty work dir still there."""
    partial = _fresh_copy(big_partial, tmp_path)
    keep = tmp_path / "keep.h5.partial"
    shutil.copyfile(partial, keep)
    final = episodes.recover(partial)
    os.replace(keep, partial)
    with episodes.open(partial) as ep:
        work_dir = partial.parent / f".recover-{ep.metadata.episode_id}"
    work_dir.mkdir()
    assert episodes.recover(partial) == final
    _check_recovered_big(partial, big_partial, "[rerun after the rename]")


# ---------------------------------------------------------------- 3. a partial read while it records


@pytest.mark.slow
def test_live_partial_is_readable_and_not_recoverable(tmp_path: Path) -> None:
    root = tmp_path / "dataset"
    args = [
        "record",
        str(root),
        "--complete",
        "0",
        "--final-s",
        "60",
        "--speed",
        "1",
        "--flush",
        str(FLUSH_S),
    ]
    with RecordingChild(args, log_dir=tmp_path, name="live") as child:
        child.wait_for("0.5 s of data", lambda c: c.episodes and c.episodes[0].counts.get("camera", 0) >= 15)
        live = child.episodes[0]
        # What the child had appended a flush interval (and margin) ago must be visible.
        time.sleep(FLUSH_S + MARGIN_S)
        assert episodes.list_episodes(root) == []
        assert episodes.list_episodes(root, include_partial=True) == [live.partial]
        with episodes.open(live.partial) as ep:
            assert ep.is_partial
            assert ep.metadata.status == "recording"
            first = child_mod.check_samples(ep, "live, first look")
            opened_at = time.monotonic()
            assert first["camera"] >= 15 and first["joints"] >= 100, f"live reader sees only {first}"

            # recover() refuses a file whose writer is alive, and says which process that is.
            with pytest.raises(episodes.EpisodeBusyError, match=rf"process {child.pid}\b"):
                episodes.recover(live.partial)
            assert live.partial.exists()
            assert not _stale_work_dirs(root)

            # Wait for more data to be appended and flushed, then look again.
            want = first["camera"] + 12
            child.wait_for(f"{want} frames", lambda c: c.episodes[0].counts.get("camera", 0) >= want)
            time.sleep(FLUSH_S + MARGIN_S)
            ep.refresh()
            second = child_mod.check_samples(ep, "live, after refresh")
            assert second["camera"] >= want and second["joints"] > first["joints"], (
                f"refresh() {time.monotonic() - opened_at:.2f} s later sees {second}, first {first}; "
                f"child appended {live.counts}"
            )
        assert child.proc.poll() is None, f"the recorder died while being read\n{child.describe()}"
        before = live.counts["camera"]
        child.wait_for("the recorder to go on", lambda c: c.episodes[0].counts.get("camera", 0) > before + 3)
        child.kill()
