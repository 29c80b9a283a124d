"""What a folder given to ingest stands for: its bags, and what looks like a bag but is not, with why."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import episodes
from collectors import find_bags, ingest_bag
from tests.collectors.bagfixtures import write_walker_bag
from tg_config import RobotProfile, load_profile


@pytest.fixture(scope="module")
def walker() -> RobotProfile:
    return load_profile("walker_tienkung")


@pytest.fixture(scope="module")
def walker_bags(tmp_path_factory, walker) -> dict[str, Path]:
    """A Walker bag directory of each storage."""
    root = tmp_path_factory.mktemp("walker")
    return {
        storage: write_walker_bag(
            root / f"w_{storage}",
            walker,
            storage=storage,
            duration_s=0.5,
            status_hz=50,
            camera_hz=10,
            imu_hz=50,
        ).path
        for storage in ("mcap", "sqlite3")
    }


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_a_bare_storage_file_is_ingested_like_its_bag(tmp_path, walker, walker_bags, storage):
    (data,) = (p for p in walker_bags[storage].iterdir() if p.name != "metadata.yaml")
    bare = Path(shutil.copy(data, tmp_path / data.name))
    (from_dir,) = ingest_bag(walker_bags[storage], walker, tmp_path / "dir").episodes
    (from_file,) = ingest_bag(bare, walker, tmp_path / "file").episodes
    with episodes.open(from_dir) as a, episodes.open(from_file) as b:
        assert b.metadata.extra["bag_storage"] == storage
        assert a.stream_names == b.stream_names
        for name in a.stream_names:
            assert a.stream(name).count == b.stream(name).count > 0


def test_a_folder_lists_what_looks_like_a_bag_but_is_not(tmp_path, walker_bags):
    folder = tmp_path / "site"
    folder.mkdir()
    shutil.copytree(walker_bags["mcap"], folder / "complete")
    headless = folder / "interrupted"
    headless.mkdir()
    shutil.copy(next(walker_bags["mcap"].glob("*.mcap")), headless / "interrupted_0.mcap")
    loose = Path(shutil.copy(next(walker_bags["sqlite3"].glob("*.db3")), folder / "loose.db3"))
    (folder / "take1.bag.active").write_bytes(b"#ROSBAG V2.0\n")
    (folder / "old").mkdir()
    shutil.copy(next(walker_bags["mcap"].glob("*.mcap")), folder / "old" / "something.mcap")
    (folder / "older").mkdir()
    (folder / "older" / "take0.bag").write_bytes(b"#ROSBAG V2.0\n")
    (folder / "notes").mkdir()
    (folder / "notes" / "notes.txt").write_text("not a bag")
    (folder / "notes.txt").write_text("not a bag")

    search = find_bags([folder])
    assert search.bags == (folder / "complete", loose)
    reasons = {s.path.name: s.reason for s in search.skipped}
    assert set(reasons) == {"interrupted", "take1.bag.active", "old", "older"}
    assert "without metadata.yaml" in reasons["interrupted"]
    assert f"ros2 bag reindex {headless}" in reasons["interrupted"]
    assert "rosbag reindex" in reasons["take1.bag.active"]
    assert "folders inside a folder are not searched" in reasons["old"] == reasons["older"]


def test_a_bag_directory_given_itself_stays_to_be_reported(tmp_path, walker_bags):
    headless = tmp_path / "cut"
    headless.mkdir()
    shutil.copy(next(walker_bags["mcap"].glob("*.mcap")), headless / "cut_0.mcap")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert find_bags([headless, empty, walker_bags["mcap"]]).bags == (headless, empty, walker_bags["mcap"])
