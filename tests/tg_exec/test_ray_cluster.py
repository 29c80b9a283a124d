"""The Ray executor on a real three-node cluster (Ray's own ``cluster_utils.Cluster``).

Everything Ray runs lives in a loopback-only network namespace (``unshare -n``; CI
runs as root): ``ray_scenarios.py`` runs there once for this module, and each test
asserts on one part of what it saw.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sim_envs import record_synthetic_episode
from tests.collectors.bagfixtures import write_kuavo_bag
from tg_config import load_profile, load_session

REPO = Path(__file__).resolve().parents[2]
SESSION = REPO / "launch/sim_pick_place.yaml"


def _can_unshare() -> bool:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-n", "true"], capture_output=True, timeout=10, stdin=subprocess.DEVNULL
    )
    return probe.returncode == 0


pytestmark = [
    pytest.mark.skipif(sys.version_info < (3, 10), reason="Ray needs Python 3.10"),
    pytest.mark.skipif(not _can_unshare(), reason="needs `unshare -n` and `ip` (root, as in CI)"),
]


def _dataset(root: Path, count: int) -> list[Path]:
    run = load_session(SESSION).model_copy(update={"out": str(root)}).resolve()
    return [
        record_synthetic_episode(run, duration_s=3.0, seed=seed, success=seed % 3 != 0)
        for seed in range(count)
    ]


# Session scope: pytest-xdist may run another module's tests between these in the same worker,
# which would tear a module fixture down and start the cluster a second time.
@pytest.fixture(scope="session")
def seen(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    data = tmp_path_factory.mktemp("ray")
    clean = _dataset(data / "local", 6)
    shutil.copytree(data / "local", data / "ray")
    shutil.copytree(data / "local", data / "killed")
    _dataset(data / "killed", 6)  # twelve in all, so the kill lands while most still wait
    (data / "bad").mkdir()
    for path in clean[:3]:
        shutil.copy2(path, data / "bad")
    (data / "bad" / "01ZZZZZZZZZZZZZZZZZZZZZZZZ.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    (data / "bags").mkdir()
    for seed in range(3):
        write_kuavo_bag(
            data / "bags" / f"run{seed}.bag", load_profile("kuavo4pro"), duration_s=2.0, seed=seed
        )
    out = data / "seen.json"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.run(
        ["unshare", "-n", sys.executable, "-m", "tests.tg_exec.ray_scenarios", str(data), str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
        stdin=subprocess.DEVNULL,
        cwd=REPO,
    )
    assert child.returncode == 0, child.stderr[-4000:]
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return result


def test_validate_through_the_cli_on_the_cluster_gives_the_local_reports(seen):
    same = seen["same"]
    for name in ("local", "ray"):
        assert same[f"validate_{name}"]["rc"] == 0, same[f"validate_{name}"]
    assert same["reports_ray"] == same["reports_local"]
    assert len(same["reports_ray"]) == 6
    assert "6 episode(s): 6 passed, 0 failed" in same["validate_ray"]["stdout"]
    assert "running on Ray at 127.0.0.1:" in same["validate_ray"]["stderr"]
    assert "(3 nodes, 3 CPUs)" in same["validate_ray"]["stderr"]


def test_annotations_on_the_cluster_equal_the_local_ones(seen):
    same = seen["same"]
    assert same["annotations_ray"] == same["annotations_local"]
    assert all(changed and not error for _, changed, error, _ in same["annotations_ray"])


def test_a_killed_worker_node_mid_annotate_loses_nothing_and_repeats_nothing(seen):
    killed = seen["killed"]
    assert killed["killed"]
    assert killed["errors"] == []
    assert len(killed["attempts"]) > killed["files"], "no task was running on the killed node"
    assert killed["changed_again"] == [False] * killed["files"], "an episode was left unannotated"
    assert killed["errors_again"] == [] and killed["failed_checks"] == [], "an episode was corrupted"


def test_a_bad_file_among_good_ones_is_reported_once(seen):
    bad = seen["bad"]
    assert [name for name, passed, _ in bad["reports"] if not passed] == ["01ZZZZZZZZZZZZZZZZZZZZZZZZ.h5"]
    assert bad["reports"][-1][2] == {"file.unreadable": 1}
    assert bad["refused"][1] == "bad-input: bad-input: not an episode file"
    assert [line.split()[0] for line in bad["refused_attempts"]].count("bad-input") == 1, "bad input retried"


def test_an_item_that_kills_each_worker_is_retried_a_bounded_number_of_times(seen):
    dying = seen["bad"]["dying"]
    assert dying[0] == "a" and dying[2] == "c"
    assert dying[1].startswith("bad: its worker died 2 times")


def test_export_on_the_cluster_writes_the_local_bytes(seen):
    export = seen["export"]
    assert export["rc_local"] == 0 and export["rc_ray"] == 0, export
    assert export["files_ray"] == export["files_local"]
    assert any(name.endswith(".mp4") for name in export["files_ray"])
    assert "meta/info.json" in export["files_ray"]


def test_ingest_on_the_cluster_gives_the_local_episodes(seen):
    ingest = seen["ingest"]
    assert ingest["rc_local"] == 0 and ingest["rc_ray"] == 0, ingest
    assert len(ingest["digests_ray"]) == 3
    assert ingest["digests_ray"] == ingest["digests_local"]


def test_the_site_checks_arrivals_on_the_cluster(seen):
    site = seen["site"]
    assert site["push_rc"] == 0, site["push_err"]
    assert site["qa_passed"] == [True, True, True]
    assert "arrival checks run on Ray at 127.0.0.1:" in site["log"]
