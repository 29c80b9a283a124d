"""The fault suite's process classes: every writing verb killed with SIGKILL at a random moment,
then run again (it must succeed, and no raw stream may change), and two writers at once on one
directory (two `tg annotate`; `tg annotate` beside `tg realign`).

``make test`` kills each verb once; ``make faults`` (marker ``faults_full``) four times more, at
other moments, with both export formats.
"""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

import episodes
from tests.collectors.bagfixtures import write_kuavo_bag
from tests.disks import CRASH_MARKS, REPO, hidden_files
from tests.episodes.fault_catalogue import raw_digest, record_clean
from tests.episodes.fault_tally import TALLY
from tg_config import load_profile

EXPORT = ["--qa", "any", "--state", "joint_position", "--action", "gripper"]
RUN_S = 120


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    root = tmp_path_factory.mktemp("kill_sources")
    bags = root / "bags"
    bags.mkdir()
    for i in range(2):
        write_kuavo_bag(
            bags / f"take{i}.bag",
            load_profile("kuavo4pro"),
            duration_s=1.0,
            camera_hz=10,
            size=(64, 48),
            seed=i,
        )
    return {
        "episodes": [record_clean(root / "ds", seconds=3.0) for _ in range(3)],
        "partial": [record_clean(root / "partial", seconds=3.0, close=False)],
        "bags": sorted(bags.glob("*.bag")),
    }


def _tg(*args: str) -> list[str]:
    return [sys.executable, "-c", "from training_ground.cli import main; main()", *args]


def _env() -> dict[str, str]:
    return {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "COLUMNS": "2000", "HOME": "/tmp"}


