"""`tg_view`: an episode into an .rrd file that Rerun's own reader reads back as recorded."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("rerun", reason="tg view needs the [view] extra (rerun-sdk, Python 3.11 or later)")
import rerun as rr
import rerun.urdf
from rerun.chunk import RrdReader

import episodes
import tg_view
from sim_envs import collect_sim
from tests.sim_envs._sessions import session_file
from tg_config import load_session
from tg_view._robot import joint_transform_columns

URDF = Path(__file__).resolve().parents[2] / "sim_envs/robots/kuavo_humanoid.urdf"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4 s simulated pick-and-place with three small cameras, annotated and validated."""
    tmp = tmp_path_factory.mktemp("view")
    session = session_file(tmp, sim={"failure_rate": 0.0}, episode={"max_duration_s": 4, "min_duration_s": 1})
    (record,) = collect_sim(load_session(session).resolve(), episodes=1, seed=3)
    episodes.annotate_episodes([record.path], workers=1)
    episodes.validate_episodes([record.path], workers=1, write=True)
    return record.path


@pytest.fixture(scope="module")
def saved(demo: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[tg_view.EpisodeView, Path]:
    out = tmp_path_factory.mktemp("rrd") / "demo.rrd"
    (view,) = tg_view.save_episodes([demo], out)
    return view, out


def _rows(rrd: Path) -> tuple[Counter[str], set[str]]:
    """Temporal rows per entity, and the entities with static data, as Rerun reads the file."""
    rows: Counter[str] = Counter()
    static: set[str] = set()
    for chunk in RrdReader(rrd).stream():
        if chunk.is_static:
            static.add(chunk.entity_path)
        else:
            rows[chunk.entity_path] += chunk.num_rows
    return rows, static


def _column(rrd: Path, entity: str, component: str) -> list[Any]:
    values: list[Any] = []
    for chunk in RrdReader(rrd).stream():
        if chunk.entity_path == entity:
            values += chunk.to_record_batch().to_pydict().get(component, [])
    return values


def test_every_stream_is_read_back_with_its_sample_count(demo: Path, saved: tuple[Any, Path]) -> None:
    view, rrd = saved
    rows, _ = _rows(rrd)
    with episodes.open(demo) as ep:
        counts = {name: info.count for name, info in ep.streams.items()}
    assert view.samples == counts
    assert {"head", "wrist_left", "wrist_right"} <= counts.keys()
    for name, count in counts.items():
        entity = tg_view.camera_entity(name) if name in ("head", "wrist_left", "wrist_right") else None
        entity = entity or tg_view.stream_entity(name)
        assert rows[f"/{entity}"] == count, name
    (store,) = RrdReader(rrd).recordings()
    assert store.recording_id == demo.stem and store.application_id == tg_view.APPLICATION_ID


def test_series_carry_column_names_and_units(saved: tuple[Any, Path]) -> None:
    _, rrd = saved
    (names,) = _column(rrd, "/streams/joint_position", "SeriesLines:names")
    assert names[12] == "l_arm_pitch [rad]" and len(names) == 28
    (grippers,) = _column(rrd, "/streams/gripper_state", "SeriesLines:names")
    assert grippers[0].startswith("left")


def test_the_robot_is_present_and_posed_by_the_joint_positions(demo: Path, saved: tuple[Any, Path]) -> None:
    view, rrd = saved
    rows, static = _rows(rrd)
    assert view.robot.urdf == "episode" and view.robot.name == "kuavo_humanoid"
    assert any(e.startswith("/robot/kuavo_humanoid/visual_geometries/") for e in static)
    with episodes.open(demo) as ep:
        recorded = ep.read("joint_position")
        names = ep.spec("joint_position").names
    assert isinstance(recorded, episodes.ArraySamples)
    assert set(view.robot.posed_joints) == set(names)
    entity = "/" + tg_view.joint_entity("l_forearm_pitch")
    assert rows[entity] == len(recorded)
    # The elbow's rotation about its axis is the recorded angle, sample by sample.
    quaternions = np.array([q[0] for q in _column(rrd, entity, "Transform3D:quaternion")])
    angles = 2 * np.arctan2(np.linalg.norm(quaternions[:, :3], axis=1), quaternions[:, 3])
    column = names.index("l_forearm_pitch")
    np.testing.assert_allclose(angles, np.abs(recorded.data[:, column]), atol=1e-5)
    assert angles.max() > math.radians(30)  # it really moves


def test_events_and_metadata_are_in_the_recording(demo: Path, saved: tuple[Any, Path]) -> None:
    view, rrd = saved
    rows, static = _rows(rrd)
    annotations = episodes.read_annotations(demo)
    assert annotations is not None and annotations.segments
    assert rows["/events/phases"] == len(annotations.segments) == view.events.phases
    assert rows.get("/events/gripper", 0) == len(annotations.gripper_events)
    assert view.events.findings == len(episodes.read_qa(demo) or ())
    assert "/metadata" in static
    (text,) = _column(rrd, "/metadata", "TextDocument:text")
    assert demo.stem in str(text)


def _without_urdf(folder: Path) -> Path:
    spec = episodes.ArrayStreamSpec(
        "joint_position", episodes.StreamKind.JOINT_POSITION, ("l_forearm_pitch",), ("rad",), rate_hz=50
    )
    info = episodes.EpisodeInfo(robot=episodes.RobotInfo("kuavo4pro"), source="synthetic")
    with episodes.EpisodeWriter(folder, streams=[spec], info=info, aligned_rate_hz=10) as writer:
        for k in range(50):
            writer.append("joint_position", k * 20_000_000, [-0.02 * k])
    return writer.final_path


def test_an_episode_without_urdf_is_shown_without_the_robot(tmp_path: Path) -> None:
    path = _without_urdf(tmp_path / "ds")
    (view,) = tg_view.save_episodes([path], tmp_path / "plain.rrd")
    assert view.robot.urdf == "" and view.robot.posed_joints == ()
    assert view.notes == (
        f"{path}: the episode stores no URDF; the robot is left out (give one with --urdf FILE)",
    )
    rows, _ = _rows(tmp_path / "plain.rrd")
    assert rows["/streams/joint_position"] == 50 and not any(e.startswith("/robot") for e in rows)


def test_urdf_option_supplies_the_robot(tmp_path: Path) -> None:
    path = _without_urdf(tmp_path / "ds")
    (view,) = tg_view.save_episodes([path], tmp_path / "posed.rrd", tg_view.ViewOptions(urdf=URDF))
    assert view.robot.urdf == str(URDF) and view.robot.posed_joints == ("l_forearm_pitch",)
    rows, _ = _rows(tmp_path / "posed.rrd")
    assert rows["/" + tg_view.joint_entity("l_forearm_pitch")] == 50


def test_bad_urdf_inputs_are_errors(tmp_path: Path) -> None:
    path = _without_urdf(tmp_path / "ds")
    missing = tmp_path / "nowhere.urdf"
    with pytest.raises(tg_view.ViewError, match=r"nowhere\.urdf: cannot read the URDF .*; check --urdf"):
        tg_view.save_episodes([path], tmp_path / "x.rrd", tg_view.ViewOptions(urdf=missing))
    broken = tmp_path / "broken.urdf"
    broken.write_text("<robot name='r'><link", encoding="utf-8")
    with pytest.raises(tg_view.ViewError, match=r"broken\.urdf: not a URDF Rerun can read"):
        tg_view.save_episodes([path], tmp_path / "y.rrd", tg_view.ViewOptions(urdf=broken))


def test_an_output_that_cannot_be_written_is_an_error(tmp_path: Path) -> None:
    path = _without_urdf(tmp_path / "ds")
    taken = tmp_path / "taken.rrd"
    taken.mkdir()
    with pytest.raises(
        tg_view.ViewError,
        match=r"taken\.rrd: cannot write the recording \(.*Is a directory.*\); check --save",
    ):
        tg_view.save_episodes([path], taken)


def test_a_dataset_is_one_recording_per_episode(demo: Path, tmp_path: Path) -> None:
    other = _without_urdf(demo.parent)
    try:
        views = tg_view.save_episodes([demo, other], tmp_path / "rrd")
        assert sorted(Path(v.output).name for v in views) == sorted(f"{p.stem}.rrd" for p in (demo, other))
        for v in views:
            (store,) = RrdReader(v.output).recordings()
            assert store.recording_id == v.episode_id
        with pytest.raises(tg_view.ViewError, match=r"2 episodes make 2 recordings; give a directory"):
            tg_view.save_episodes([demo, other], tmp_path / "both.rrd")
    finally:
        other.unlink()


TILTED = """<robot name="tilted">
  <link name="base"/><link name="upper"/><link name="finger"/>
  <joint name="shoulder" type="revolute">
    <parent link="base"/><child link="upper"/>
    <origin xyz="0.1 -0.2 0.3" rpy="0.4 -0.7 1.1"/><axis xyz="0.6 0 -0.8"/>
    <limit lower="-3" upper="3" effort="1" velocity="1"/>
  </joint>
  <joint name="slide" type="prismatic">
    <parent link="upper"/><child link="finger"/>
    <origin xyz="0 0.05 0.2" rpy="-0.3 0.2 0.9"/><axis xyz="1 0 0"/>
    <limit lower="0" upper="0.1" effort="1" velocity="1"/>
  </joint>
</robot>
"""


def test_joint_transforms_equal_rerun_s_own(tmp_path: Path) -> None:
    """Our numpy transforms against Rerun's UrdfJoint.compute_transform_columns, read back from a file.

    The axes are unit vectors: Rerun 0.41 uses a URDF axis as written, unnormalised (a
    quaternion that is not a unit one); we normalise it, as URDF means.
    """
    urdf = tmp_path / "tilted.urdf"
    urdf.write_text(TILTED, encoding="utf-8")
    tree = rr.urdf.UrdfTree.from_file_path(urdf)
    values = {"shoulder": np.linspace(-2.5, 2.5, 7), "slide": np.linspace(0.0, 0.1, 7)}
    rrd = tmp_path / "joints.rrd"
    recording = rr.RecordingStream("tg_view_test")
    recording.save(rrd)
    index = [rr.TimeColumn("t", sequence=range(7))]
    for name, v in values.items():
        joint = tree.get_joint_by_name(name)
        assert joint is not None
        recording.send_columns(f"ours/{name}", indexes=index, columns=joint_transform_columns(joint, v))
        theirs = joint.compute_transform_columns(v.tolist(), clamp=False)
        recording.send_columns(f"rerun/{name}", indexes=index, columns=theirs)
    recording.flush()
    recording.disconnect()
    for name in values:
        for component in ("Transform3D:quaternion", "Transform3D:translation"):
            ours = np.array(_column(rrd, f"/ours/{name}", component))
            theirs = np.array(_column(rrd, f"/rerun/{name}", component))
            assert ours.shape == theirs.shape == (7, 1, 4 if "quaternion" in component else 3)
            np.testing.assert_allclose(ours, theirs, atol=1e-6, err_msg=f"{name} {component}")
        for component in ("Transform3D:parent_frame", "Transform3D:child_frame"):
            assert _column(rrd, f"/ours/{name}", component) == _column(rrd, f"/rerun/{name}", component)
