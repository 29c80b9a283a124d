"""A bag's ingest run again after an attempt at it died (a Ray task retried once its worker or node
was lost): what the dead attempt wrote is removed first, so the bag's episodes are those of one run."""

from __future__ import annotations

import multiprocessing
import os
import signal
from pathlib import Path

import pytest

import episodes
from collectors import IngestOptions, IngestResult, ingest_bag, ingest_bags
from collectors._ingest import _BagWork, _Done, _Job
from tests.collectors.bagfixtures import write_kuavo_bag
from tg_config import RobotProfile, load_profile
from tg_exec import LocalExecutor

# One episode per claw message, once a second: a bag of several episodes, so that the attempt
# cut short has finished some of them and is writing the next one.
SPLIT = IngestOptions(split_topic="/leju_claw_state", reingest=True)


@pytest.fixture(scope="module")
def kuavo4pro() -> RobotProfile:
    return load_profile("kuavo4pro")


@pytest.fixture(scope="module")
def bag(tmp_path_factory: pytest.TempPathFactory, kuavo4pro: RobotProfile) -> Path:
    path = tmp_path_factory.mktemp("retry") / "take.bag"
    write_kuavo_bag(path, kuavo4pro, duration_s=5.0, camera_hz=10, claw_hz=1.0, size=(64, 48))
    return path


def _die_past_half(fraction: float) -> None:
    if fraction >= 0.5:
        os.kill(os.getpid(), signal.SIGKILL)  # as a lost node or the OOM killer ends a worker


def _attempt_cut_short(work: _BagWork, job: _Job) -> None:
    """The bag's work, killed (SIGKILL) at its first progress report past half the bag."""
    with LocalExecutor(1) as here:  # one worker: the work runs in this very process
        here.map(work, [job], on_failure=lambda job, why: None, on_progress=lambda i, f: _die_past_half(f))


def _ids(out: Path) -> set[str]:
    return {p.name for p in episodes.list_episodes(out)}


def _run_again(work: _BagWork, job: _Job) -> IngestResult:
    with LocalExecutor(1) as run:
        (done,) = run.map(work, [job], on_failure=lambda job, why: pytest.fail(why))
    assert isinstance(done, _Done) and isinstance(done.outcome, IngestResult), done
    return done.outcome


def test_a_retried_bag_removes_what_its_dead_attempt_wrote_and_writes_one_run(
    tmp_path: Path, bag: Path, kuavo4pro: RobotProfile
) -> None:
    out = tmp_path / "out"
    earlier = ingest_bag(bag, kuavo4pro, out, options=SPLIT)  # a whole earlier run, --reingest: kept
    assert len(earlier.episodes) >= 3
    work = _BagWork(kuavo4pro, out, SPLIT, os.getpid())
    child = multiprocessing.get_context("spawn").Process(target=_attempt_cut_short, args=(work, _Job(0, bag)))
    child.start()
    child.join(timeout=120)
    assert child.exitcode == -signal.SIGKILL, f"the attempt was not cut short (exit code {child.exitcode})"
    partials = list(out.glob("*.h5.partial"))
    dead = _ids(out) - {p.name for p in earlier.episodes}
    assert len(partials) == 1 and dead, "the attempt died before it had finished an episode and begun one"
    assert len(list(out.glob(".ingesting-*"))) == 1

    again = _run_again(work, _Job(0, bag))

    assert len(again.episodes) == len(earlier.episodes)
    assert _ids(out) == {p.name for p in (*earlier.episodes, *again.episodes)}
    assert not list(out.glob("*.partial")) and not list(out.glob(".*")), sorted(os.listdir(out))
    (note,) = again.cleaned
    assert note.startswith(f"take.bag: its ingest into {out} was killed; removed ") and all(
        name in note for name in (partials[0].name, *dead)
    )
    assert note.endswith("it is ingested again in full")


def test_the_same_bag_twice_at_once_in_workers_reports_progress_and_keeps_both_runs(
    tmp_path: Path, bag: Path, kuavo4pro: RobotProfile
) -> None:
    """Two workers on one bag (--reingest): the second waits for the first's marker, and what the
    first finished is not taken for a dead attempt's; each worker's progress reaches the caller."""
    out = tmp_path / "out"
    marks: list[tuple[int, float]] = []
    summary = ingest_bags(
        [bag, bag], kuavo4pro, out, options=SPLIT, workers=2, progress=lambda i, f: marks.append((i, f))
    )
    assert summary.ok and summary.cleaned == ()
    first, second = summary.results
    assert len(first.episodes) == len(second.episodes) >= 3
    assert _ids(out) == {p.name for p in summary.episodes} and not list(out.glob(".*"))
    for i in (0, 1):  # fractions from inside the work, then the end
        assert [f for j, f in marks if j == i and f < 1.0], marks
