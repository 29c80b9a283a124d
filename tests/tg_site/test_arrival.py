"""The arrival pipeline on an executor: a worker that dies, an arrival redone, the same results twice."""

from __future__ import annotations

import os
import queue
import shutil
import signal
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.processes import descendants
from tests.tg_site.site_episodes import make_episode
from tg_exec import ExecutorError, LocalExecutor
from tg_site._arrival import ArrivalOutcome, Arrivals
from tg_site._store import Store
from training_ground.cli import app

WAIT_S = 120.0  # a loaded CI machine starts a spawned worker slowly


def _stored(store: Store, made: Path) -> str:
    """``made`` put into the store, as a committed upload leaves it; its id."""
    target = store.episode_path(made.stem)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(made, target)
    return made.stem


def _new_worker(before: set[int]) -> int:
    """The pid of the arrival worker process started since ``before`` was taken."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        for pid in descendants(os.getpid()) - before:
            try:
                if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    return pid
            except OSError:
                continue
        time.sleep(0.01)
    raise AssertionError(f"no arrival worker started in {WAIT_S} s")


def _same(outcome: ArrivalOutcome) -> ArrivalOutcome:
    return ArrivalOutcome(**{**outcome.to_json(), "stage_seconds": {}})


def test_a_dead_worker_is_an_arrival_error_and_the_arrival_redone_twice_gives_the_same(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "store")
    episode_id = _stored(store, make_episode(tmp_path / "made", seconds=1.0))
    outcomes: queue.Queue[ArrivalOutcome] = queue.Queue()
    arrivals = Arrivals(store, LocalExecutor(1), outcomes.put)
    try:
        before = descendants(os.getpid())
        arrivals.submit(episode_id)
        os.kill(_new_worker(before), signal.SIGKILL)  # still starting: the arrival cannot be done
        died = outcomes.get(timeout=WAIT_S)
        assert died.episode_id == episode_id
        assert died.error.startswith("its arrival worker died: its worker process died ("), died.error
        assert (store.incoming_dir / "arrivals" / episode_id).exists(), "the marker stays until done()"
        arrivals.done(episode_id)

        runs = []
        for _ in range(2):  # redone by a new worker; then again, as a retried task would be
            arrivals.submit(episode_id)
            runs.append(outcomes.get(timeout=WAIT_S))
            runs.append(store.thumbnail_path(episode_id).read_bytes())  # type: ignore[arg-type]
            arrivals.done(episode_id)
    finally:
        arrivals.close()
    first, first_thumb, second, second_thumb = runs
    assert isinstance(first, ArrivalOutcome) and isinstance(second, ArrivalOutcome)
    assert first.error == "" and first.annotated and first.thumbnail and first.qa_passed is not None
    assert _same(second) == _same(first) and second_thumb == first_thumb
    assert [p.name for p in store.thumbnail_path(episode_id).parent.iterdir()] == [f"{episode_id}.jpg"]
    assert list((store.incoming_dir / "arrivals").iterdir()) == []


def test_serve_names_a_wrong_executor_before_it_binds(tmp_path: Path) -> None:
    store = ["site", "serve", "--store", str(tmp_path / "store"), "--port", "0"]
    for args, env in ((["--executor", "nope"], {}), ([], {"TG_EXECUTOR": "nope"})):
        result = CliRunner().invoke(app, [*store, *args], env=env)
        assert result.exit_code == 1 and isinstance(result.exception, ExecutorError), result.output
        with pytest.raises(ExecutorError, match=r"^--executor 'nope': choose one of local, ray$"):
            raise result.exception
    local = CliRunner().invoke(app, [*store, "--executor", "local", "--ray-address", "127.0.0.1:1"])
    with pytest.raises(ExecutorError, match=r"--ray-address 127.0.0.1:1 needs --executor ray"):
        raise local.exception  # type: ignore[misc]
    nobody = CliRunner().invoke(app, [*store, "--ray-address", "127.0.0.1:9"])
    unreachable = r"cannot reach the Ray cluster at 127.0.0.1:9: .*ray start --head"
    with pytest.raises(ExecutorError, match=unreachable):
        raise nobody.exception  # type: ignore[misc]
    assert not (tmp_path / "store").exists()