def run(args: list[str]) -> subprocess.CompletedProcess[str]:
    try:
        done = subprocess.run(
            args, env=_env(), capture_output=True, text=True, timeout=RUN_S, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        TALLY["hangs"] += 1
        raise
    output = done.stdout + done.stderr
    TALLY["verb runs"] += 1
    if [mark for mark in CRASH_MARKS if mark in output] or done.returncode < 0:
        TALLY["tracebacks"] += 1
        raise AssertionError(f"{args[3:]}: exit {done.returncode}, a crash or traceback:\n{output[-3000:]}")
    TALLY["ok" if done.returncode == 0 else "clean error"] += 1
    return done


@dataclass(frozen=True)
class Work:
    """Where a verb works: the dataset directory, an output path, and the raw digests before."""

    ds: Path
    out: Path
    raw: dict[str, dict[str, bytes]]


@dataclass(frozen=True)
class Verb:
    args: Callable[[Work], list[str]]
    check: Callable[[Work], None]
    inputs: str = "episodes"


def _raw(work: Work) -> None:
    for path in episodes.list_episodes(work.ds):
        if raw_digest(path) != work.raw[path.name]:
            TALLY["data lost"] += 1
            raise AssertionError(f"{path}: raw streams changed")


def _annotated(work: Work) -> None:
    _raw(work)
    assert all(episodes.read_annotations(p) is not None for p in episodes.list_episodes(work.ds))
    assert (work.ds / "dataset_stats.json").is_file()


def _realigned(work: Work) -> None:
    _raw(work)
    for path in episodes.list_episodes(work.ds):
        with episodes.open(path) as ep:
            assert ep.aligned_info.rate_hz == 20


def _validated(work: Work) -> None:
    _raw(work)
    assert all(episodes.read_qa(p) is not None for p in episodes.list_episodes(work.ds))


def _exported(work: Work) -> None:
    _raw(work)
    assert work.out.exists() and hidden_files(work.out.parent) == []


def _recovered(work: Work) -> None:
    (final,) = episodes.list_episodes(work.ds)
    assert not list(work.ds.glob("*.partial")) and not list(work.ds.glob(".recover-*"))
    (before,) = work.raw.values()
    if raw_digest(final) != before:
        TALLY["data lost"] += 1
        raise AssertionError(f"{final}: recovered samples differ from the partial's")


def _ingested(work: Work) -> None:
    names = []
    for path in episodes.list_episodes(work.out):
        with episodes.open(path) as ep:
            names.append(ep.metadata.extra["bag_name"])
    assert sorted(names) == ["take0.bag", "take1.bag"], names
    assert hidden_files(work.out) == [] and not list(work.out.glob("*.partial"))


VERBS: dict[str, Verb] = {
    "annotate": Verb(lambda w: ["annotate", str(w.ds), "--workers", "1"], _annotated),
    "realign": Verb(lambda w: ["realign", str(w.ds), "--rate", "20"], _realigned),
    "validate --write": Verb(lambda w: ["validate", str(w.ds), "--write", "--workers", "1"], _validated),
    "export lerobot": Verb(lambda w: ["export", str(w.ds), *EXPORT, "--out", str(w.out)], _exported),
    "export robomimic": Verb(
        lambda w: ["export", str(w.ds), *EXPORT, "--format", "robomimic", "--out", f"{w.out}.hdf5"],
        lambda w: _exported(Work(w.ds, w.out.with_name(w.out.name + ".hdf5"), w.raw)),
    ),
    "recover": Verb(lambda w: ["recover", str(w.ds), "--force"], _recovered, inputs="partial"),
    "ingest": Verb(
        lambda w: ["ingest", str(w.ds), "--profile", "kuavo4pro", "--out", str(w.out), "--workers", "1"],
        _ingested,
        inputs="bags",
    ),
}


def _prepare(sources: dict[str, list[Path]], verb: Verb, where: Path) -> Work:
    ds = where / "ds"
    ds.mkdir(parents=True)
    copies = [Path(shutil.copyfile(p, ds / p.name)) for p in sources[verb.inputs]]
    raw = {} if verb.inputs == "bags" else {p.name: raw_digest(p) for p in copies}
    return Work(ds, where / "out", raw)


def _kill_at(args: list[str], delay_s: float) -> None:
    proc = subprocess.Popen(
        args, env=_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        time.sleep(delay_s)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)


def kill_and_rerun(name: str, seed: int, sources: dict[str, list[Path]], tmp_path: Path) -> None:
    """One case: the verb's time on a copy, a kill at a random moment of it on another, a rerun."""
    verb = VERBS[name]
    reference = _prepare(sources, verb, tmp_path / "reference")
    started = time.monotonic()
    first = run(_tg(*verb.args(reference)))
    took = time.monotonic() - started
    assert first.returncode == 0, first.stdout + first.stderr
    verb.check(reference)
    work = _prepare(sources, verb, tmp_path / "killed")
    TALLY["cases"] += 1
    # Interpreter start-up is a good part of the time: kill in the later 70 % of the run.
    _kill_at(_tg(*verb.args(work)), random.Random(f"{name}-{seed}").uniform(0.3, 1.0) * took)
    if verb.inputs == "episodes":
        _raw(work)  # whatever the moment, the raw streams are as before
        _recover_what_the_kill_left(work.ds)
    target = work.out.with_name(work.out.name + ".hdf5") if name == "export robomimic" else work.out
    if name.startswith("export") and target.exists():
        verb.check(work)  # killed after the export was in place: it is complete
        return
    again = run(_tg(*verb.args(work)))
    assert again.returncode == 0, again.stdout + again.stderr
    verb.check(work)


def _recover_what_the_kill_left(ds: Path) -> None:
    """An update killed half-way (a journal, a realign's copy) is what `tg recover` must finish or remove."""
    left = [
        p
        for p in episodes.list_episodes(ds)
        if episodes.has_pending_update(p) or episodes.update_leftovers(p)
    ]
    if not left:
        return
    TALLY["kills that left work files"] += 1
    done = run(_tg("recover", str(ds)))
    assert done.returncode == 0 and all(str(p) in done.stdout for p in left), done.stdout + done.stderr
    assert hidden_files(ds) == [], "tg recover left work files of a killed update"


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in VERBS if n != "export robomimic"])
def test_a_verb_killed_at_a_random_moment_then_run_again(
    name: str, sources: dict[str, list[Path]], tmp_path: Path
) -> None:
    kill_and_rerun(name, 0, sources, tmp_path)


