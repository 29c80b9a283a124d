"""The local executor's contract: order, failures reported once, dead workers isolated, progress."""

from __future__ import annotations

import signal

import pytest

from tests.tg_exec import work
from tg_exec import ExecutorError, ExecutorOptions, LocalExecutor, WorkerDiedError, open_executor


def _why(item: str, why: str) -> str:
    return f"failed {item}: {why}"


@pytest.mark.parametrize("workers", [1, 2])
def test_results_in_item_order_and_bad_input_reported_once(workers):
    items = ["a", "bad1", "c", "d", "bad2"]
    seen: list[str] = []
    with LocalExecutor(workers) as run:
        results = run.map(work.refuse_bad, items, on_failure=_why, on_result=seen.append)
    assert results == [
        "A",
        "failed bad1: bad1: not an episode file",
        "C",
        "D",
        "failed bad2: bad2: not an episode file",
    ]
    assert sorted(seen) == sorted(results)


def test_an_item_that_kills_its_worker_fails_alone():
    with LocalExecutor(2) as run:
        results = run.map(work.die_on_bad, ["a", "bad", "c", "d"], on_failure=_why)
        after = run.map(work.die_on_bad, ["e", "f"], on_failure=_why)  # on a new pool
    assert after == ["e", "f"]
    assert results[0] == "a" and results[2:] == ["c", "d"]
    assert results[1].startswith("failed bad: its worker process died")


def test_each_item_runs_once(tmp_path):
    paths = [tmp_path / f"{i}.done" for i in range(6)]
    with LocalExecutor(2) as run:
        assert run.map(work.touch_once, paths, on_failure=_why) == [p.name for p in paths]


@pytest.mark.parametrize("workers", [1, 2])
def test_progress_from_inside_a_task_reaches_the_caller(workers):
    reports: list[tuple[int, float]] = []
    with LocalExecutor(workers) as run:
        assert run.map(
            work.halves, [7, 8, 9], on_failure=lambda i, w: -1, on_progress=lambda *r: reports.append(r)
        ) == [7, 8, 9]
    assert sorted(reports) == [(0, 0.5), (1, 0.5), (2, 0.5)]


def test_two_workers_use_two_processes_kept_from_call_to_call():
    with LocalExecutor(2) as run:
        first = run.map(work.pid_of, list(range(8)), on_failure=lambda i, w: 0)
        second = run.map(work.pid_of, list(range(8)), on_failure=lambda i, w: 0)
    assert len(set(first)) == 2 and set(second) == set(first)


def test_submit_gives_the_result_the_error_or_worker_died():
    with LocalExecutor(2) as run:
        assert run.submit(work.slow_square, 4).result(timeout=60) == 16
        with pytest.raises(Exception, match="bad: not an episode file"):
            run.submit(work.refuse_bad, "bad").result(timeout=60)
        with pytest.raises(WorkerDiedError, match="its worker process died"):
            run.submit(work.die_on_bad, "bad").result(timeout=60)
        assert run.submit(work.slow_square, 5).result(timeout=60) == 25  # a new pool after the death


def test_options_come_from_the_command_line_then_the_environment():
    assert ExecutorOptions.resolve(env={}) == ExecutorOptions("local")
    assert ExecutorOptions.resolve(env={"TG_EXECUTOR": "ray"}).kind == "ray"
    assert ExecutorOptions.resolve(env={"TG_RAY_ADDRESS": "10.0.0.5:6379"}) == ExecutorOptions(
        "ray", None, "10.0.0.5:6379"
    )
    assert ExecutorOptions.resolve("local", env={"TG_RAY_ADDRESS": "10.0.0.5:6379"}).address is None
    options = ExecutorOptions("ray", 3, "127.0.0.1:6379", 2)
    assert ExecutorOptions.from_json(options.to_json()) == options


def test_bad_options_say_what_to_use():
    with pytest.raises(ExecutorError, match=r"--executor 'dask': choose one of local, ray"):
        ExecutorOptions.resolve("dask", env={})
    with pytest.raises(ExecutorError, match=r"--ray-address 127.0.0.1:6379 needs --executor ray"):
        ExecutorOptions.resolve("local", address="127.0.0.1:6379", env={})
    with pytest.raises(ExecutorError, match="workers must be at least 1, got 0"):
        open_executor(ExecutorOptions(workers=0))


def test_a_ray_cluster_that_is_not_there_is_named():
    with pytest.raises(
        ExecutorError, match=r"cannot reach the Ray cluster at 127.0.0.1:9: .*ray start --head"
    ):
        open_executor(ExecutorOptions("ray", address="127.0.0.1:9"), stop_signal=signal.SIGTERM)
