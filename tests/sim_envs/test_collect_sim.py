"""Direct simulated collection (`tg collect --no-ros`): real episodes, end to end, reproducible."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

import episodes
from sim_envs import SimEpisode, SimOverrides, SimSetup, collect_sim
from tests.sim_envs._sessions import REPO, session_file
from tg_config import load_session
from training_ground.cli import app

runner = CliRunner()


def _tg(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "training_ground", *args], capture_output=True, text=True, env=env, timeout=300
    )


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Any]]:
    """Two rendered episodes of each task with small cameras: one success, one failure each."""
    tmp = tmp_path_factory.mktemp("collect")
    out = tmp / "out"
    records = []
    for launch in ("sim_pick_place.yaml", "sim_bimanual_lift.yaml"):
        run = load_session(session_file(tmp, launch, name=launch)).resolve()
        # failure_rate 0.2: seed 0 draws 0.5 (no failure injected), seed 1 draws 0.118 (injected).
        records += collect_sim(run, episodes=2, seed=0)
    return out, records


def test_collected_episodes_open_with_full_metadata(collected: tuple[Path, list[Any]]) -> None:
    out, records = collected
    assert sorted(episodes.list_episodes(out)) == sorted(r.path for r in records)
    for record in records:
        with episodes.open(record.path) as ep:
            m = ep.metadata
            assert m.status == "complete" and m.source == "sim"
            assert m.task == record.outcome.task
            assert m.instruction == record.outcome.instruction
            assert m.success is record.outcome.success
            assert m.notes == record.outcome.notes
            assert m.extra["seed"] == record.outcome.seed
            assert m.extra["sim"]["robot"] == "kuavo_humanoid"
            assert m.extra["scene"] == record.outcome.scene
            assert m.robot.profile == "sim_humanoid" and len(m.robot.joint_names) == 28
            assert '<robot name="kuavo_humanoid">' in ep.urdf
            head = ep.stream("head")
            assert head.calibration is not None and head.calibration.mount_parent == "head_pitch_link"
            assert ep.aligned.num_frames > 0
    labels = {(r.outcome.task, r.outcome.seed): r.outcome.success for r in records}
    assert labels == {
        ("pick_place", 0): True,
        ("pick_place", 1): False,
        ("bimanual_lift", 0): True,
        ("bimanual_lift", 1): False,
    }
    assert (
        records[0].outcome.instruction.startswith("put the ")
        and " cube in the " in records[0].outcome.instruction
    )
    assert records[2].outcome.instruction.startswith("lift the ")


def test_samples_carry_the_simulator_clock(collected: tuple[Path, list[Any]]) -> None:
    _, records = collected
    with episodes.open(records[0].path) as ep:
        for name in ep.stream_names:
            info = ep.stream(name)
            samples = ep.read(name)
            assert np.array_equal(samples.stamp_ns, samples.arrival_ns)
            assert samples.stamp_ns[0] == 0
            assert info.measured_rate_hz == pytest.approx(info.spec.rate_hz, rel=0.02), name
        duration = ep.metadata.duration_s
        assert duration == pytest.approx(records[0].outcome.duration_ns / 1e9, abs=0.01)


def test_recorded_joints_stay_within_their_limits(collected: tuple[Path, list[Any]]) -> None:
    _, records = collected
    profile = load_session(REPO / "launch/sim_pick_place.yaml").resolve().profile
    lower, upper = profile.joint_limits()
    moving = np.array([j.moves for j in profile.joints])
    for record in records:
        with episodes.open(record.path) as ep:
            q = ep.read("joint_position").data
            assert np.all(q >= lower) and np.all(q <= upper), record.path
            assert np.ptp(q[:, ~moving], axis=0).max() == 0.0  # the locked legs never move
            assert np.ptp(q[:, moving], axis=0).max() > 0.3  # the arms do
            action = ep.read("action_arm").data
            lo, hi = profile.joint_limits(ep.stream("action_arm").spec.names)
            assert np.all(action >= lo) and np.all(action <= hi)
            closure = ep.read("gripper_state").data
            assert closure.min() >= 0.0 and closure.max() <= 1.0 and closure.max() > 0.3


def test_recorded_frames_show_the_scene(collected: tuple[Path, list[Any]]) -> None:
    _, records = collected
    with episodes.open(records[0].path) as ep:
        frames = ep.read("head").decode_all()
        assert frames.shape[1:] == (60, 80, 3)
        assert 30 < frames[0].mean() < 225 and frames[0].std() > 15
        # Sensor noise: even the first, still frames are never identical.
        assert not np.array_equal(frames[0], frames[1])


def _samples(setup: SimSetup, seed: int, slow: bool) -> dict[str, list[tuple[int, bytes]]]:
    seen: dict[str, list[tuple[int, bytes]]] = {}

    def sink(stream: str, stamp_ns: int, value: np.ndarray) -> None:
        seen.setdefault(stream, []).append((stamp_ns, np.ascontiguousarray(value).tobytes()))
        if slow and len(seen[stream]) % 50 == 0:
            time.sleep(0.002)  # a slower run than the other, on the wall clock

    with SimEpisode(setup, seed) as episode:
        episode.run(sink)
    return seen


def test_same_seed_gives_identical_data_however_fast_it_runs(tmp_path: Path) -> None:
    path = session_file(tmp_path, "sim_bimanual_lift.yaml")
    setup = SimSetup.from_session(load_session(path).resolve(), SimOverrides(renderer="tiny"))
    fast, slow = _samples(setup, 7, slow=False), _samples(setup, 7, slow=True)
    assert fast.keys() == slow.keys() and len(fast) == 10
    for name in fast:
        assert fast[name] == slow[name], name
    other = _samples(setup, 8, slow=False)
    assert other["joint_position"] != fast["joint_position"]


def test_same_seed_gives_identical_episode_files(tmp_path: Path) -> None:
    path = session_file(
        tmp_path, sim={"failure_rate": 0.0}, episode={"max_duration_s": 3.0, "min_duration_s": 1}
    )
    run = load_session(path).resolve()
    first = collect_sim(run, episodes=1, seed=11)[0].path
    second = collect_sim(run, episodes=1, seed=11)[0].path
    assert first != second
    with episodes.open(first) as a, episodes.open(second) as b:
        assert a.metadata.episode_id != b.metadata.episode_id
        assert (a.metadata.instruction, a.metadata.extra) == (b.metadata.instruction, b.metadata.extra)
        for name in a.stream_names:
            sa, sb = a.read(name), b.read(name)
            assert np.array_equal(sa.stamp_ns, sb.stamp_ns), name
            if isinstance(sa, episodes.ImageSamples) and isinstance(sb, episodes.ImageSamples):
                assert [x.data for x in sa.images] == [y.data for y in sb.images], name
            else:
                assert np.array_equal(sa.data, sb.data), name


def test_episode_length_limit_cuts_and_labels(tmp_path: Path) -> None:
    path = session_file(
        tmp_path, sim={"failure_rate": 0.0}, episode={"max_duration_s": 2.0, "min_duration_s": 1}
    )
    record = collect_sim(load_session(path).resolve(), episodes=1, seed=0)[0]
    assert record.outcome.success is False and record.outcome.failure == "time_limit"
    with episodes.open(record.path) as ep:
        assert ep.metadata.duration_s == pytest.approx(2.0, abs=0.01)
        assert "episode length limit (2 s)" in ep.metadata.notes


def test_tg_collect_no_ros_writes_a_dataset_tg_info_reads(tmp_path: Path) -> None:
    config = session_file(tmp_path, episode={"max_duration_s": 2.5, "min_duration_s": 1})
    out = tmp_path / "data"
    result = _tg(
        "collect",
        "--config",
        str(config),
        "--no-ros",
        "--episodes",
        "2",
        "--out",
        str(out),
        "--seed",
        "5",
        "--task",
        "bimanual_lift",
        "--operator",
        "careful",
        "--failure-rate",
        "0",
    )
    assert result.returncode == 0, result.stderr
    assert "pybullet" not in result.stdout + result.stderr
    files = episodes.list_episodes(out)
    assert len(files) == 2
    info = runner.invoke(app, ["info", str(out), "--json"])
    assert info.exit_code == 0, info.output
    rows = json.loads(info.output)
    # The summary's recorded span is the sum of what tg info shows, and the next step follows.
    total = sum(r["metadata"]["duration_s"] for r in rows)
    stdout = result.stdout.replace("\n", "")
    assert f"2 episode(s), 0 successful, {total:.2f} s recorded, in {out}" in stdout
    assert f"next: tg validate {out} --write --html {out / 'qa_report.html'}" in stdout
    assert {r["metadata"]["task"] for r in rows} == {"bimanual_lift"}
    assert {r["metadata"]["operator"] for r in rows} == {"sim:careful"}
    assert sorted(r["metadata"]["extra"]["seed"] for r in rows) == [5, 6]


def test_tg_collect_unknown_task_lists_the_known_ones(tmp_path: Path) -> None:
    result = _tg("collect", "--config", str(session_file(tmp_path)), "--no-ros", "--task", "juggle")
    assert result.returncode == 1
    assert "--task: unknown task 'juggle'; known tasks: bimanual_lift, pick_place" in result.stderr


def test_collected_dataset_passes_the_quality_gate(collected: tuple[Path, list[Any]], tmp_path: Path) -> None:
    out, _ = collected
    report = tmp_path / "qa.json"
    result = runner.invoke(app, ["validate", str(out), "--json", str(report), "--workers", "1"])
    assert result.exit_code == 0, result.output
    found = {e["path"]: e["findings"] for e in json.loads(report.read_text(encoding="utf-8"))["episodes"]}
    assert len(found) == 4
    assert all(findings == [] for findings in found.values()), found
