"""Fixtures shared by the ROS 2 tests: a DDS domain of their own and the session's DDS settings."""

from __future__ import annotations

import fcntl
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tg_exec import arm_death_signal
from tg_station import ros_environment, write_fastdds_profile


def _die_with_the_test_process() -> None:
    # A process a test forks (a multiprocessing "fork" pool) holds the test worker's pipes
    # to pytest-xdist: if it outlives a worker that the per-test timeout ended, the whole
    # run waits for it forever. Forked children therefore end with their parent.
    arm_death_signal(signal.SIGKILL)


os.register_at_fork(after_in_child=_die_with_the_test_process)

# Domain ids 100..232 are this test suite's; each test holds one under an exclusive
# lock, so xdist workers, concurrent runs on one machine and stray nodes of a
# crashed test cannot hear each other.
_FIRST_DOMAIN, _LAST_DOMAIN = 100, 232
_LOCK_DIR = Path(os.environ.get("TG_TEST_LOCK_DIR", "/tmp/tg-test-ros-domains"))


@pytest.fixture
def ros_domain() -> Iterator[int]:
    """A ROS_DOMAIN_ID no other test on this machine uses while this one runs."""
    _LOCK_DIR.mkdir(parents=True, exist_ok=True)
    start = os.getpid() % (_LAST_DOMAIN - _FIRST_DOMAIN + 1)
    for offset in range(_LAST_DOMAIN - _FIRST_DOMAIN + 1):
        domain = _FIRST_DOMAIN + (start + offset) % (_LAST_DOMAIN - _FIRST_DOMAIN + 1)
        handle = (_LOCK_DIR / f"{domain}.lock").open("w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        try:
            yield domain
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()
        return
    pytest.fail(f"all ROS domain ids {_FIRST_DOMAIN}..{_LAST_DOMAIN} are taken by other tests")


@pytest.fixture
def ros_env(ros_domain: int, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment for processes a test starts: its own domain, localhost discovery, the SHM profile."""
    profile = write_fastdds_profile(tmp_path_factory.mktemp("dds"))
    env = ros_environment(domain_id=ros_domain, profile_file=profile, localhost_only=True)
    root = Path(__file__).resolve().parents[1]
    paths = [str(root), str(root / "ros_ws/src/tg_recorder"), str(root / "ros_ws/src/tg_sim")]
    env["PYTHONPATH"] = os.pathsep.join([*paths, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env