@pytest.mark.slow
def test_a_realign_killed_while_it_copies_leaves_a_file_recover_removes(tmp_path: Path) -> None:
    """Issue 13 item 3: a killed realign left .<id>.h5.updating, which tg recover did not know."""
    big = record_clean(tmp_path / "ds", seconds=20.0)  # about 11 MB: its copy takes a while
    raw = raw_digest(big)
    work = big.with_name(f".{big.name}.updating")
    quiet = {"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    for _ in range(5):
        proc = subprocess.Popen(_tg("realign", str(big.parent), "--rate", "20"), env=_env(), **quiet)
        try:
            while proc.poll() is None and not work.exists():
                time.sleep(0.001)
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.wait(timeout=30)
        if work.exists():
            break
    else:
        pytest.skip("the realign ended five times before its copy was seen (a very fast disk)")
    TALLY["cases"] += 1
    assert episodes.update_leftovers(big) == [work]
    assert "episode.pending_update" not in episodes.validate_episode(big).counts()
    _recover_what_the_kill_left(big.parent)
    assert raw_digest(big) == raw and run(_tg("realign", str(big.parent), "--rate", "20")).returncode == 0


@pytest.mark.faults_full
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
@pytest.mark.parametrize("name", list(VERBS))
def test_every_verb_killed_at_more_moments(
    name: str, seed: int, sources: dict[str, list[Path]], tmp_path: Path
) -> None:
    kill_and_rerun(name, seed, sources, tmp_path)


# ---------------------------------------------------------------- two writers at once


def _at_once(*commands: list[str]) -> list[subprocess.CompletedProcess[str]]:
    procs = [
        subprocess.Popen(
            c, env=_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for c in commands
    ]
    done = []
    for command, proc in zip(commands, procs, strict=True):
        try:
            out, err = proc.communicate(timeout=RUN_S)
        except subprocess.TimeoutExpired:
            TALLY["hangs"] += 1
            for p in procs:
                p.kill()
            raise
        result = subprocess.CompletedProcess(command, proc.returncode, out, err)
        if [mark for mark in CRASH_MARKS if mark in out + err] or proc.returncode not in (0, 1):
            TALLY["tracebacks"] += 1
            raise AssertionError(f"{command[3:]}: exit {proc.returncode}\n{(out + err)[-3000:]}")
        TALLY["verb runs"] += 1
        TALLY["ok" if proc.returncode == 0 else "clean error"] += 1
        done.append(result)
    return done


@pytest.mark.slow
def test_two_annotates_of_one_directory_at_once(sources: dict[str, list[Path]], tmp_path: Path) -> None:
    work = _prepare(sources, VERBS["annotate"], tmp_path)
    TALLY["cases"] += 1
    both = _at_once(*[_tg(*VERBS["annotate"].args(work))] * 2)
    assert [r.returncode for r in both] == [0, 0], [r.stdout + r.stderr for r in both]
    _annotated(work)
    assert hidden_files(work.ds) == []


@pytest.mark.slow
def test_annotate_and_realign_of_one_directory_at_once(
    sources: dict[str, list[Path]], tmp_path: Path
) -> None:
    """Either may find an episode busy (a clean error naming it); run again, both finish, nothing lost."""
    work = _prepare(sources, VERBS["annotate"], tmp_path)
    TALLY["cases"] += 1
    annotate, realign = _tg(*VERBS["annotate"].args(work)), _tg(*VERBS["realign"].args(work))
    _at_once(annotate, realign)
    for command in (realign, annotate):
        again = run(command)
        assert again.returncode == 0, again.stdout + again.stderr
    _annotated(work)
    _realigned(work)
    assert hidden_files(work.ds) == []


def test_an_update_of_a_file_replaced_while_it_started_is_refused(
    sources: dict[str, list[Path]], tmp_path: Path
) -> None:
    """The race of annotate beside realign: realign renames its copy over the episode, then unlocks."""
    from episodes._journal import _same_file  # the check between opening and locking

    path = Path(shutil.copyfile(sources["episodes"][0], tmp_path / sources["episodes"][0].name))
    copy = Path(shutil.copyfile(path, tmp_path / "copy.h5"))
    with open(path, "r+b") as opened:
        _same_file(opened, path)  # still the same file: fine
        copy.replace(path)
        with pytest.raises(
            episodes.EpisodeBusyError, match="replaced by another update while this one started"
        ):
            _same_file(opened, path)
