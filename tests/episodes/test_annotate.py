"""The annotator on real recordings: phases, statistics, labels, idempotence, dataset statistics."""

from __future__ import annotations

import hashlib
import json
import shutil

import h5py
import numpy as np
import pytest

import episodes
from tests.episodes.qa_corpus import SOURCES, Source, copy_of, corpus_source

# Phases are dated on the operator's clock: from the commands when an episode has them
# (episodes/QA.md, "Which clock phases live on"). Tolerances, from 12 simulated seeds:
EVENT_NS = 20_000_000
"""A commanded closing or opening: dated to the command sample where it starts or stops changing, so
within one period of a 100 Hz command stream (measured: at most 7.3 ms off)."""
MOTION_NS = 60_000_000
"""Where motion starts and ends: a minimum-jerk fit of the speed's rising flank, moved by the operator's
tremor (measured: at most 26 ms off); twice that, and well under the settle pauses between moves."""


@pytest.fixture(scope="module", params=sorted(SOURCES))
def source(request, tmp_path_factory) -> Source:
    return corpus_source(request.param, tmp_path_factory)


def _fingerprint(path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


# A script's phases (the synthetic generator's, or a scripted operator's finer ones) as segment kinds.
PHASE_KIND = {
    "approach": "reach",
    "descend": "reach",
    "reach": "reach",
    "grasp": "grasp",
    "lift": "transport",
    "carry": "transport",
    "place": "transport",
    "transport": "transport",
    "release": "release",
    "retract": "retreat",
    "retreat": "retreat",
    "rest": "retreat",  # moving the arm back to its resting posture: the end of the retreat
}


def _phases(script: list) -> list[list]:
    """The script as segment kinds: consecutive phases of one kind joined, idle left out."""
    out: list[list] = []
    for label, start, stop in script:
        kind = PHASE_KIND.get(label)
        if kind is None:
            continue
        if out and out[-1][0] == kind:
            out[-1][2] = stop
        else:
            out.append([kind, start, stop])
    return out


def test_segments_follow_the_scripted_phases(source, tmp_path):
    scripted = 0
    for clean in source.episodes:
        with episodes.open(clean) as ep:
            script = ep.metadata.extra.get("script")
        if not script:
            continue
        scripted += 1
        expected = _phases(script)
        path = copy_of(clean, tmp_path)
        a = episodes.annotate_episode(path, source.configure).annotations
        segments = a.segments
        assert [s.kind for s in segments] == [kind for kind, _, _ in expected]
        assert [s.label for s in segments] == [s.kind for s in segments]  # the pick_place template's labels
        for i, (s, (kind, want_start, want_stop)) in enumerate(zip(segments, expected, strict=True)):
            if kind in ("grasp", "release"):
                assert abs(s.start_ns - want_start) <= EVENT_NS, (s, want_start)
                assert abs(s.stop_ns - want_stop) <= EVENT_NS, (s, want_stop)
            elif i + 1 < len(expected):
                # The operator pauses between moves; the boundary may lie anywhere in that pause.
                pause_end = expected[i + 1][1]
                assert want_stop - EVENT_NS <= s.stop_ns <= pause_end + EVENT_NS, (s, want_stop, pause_end)
        assert abs(segments[0].start_ns - expected[0][1]) <= MOTION_NS, (segments[0], expected[0])
        assert abs(segments[-1].stop_ns - expected[-1][2]) <= MOTION_NS, (segments[-1], expected[-1])
        assert (a.active_start_ns, a.active_stop_ns) == (segments[0].start_ns, segments[-1].stop_ns)
        assert {e.event for e in a.gripper_events} == {"close", "open"}
    if not scripted:
        pytest.skip(f"{source.name} episodes carry no script (extra_json['script'])")


def test_statistics_equal_numpy_on_the_aligned_active_range(source, tmp_path):
    path = copy_of(source.episodes[0], tmp_path)
    a = episodes.annotate_episode(path, source.configure).annotations
    assert episodes.read_annotations(path) == a
    with episodes.open(path) as ep:
        view = ep.aligned
        ticks = (view.time_ns >= a.active_start_ns) & (view.time_ns < a.active_stop_ns)
        arrays = [n for n, i in ep.streams.items() if not i.is_image]
        assert sorted(s.stream for s in a.stats) == sorted(arrays)
        for s in a.stats:
            rows = ep.read(s.stream).data[view.index[s.stream][ticks]]
            assert s.count == rows.shape[0] == int(ticks.sum())
            assert s.names == ep.stream(s.stream).spec.names
            np.testing.assert_array_equal(s.array("min"), rows.min(axis=0))
            np.testing.assert_array_equal(s.array("max"), rows.max(axis=0))
            np.testing.assert_allclose(s.array("mean"), rows.mean(axis=0), rtol=1e-12, atol=1e-15)
            np.testing.assert_allclose(s.array("std"), rows.std(axis=0), rtol=1e-9, atol=1e-15)
            for key, q in (("q01", 0.01), ("q10", 0.1), ("q50", 0.5), ("q90", 0.9), ("q99", 0.99)):
                np.testing.assert_allclose(s.array(key), np.quantile(rows, q, axis=0), rtol=1e-12, atol=1e-15)


def test_annotating_again_changes_nothing(source, tmp_path):
    path = copy_of(source.episodes[0], tmp_path)
    assert episodes.read_annotations(path) is None
    first = episodes.annotate_episode(path, source.configure)
    assert first.changed and not first.error
    episodes.validate_episode(path, source.configure, write=True)
    before = _fingerprint(path)
    again = episodes.annotate_episode(path, source.configure)
    assert not again.changed and again.annotations == first.annotations
    assert not episodes.validate_episode(path, source.configure, write=True).written
    assert _fingerprint(path) == before


def test_stored_annotations_that_differ_are_rewritten(source, tmp_path):
    # Idempotency compares the statistics by their stored digest: a stale digest (statistics
    # from another version or configuration) or a changed label must still be rewritten.
    path = copy_of(source.episodes[0], tmp_path)
    first = episodes.annotate_episode(path, source.configure)
    with h5py.File(path, "r+") as f:
        f["annotations/stats"].attrs["digest"] = "0" * 64
    redone = episodes.annotate_episode(path, source.configure)
    assert redone.changed and episodes.read_annotations(path) == first.annotations
    with h5py.File(path, "r+") as f:
        f["annotations/labels"].attrs["task"] = "something else"
    assert episodes.annotate_episode(path, source.configure).changed
    assert episodes.read_annotations(path) == first.annotations
    assert not episodes.annotate_episode(path, source.configure).changed


def test_annotations_are_plain_hdf5_and_raw_data_is_untouched(source, tmp_path):
    path = copy_of(source.episodes[0], tmp_path)
    episodes.annotate_episode(path, source.configure)
    episodes.validate_episode(path, source.configure, write=True)
    kinds = []

    def visit(name, obj):
        for value in obj.attrs.values():
            assert isinstance(value, (str, bytes, bool, int, float, np.number, np.bool_, np.ndarray)), (
                name,
                value,
            )
        if isinstance(obj, h5py.Dataset):
            kinds.append(obj.dtype.kind)
            assert obj.dtype.kind in "iufb" or h5py.check_string_dtype(obj.dtype) is not None, (
                name,
                obj.dtype,
            )

    with h5py.File(path, "r") as f, h5py.File(source.episodes[0], "r") as original:
        assert sorted(f["annotations"]) == [
            "active_range",
            "gripper_events",
            "labels",
            "qa",
            "segments",
            "stats",
        ]
        f["annotations"].visititems(visit)
        for name in original["streams"]:
            for ds in ("stamp_ns", "arrival_ns"):
                np.testing.assert_array_equal(
                    f[f"streams/{name}/{ds}"][()], original[f"streams/{name}/{ds}"][()]
                )
        assert dict(f.attrs).keys() == dict(original.attrs).keys()
    assert set(kinds) <= {"i", "f", "O", "b", "u"}


def test_instruction_and_success_labels(source, tmp_path):
    path = copy_of(source.episodes[0], tmp_path)
    with h5py.File(path, "r+") as f:
        f.attrs["task"] = "pick_place"
        f.attrs["instruction"] = "put the cup on the plate"
    with episodes.open(path) as ep:
        meta = ep.metadata
    a = episodes.annotate_episode(path, source.configure).annotations
    assert (a.instruction, a.instruction_source) == ("put the cup on the plate", "metadata")
    if meta.success is None:
        assert a.success is None and a.success_source == "unknown"
    else:
        assert a.success == meta.success
        assert a.success_source == ("simulator" if meta.source == "sim" else "operator")
    with h5py.File(path, "r+") as f:
        f.attrs["instruction"] = ""
        f.attrs["success"] = "unknown"
    b = episodes.annotate_episode(path, source.configure).annotations
    template = source.configure(meta).template("pick_place")
    assert (b.instruction, b.instruction_source) == (template.instruction, "template") and b.instruction
    assert (b.success, b.success_source) == (None, "unknown")
    with h5py.File(path, "r+") as f:
        f.attrs["task"] = "no_template_for_this"
        f.attrs["success"] = "true"
        f.attrs["source"] = "sim"
    c = episodes.annotate_episode(path, source.configure).annotations
    assert (c.instruction, c.instruction_source) == ("", "none")
    assert (c.success, c.success_source) == (True, "simulator")
    generic = episodes.TaskTemplate()
    assert all(s.label == generic.label(s.kind) for s in c.segments)  # an unknown task: generic labels


def test_an_episode_where_nothing_moves_is_one_motion_segment(source, tmp_path):
    path = copy_of(source.episodes[0], tmp_path)
    with h5py.File(path, "r+") as f:
        for g in f["streams"].values():
            if "data" in g and g.attrs["kind"] in ("joint_position", "gripper"):
                g["data"][...] = g["data"][0]
        ticks = f["aligned/time_ns"][()]
    a = episodes.annotate_episode(path, source.configure).annotations
    assert not a.motion_detected and a.gripper_events == ()
    assert (a.active_start_ns, a.active_stop_ns) == (int(ticks[0]), int(ticks[-1]) + 1)
    assert [(s.kind, s.label) for s in a.segments] == [("motion", "move")]


def test_dataset_statistics_cover_the_episodes_and_go_stale(source, tmp_path):
    directory = tmp_path / "ds"
    paths = [copy_of(p, directory) for p in source.episodes]
    results = episodes.annotate_episodes(paths, source.configure, workers=1)
    stats = {r.episode_id: r.annotations.stats for r in results}
    assert episodes.write_dataset_stats(directory, stats)
    assert not episodes.write_dataset_stats(directory, stats)  # same content: file untouched
    loaded = episodes.load_dataset_stats(directory)
    assert set(loaded.episodes) == {p.stem for p in paths}
    joined = []
    for path, r in zip(paths, results, strict=True):
        a = r.annotations
        with episodes.open(path) as ep:
            view = ep.aligned
            ticks = (view.time_ns >= a.active_start_ns) & (view.time_ns < a.active_stop_ns)
            joined.append(ep.read("joint_position").data[view.index["joint_position"][ticks]])
    rows = np.concatenate(joined)
    q = loaded.streams["joint_position"]
    assert q.count == rows.shape[0]
    np.testing.assert_array_equal(q.array("min"), rows.min(axis=0))
    np.testing.assert_array_equal(q.array("max"), rows.max(axis=0))
    np.testing.assert_allclose(q.array("mean"), rows.mean(axis=0), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(q.array("std"), rows.std(axis=0), rtol=1e-6, atol=1e-9)
    payload = json.loads((directory / episodes.DATASET_STATS_FILE).read_text())
    assert payload["format"] == "tg-dataset-stats" and payload["streams"]["joint_position"][
        "episodes"
    ] == len(paths)

    extra = directory / "01ZZZZZZZZZZZZZZZZZZZZZZZZ.h5"
    shutil.copyfile(paths[0], extra)
    with pytest.raises(episodes.StaleStatisticsError, match=r"stale: 1 episode\(s\) not covered \(01ZZZ"):
        episodes.load_dataset_stats(directory)
    extra.unlink()
    paths[0].unlink()
    with pytest.raises(
        episodes.StaleStatisticsError, match=r"1 covered episode\(s\) gone .*run `tg annotate"
    ):
        episodes.load_dataset_stats(directory)
    (directory / episodes.DATASET_STATS_FILE).write_text("{not json")
    with pytest.raises(episodes.StaleStatisticsError, match="unreadable dataset statistics"):
        episodes.load_dataset_stats(directory)
    (directory / episodes.DATASET_STATS_FILE).write_text('{"format": "other", "episodes": {}, "streams": {}}')
    with pytest.raises(episodes.StaleStatisticsError, match="not a version 1 tg-dataset-stats file"):
        episodes.load_dataset_stats(directory)
    (directory / episodes.DATASET_STATS_FILE).unlink()
    with pytest.raises(episodes.StaleStatisticsError, match="no dataset statistics; run `tg annotate"):
        episodes.load_dataset_stats(directory)


def test_unreadable_files_are_results_not_exceptions(tmp_path, source):
    bad = tmp_path / "bad.h5"
    bad.write_text("nope")
    paths = [bad, copy_of(source.episodes[0], tmp_path)]
    results = episodes.annotate_episodes(paths, source.configure, workers=1)
    assert results[0].annotations is None and "bad.h5: not an HDF5 file" in results[0].error
    assert results[1].annotations is not None and results[1].changed


def test_partial_recordings_are_not_annotated(source, tmp_path):
    with episodes.open(source.episodes[0]) as ep:
        specs = [i.spec for i in ep.streams.values()]
        robot = ep.metadata.robot
    writer = episodes.EpisodeWriter(
        tmp_path, streams=specs, info=episodes.EpisodeInfo(robot=robot, source="sim"), aligned_rate_hz=10
    )
    try:
        writer._stop_io()
        writer._file.close()
        result = episodes.annotate_episode(writer.path, source.configure)
    finally:
        writer.path.unlink()
    assert "still recording or interrupted; run `tg recover` first" in result.error and not result.changed


def test_statistics_stored_as_datasets_by_earlier_versions_are_still_read(source, tmp_path):
    path = copy_of(source.episodes[0], tmp_path)
    a = episodes.annotate_episode(path, source.configure).annotations
    with h5py.File(path, "r+") as f:  # the layout before statistics moved into attributes
        for g in f["annotations/stats"].values():
            for key in [k for k in g.attrs if k != "count"]:
                value = g.attrs[key]
                del g.attrs[key]
                if value.dtype.kind == "O":
                    g.create_dataset(key, data=value, dtype=h5py.string_dtype())
                else:
                    g.create_dataset(key, data=value)
    assert episodes.read_annotations(path) == a
    assert not episodes.annotate_episode(path, source.configure).changed
