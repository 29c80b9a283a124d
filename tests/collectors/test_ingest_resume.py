"""Ingesting into the same folder again: each bag's episodes are written once, its source recorded."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import h5py
import pytest

import episodes
from collectors import IngestOptions, SkippedBag, ingest_bag, ingest_bags
from collectors._bags import bag_fingerprint
from tests.collectors.bagfixtures import write_kuavo_bag
from tg_config import RobotProfile, load_profile


@pytest.fixture(scope="module")
def kuavo4pro() -> RobotProfile:
    return load_profile("kuavo4pro")


@pytest.fixture(scope="module")
def two_bags(tmp_path_factory, kuavo4pro) -> list[Path]:
    folder = tmp_path_factory.mktemp("bags")
    return [
        write_kuavo_bag(
            folder / f"take{i}.bag", kuavo4pro, duration_s=0.5, camera_hz=10, size=(64, 48), seed=i
        ).path
        for i in range(2)
    ]


def test_an_episode_records_the_bag_it_came_from(tmp_path, two_bags, kuavo4pro):
    bag = two_bags[0]
    (path,) = ingest_bag(bag, kuavo4pro, tmp_path).episodes
    with episodes.open(path) as ep:
        extra = ep.metadata.extra
    assert extra["bag_name"] == "take0.bag" and extra["bag_bytes"] == bag.stat().st_size
    assert extra["bag_fingerprint"] == bag_fingerprint(bag)
    assert str(extra["bag_fingerprint"]).startswith("sha256-ends:")
    assert bag_fingerprint(bag) != bag_fingerprint(two_bags[1])


def test_ingesting_again_skips_the_bags_already_in_the_folder(tmp_path, two_bags, kuavo4pro):
    out = tmp_path / "out"
    first = ingest_bags(two_bags[:1], kuavo4pro, out)
    (episode,) = first.episodes
    moved = shutil.copy(two_bags[0], tmp_path / "renamed.bag")  # a moved or renamed bag is the same bag
    seen: list[object] = []
    marks: list[tuple[int, float]] = []
    again = ingest_bags(
        [two_bags[0], moved, two_bags[1]],
        kuavo4pro,
        out,
        workers=2,
        progress=lambda i, f: marks.append((i, f)),
        done=seen.append,
    )
    # Progress is told by the index of the bag given: the one ingested reports from its work too.
    assert Counter(i for i, _ in marks) == {0: 1, 1: 1, 2: 2} and {f for _, f in marks} == {1.0}
    assert [s.path for s in again.skipped] == [two_bags[0], Path(moved)]
    assert all(s.reason == f"already ingested into {out} (episode {episode.name})" for s in again.skipped)
    assert [r.bag for r in again.results] == [two_bags[1]] and again.ok
    assert len(seen) == 3 and sum(isinstance(o, SkippedBag) for o in seen) == 2
    assert len(episodes.list_episodes(out)) == 2

    forced = ingest_bags(two_bags[:1], kuavo4pro, out, options=IngestOptions(reingest=True))
    assert not forced.skipped and len(forced.episodes) == 1
    assert len(episodes.list_episodes(out)) == 3


def test_the_same_bag_given_twice_is_ingested_once(tmp_path, two_bags, kuavo4pro):
    summary = ingest_bags([two_bags[1], two_bags[1]], kuavo4pro, tmp_path / "out")
    assert len(summary.episodes) == 1
    (skip,) = summary.skipped
    assert skip.reason == f"the same bag as {two_bags[1]}, given before it"


def test_a_damaged_episode_in_the_folder_does_not_stop_the_check(tmp_path, two_bags, kuavo4pro):
    out = tmp_path / "out"
    assert len(ingest_bags(two_bags[:1], kuavo4pro, out).episodes) == 1
    (out / "01J00000000000000000000000.h5").write_bytes(b"not hdf5")
    again = ingest_bags(two_bags, kuavo4pro, out)
    assert [s.path for s in again.skipped] == [two_bags[0]] and len(again.episodes) == 1


def test_episodes_from_before_fingerprints_are_known_by_bag_path_and_start(tmp_path, two_bags, kuavo4pro):
    out = tmp_path / "out"
    (episode,) = ingest_bags(two_bags[:1], kuavo4pro, out).episodes
    with h5py.File(episode, "r+") as f:  # as written before bag_fingerprint was recorded
        extra = json.loads(f.attrs["extra_json"])
        for key in ("bag_name", "bag_bytes", "bag_fingerprint"):
            del extra[key]
        f.attrs["extra_json"] = json.dumps(extra)
    with episodes.open(episode) as ep:
        assert "bag_fingerprint" not in ep.metadata.extra and "bag_path" in ep.metadata.extra
    again = ingest_bags(two_bags, kuavo4pro, out)
    assert [s.path for s in again.skipped] == [two_bags[0]] and [r.bag for r in again.results] == [
        two_bags[1]
    ]
    elsewhere = Path(shutil.copy(two_bags[0], tmp_path / "copy.bag"))  # no fingerprint to know it by
    assert len(ingest_bags([elsewhere], kuavo4pro, out).episodes) == 1
