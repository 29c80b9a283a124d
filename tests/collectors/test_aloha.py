"""`tg import aloha` on files written exactly as ACT's record_sim_episodes.py writes them."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

import episodes
from collectors import AlohaOptions, ImportFormatError, find_aloha_files, import_aloha
from tg_config import load_profile
from training_ground.cli import app

STEPS = 12
JOINTS = [
    f"{side}_{j}"
    for side in ("left", "right")
    for j in ("waist", "shoulder", "elbow", "forearm_roll", "wrist_angle", "wrist_rotate", "gripper")
]


def write_act_episode(path: Path, steps: int = STEPS, *, action: bool = True) -> None:
    """ACT's record_sim_episodes.py, its HDF5 block: (T, 480, 640, 3) frames chunked per frame,
    qpos/qvel/action (T, 14) in h5py's default dtype (ACT passes none: float32, spelled out here
    because newer h5py warns), root attribute sim."""
    rng = np.random.default_rng(sum(path.name.encode()))
    with h5py.File(path, "w", rdcc_nbytes=1024**2 * 2) as root:
        root.attrs["sim"] = True
        obs = root.create_group("observations")
        image = obs.create_group("images")
        image.create_dataset("top", (steps, 480, 640, 3), dtype="uint8", chunks=(1, 480, 640, 3))
        qpos = obs.create_dataset("qpos", (steps, 14), dtype="f4")
        qvel = obs.create_dataset("qvel", (steps, 14), dtype="f4")
        qpos[...] = np.cumsum(rng.normal(0, 0.01, (steps, 14)), axis=0)
        qvel[...] = rng.normal(0, 0.1, (steps, 14))
        y, x = np.mgrid[0:480, 0:640]
        for k in range(steps):
            image["top"][k] = np.stack([(x + 5 * k) % 256, (y + k) % 256, (x + y) % 256], axis=-1)
        if action:
            root.create_dataset("action", (steps, 14), dtype="f4")[...] = qpos[...] + 0.01


@pytest.fixture
def profile(tmp_path):
    joints = "\n".join(
        f"  - {{name: {j}, type: {'prismatic' if j.endswith('gripper') else 'revolute'}, lower: -3.2, "
        f"upper: 3.2, velocity: 10, effort: 10}}"
        for j in JOINTS
    )
    path = tmp_path / "aloha_sim.yaml"
    path.write_text(
        f'name: aloha_sim\nmodel: ALOHA (ACT simulation)\nurdf: ""\njoints:\n{joints}\n'
        f"streams:\n"
        f"  - {{name: joint_position, kind: joint_position, joints: [{', '.join(JOINTS)}], rate_hz: 50}}\n"
        f"  - {{name: joint_velocity, kind: joint_velocity, joints: [{', '.join(JOINTS)}], rate_hz: 50}}\n"
        f"  - {{name: action_joint, kind: joint_position, role: action, joints: [{', '.join(JOINTS)}], "
        f"rate_hz: 50}}\n"
    )
    return path


def test_act_files_import_as_episodes_that_load(tmp_path, profile):
    act = tmp_path / "sim_transfer_cube_scripted"
    act.mkdir()
    for i in (0, 1, 10):  # numeric order, not text order
        write_act_episode(act / f"episode_{i}.hdf5")
    files = find_aloha_files([act])
    assert [p.name for p in files] == ["episode_0.hdf5", "episode_1.hdf5", "episode_10.hdf5"]
    result = CliRunner().invoke(
        app,
        [
            "import",
            "aloha",
            str(act),
            "--profile",
            str(profile),
            "--fps",
            "50",
            "--out",
            str(tmp_path / "ds"),
            "--task",
            "transfer_cube",
        ],
    )
    assert result.exit_code == 0, (result.output, result.exception)
    assert "imported 3 ALOHA episode(s)" in result.output
    paths = episodes.list_episodes(tmp_path / "ds")
    with h5py.File(act / "episode_0.hdf5", "r") as f:
        qpos, action, frame = f["observations/qpos"][()], f["action"][()], f["observations/images/top"][3]
    first = next(p for p in paths if episodes.open(p).metadata.origin.source.endswith("episode_0.hdf5"))
    with episodes.open(first) as ep:
        meta = ep.metadata
        assert (meta.source, meta.task, meta.origin.format, meta.origin.timestamps) == (
            "import",
            "transfer_cube",
            "aloha",
            "reconstructed",
        )
        assert meta.origin.rate_hz == 50.0 and ep.aligned.num_frames == STEPS
        stored = ep.read("joint_position")
        np.testing.assert_array_equal(stored.data, qpos.astype(np.float64))
        assert stored.stamp_ns.tolist() == [k * 20_000_000 for k in range(STEPS)]
        np.testing.assert_array_equal(ep.read("action_joint").data, action.astype(np.float64))
        decoded = ep.read("top").images[3].decode().astype(float)
    psnr = 10 * np.log10(255**2 / np.mean((decoded - frame) ** 2))
    assert psnr > 30
    data = episodes.EpisodeDataset(tmp_path / "ds", action_horizon=4, filter=episodes.EpisodeFilter(qa="any"))
    assert data.action_names[0] == "action_joint.left_waist" and len(data) == 3 * STEPS
    report = episodes.validate_episode(first)  # checked like ours (a 12-step episode is short: duration)
    assert not [f for f in report.findings if f.check.startswith(("file.", "time.", "image."))]
    assert all(r.annotations is not None for r in episodes.annotate_episodes(paths))


def test_bad_aloha_input_is_named_and_nothing_is_written(tmp_path, profile):
    act = tmp_path / "act"
    act.mkdir()
    write_act_episode(act / "episode_0.hdf5", steps=3)
    write_act_episode(act / "episode_1.hdf5", steps=3, action=False)
    robot = load_profile(profile)
    with pytest.raises(
        ImportFormatError, match=r"episode_1.hdf5: no /action dataset, so not an ALOHA/ACT episode"
    ):
        import_aloha(find_aloha_files([act]), robot, tmp_path / "ds", AlohaOptions(fps=50))
    assert not (tmp_path / "ds").exists() and not list(tmp_path.glob(".ds.*"))
    with pytest.raises(
        ImportFormatError, match=r"episode_0.hdf5: no frame rate in its attributes .* give --fps"
    ):
        import_aloha([act / "episode_0.hdf5"], robot, tmp_path / "ds")
