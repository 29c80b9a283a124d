"""Cameras: mounted on the robot, looking at the task, calibrated, and a little noisy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from sim_envs import KuavoHumanoid, SimEpisode, SimOverrides, SimSetup
from tests.sim_envs._sessions import LAUNCH, session_file
from tg_config import load_profile, load_session

CASES = [
    ("sim_pick_place.yaml", "head"),
    ("sim_bimanual_lift.yaml", "head"),
    ("sim_walker_pick_place.yaml", "head_rgb"),
]


def _setup(launch: str) -> SimSetup:
    return SimSetup.from_session(load_session(LAUNCH / launch).resolve(), SimOverrides(renderer="tiny"))


@pytest.mark.parametrize(("launch", "head"), CASES)
def test_head_camera_sees_the_objects_at_the_start(launch: str, head: str) -> None:
    setup = _setup(launch)
    for seed in range(4):
        with SimEpisode(setup, seed) as episode:
            camera = setup.cameras[head]
            seg = episode.world.segmentation(camera)
            for body in episode.task.objects:
                pixels = int(np.count_nonzero(seg == body))
                # A 4 cm cube 0.7 m away at 320x240 covers about 100 pixels; whole and in view.
                assert pixels >= 40, (launch, seed, body, pixels)
                rows, cols = np.nonzero(seg == body)
                assert rows.min() > 0 and cols.min() > 0 and cols.max() < camera.width - 1


@pytest.mark.parametrize(("launch", "head"), CASES[:1])
def test_head_frame_is_a_real_picture(launch: str, head: str) -> None:
    setup = _setup(launch)
    with SimEpisode(setup, 0) as episode:
        frame = episode.world.render(setup.cameras[head])
    assert frame.shape == (240, 320, 3) and frame.dtype == np.uint8
    assert 30 < frame.mean() < 225 and frame.std() > 20  # not black, not blank
    assert len(np.unique(frame.reshape(-1, 3), axis=0)) > 50


def test_calibration_projects_the_object_onto_its_pixels() -> None:
    setup = _setup("sim_pick_place.yaml")
    calibration = setup.calibrations()["head"]
    k = np.array(calibration.camera_matrix).reshape(3, 3)
    with SimEpisode(setup, 2) as episode:
        camera = setup.cameras["head"]
        link = episode.world.link_pose(calibration.mount_parent)
        optical = link.compose(camera.mount)
        seg = episode.world.segmentation(camera)
        cube = episode.task.objects[0]
        p = optical.rotation.T @ (episode.world.body_pose(cube).position - optical.position)
        assert p[2] > 0  # in front of the camera
        u, v, w = k @ p
        rows, cols = np.nonzero(seg == cube)
        # The cube's centre projects into the middle of its pixels (within a pixel or two).
        assert abs(u / w - cols.mean()) < 2.0 and abs(v / w - rows.mean()) < 2.0
    assert calibration.mount_parent == "head_pitch_link"
    assert calibration.mount_pose == pytest.approx(
        load_session(LAUNCH / "sim_pick_place.yaml").resolve().profile.cameras[0].mount_pose
    )


def test_wrist_camera_moves_with_the_hand() -> None:
    setup = _setup("sim_pick_place.yaml")
    with SimEpisode(setup, 0) as episode:
        camera = setup.cameras["wrist_left"]
        before = episode.world.render(camera)
        arm = setup.robot.arm("left")
        targets = {name: q + 0.4 for name, q in zip(arm.joints[:2], arm.ready[:2], strict=True)}
        for _ in range(100):
            episode.world.set_targets(targets)
            episode.world.step()
        after = episode.world.render(camera)
    assert np.abs(before.astype(int) - after.astype(int)).mean() > 10


def test_frames_of_a_still_scene_carry_sensor_noise() -> None:
    setup = _setup("sim_pick_place.yaml")
    with SimEpisode(setup, 0) as episode:
        frames = [episode.capture("head"), episode.capture("head")]
    diff = frames[0].astype(int) - frames[1].astype(int)
    assert np.any(diff != 0)
    assert 1.0 < diff.std() < 5.0  # about sqrt(2) * 2 levels


def test_depth_and_mono_cameras(tmp_path: Path) -> None:
    data = yaml.safe_load(load_profile("sim_humanoid").to_yaml())
    head = next(c for c in data["cameras"] if c["name"] == "head")
    data["cameras"] += [
        {
            **head,
            "name": "head_depth",
            "kind": "depth",
            "encoding": "png",
            "width": 64,
            "height": 48,
            "topic": "",
        },
        {**head, "name": "head_mono", "channels": 1, "width": 64, "height": 48, "topic": ""},
    ]
    data["name"], data["urdf"] = "with_depth", str(KuavoHumanoid.urdf_path())
    profile = tmp_path / "with_depth.yaml"
    profile.write_text(yaml.safe_dump(data), encoding="utf-8")
    setup = SimSetup.from_session(load_session(session_file(tmp_path, profile=str(profile))).resolve())
    with SimEpisode(setup, 0) as episode:
        depth, mono = episode.capture("head_depth"), episode.capture("head_mono")
    assert depth.dtype == np.uint16 and depth.shape == (48, 64)
    # The table is 0.4 to 1.5 m from the head camera; the middle of the view sees it.
    assert 400 < np.median(depth) < 1500
    assert mono.dtype == np.uint8 and mono.shape == (48, 64)
