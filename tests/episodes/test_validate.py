"""The quality gate on real recordings: clean ones pass, each injected defect is caught where it is."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from html.parser import HTMLParser
from pathlib import Path

import h5py
import numpy as np
import pytest

import episodes
from episodes._qa._parallel import run_parallel
from tests.episodes.qa_corpus import CHECK_OF, INJECTORS, SOURCES, Source, copy_of, corpus_source
from tg_config import EpisodeQaConfigs


@pytest.fixture(scope="module", params=sorted(SOURCES))
def source(request, tmp_path_factory) -> Source:
    return corpus_source(request.param, tmp_path_factory)


def _configure(src: Source, overrides: dict) -> object:
    if not overrides:
        return src.configure
    return lambda meta: dataclasses.replace(src.configure(meta), **overrides)


def _where(findings) -> list[tuple]:
    return [(f.check, f.stream, f.start_ns, f.stop_ns, f.message) for f in findings]


def test_clean_recordings_have_no_errors_and_no_warnings(source):
    for path in source.episodes:
        report = episodes.validate_episode(path, source.configure)
        assert report.findings == (), _where(report.findings)
        assert report.passed and report.episode_id == path.stem and report.size_bytes == path.stat().st_size


@pytest.mark.parametrize("defect", sorted(INJECTORS))
def test_each_defect_is_caught_by_its_check_where_it_was_injected(source, defect, tmp_path):
    injected = INJECTORS[defect](source.episodes[0], tmp_path, source)
    assert injected.check == CHECK_OF[defect]
    report = episodes.validate_episode(injected.path, _configure(source, injected.config))
    hits = [f for f in report.findings if f.check == injected.check and f.stream == injected.stream]
    assert hits, f"{defect}: no {injected.check} on {injected.stream!r}; found {_where(report.findings)}"
    assert all(f.severity is episodes.CHECKS[injected.check].severity for f in hits)
    assert report.passed == (episodes.CHECKS[injected.check].severity is episodes.Severity.WARNING)
    if injected.start_ns is not None:
        tol = injected.tolerance_ns
        assert any(
            abs(f.start_ns - injected.start_ns) <= tol and abs(f.stop_ns - injected.stop_ns) <= tol
            for f in hits
        ), f"{defect}: expected [{injected.start_ns}, {injected.stop_ns}) got {_where(hits)}"
    if injected.columns:
        assert any(set(injected.columns) <= set(f.columns) for f in hits), _where(hits)


def test_every_check_has_a_defect_in_the_corpus():
    # config.profile: test_an_unknown_profile_is_a_warning_and_defaults_are_used
    # episode.duplicate (a relation between files): test_repeated_episodes_are_reported_naming_the_original
    # replay.divergence (opt-in, registered by sim_envs on import): tests/sim_envs/test_replay.py
    built_in = set(episodes.CHECKS) - {"replay.divergence"}
    assert set(CHECK_OF.values()) | {"config.profile", "episode.duplicate"} == built_in


def test_repeated_episodes_are_reported_naming_the_original(source, tmp_path):
    original = copy_of(source.episodes[0], tmp_path)
    same_id = tmp_path / "zz_copy.h5"  # the same file under another name
    shutil.copyfile(original, same_id)
    new_id = episodes.new_episode_id()
    same_content = tmp_path / f"{new_id}.h5"  # the same recording written again under a new id
    shutil.copyfile(original, same_content)
    with h5py.File(same_content, "a") as f:
        f.attrs["episode_id"] = new_id
    reports = {
        Path(r.path): r for r in episodes.validate_episodes([same_id, original, same_content], workers=1)
    }
    assert "episode.duplicate" not in reports[original].counts()
    (by_id,) = [f for f in reports[same_id].findings if f.check == "episode.duplicate"]
    assert by_id.message == f"{same_id}: a repeat, same episode id ({original.stem}) as {original}"
    assert by_id.severity is episodes.Severity.WARNING and reports[same_id].passed
    (by_digest,) = [f for f in reports[same_content].findings if f.check == "episode.duplicate"]
    assert by_digest.message.startswith(f"{same_content}: a repeat, same content digest (")
    assert by_digest.message.endswith(f") as {original}")


def test_an_unknown_profile_is_a_warning_and_defaults_are_used(source, tmp_path):
    path = copy_of(source.episodes[0], tmp_path)
    with h5py.File(path, "r+") as f:
        f.attrs["robot_profile"] = "no_such_robot"
    report = episodes.validate_episode(path, EpisodeQaConfigs())
    assert [f.check for f in report.findings] == ["config.profile"]
    assert report.passed and report.warnings == 1
    assert (
        "no_such_robot" in report.findings[0].message and "default thresholds" in report.findings[0].message
    )


def test_a_recording_in_progress_is_reported_not_complete(tmp_path, source):
    with episodes.open(source.episodes[0]) as ep:
        specs = [i.spec for i in ep.streams.values()]
        robot = ep.metadata.robot
    writer = episodes.EpisodeWriter(
        tmp_path, streams=specs, info=episodes.EpisodeInfo(robot=robot, source="sim"), aligned_rate_hz=10
    )
    try:
        writer._stop_io()  # what reached the disk stays, as after a crash
        writer._file.close()
        report = episodes.validate_episode(writer.path, source.configure, write=True)
    finally:
        writer.path.unlink()
    statuses = [f for f in report.findings if f.check == "episode.status"]
    assert statuses and "'recording'" in statuses[0].message
    assert not report.written  # a partial file is never modified


def test_dataset_in_parallel_keeps_order_and_survives_broken_files(source, tmp_path):
    paths = [copy_of(p, tmp_path) for p in source.episodes]
    broken = tmp_path / "01ZZZZZZZZZZZZZZZZZZZZZZZZ.h5"
    broken.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    paths.insert(1, broken)
    seen = []
    reports = episodes.validate_episodes(paths, source.configure, workers=2, on_result=seen.append)
    assert [r.path for r in reports] == [str(p) for p in paths] and len(seen) == len(paths)
    assert [r.passed for r in reports] == [True, False] + [True] * (len(paths) - 2)
    assert reports[1].counts() == {"file.unreadable": 1}


def _exit_on_bad(path: Path) -> str:
    if "bad" in path.name:
        os._exit(3)  # what HDF5 does to a process on some damaged files
    return path.name


def test_a_file_that_kills_its_worker_does_not_stop_the_others(tmp_path):
    paths = [tmp_path / name for name in ("a.h5", "bad.h5", "c.h5", "d.h5")]
    results = run_parallel(
        _exit_on_bad, paths, workers=2, on_result=None, on_crash=lambda p, why: f"crashed: {p.name}"
    )
    assert results == ["a.h5", "crashed: bad.h5", "c.h5", "d.h5"]


def test_workers_must_be_positive(tmp_path):
    with pytest.raises(episodes.QaConfigError, match="workers must be at least 1, got 0"):
        episodes.validate_episodes([tmp_path / "x.h5"], workers=0)


def test_write_stores_the_result_once(source, tmp_path):
    clean = copy_of(source.episodes[0], tmp_path / "clean")
    bad = INJECTORS["frozen_frames"](source.episodes[0], tmp_path / "bad", source).path
    for path in (clean, bad):
        assert episodes.read_qa(path) is None
        first = episodes.validate_episode(path, source.configure, write=True)
        assert first.written and episodes.read_qa(path) == first.findings
        before = (path.read_bytes(), path.stat().st_mtime_ns)
        again = episodes.validate_episode(path, source.configure, write=True)
        assert not again.written and again.findings == first.findings
        assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    with h5py.File(bad, "r") as f:
        qa = f["annotations/qa"]
        assert not qa.attrs["passed"] and qa.attrs["errors"] >= 1
        assert "image.frozen" in [c.decode() for c in qa["check"][()]]


def test_json_form_of_a_report(source, tmp_path):
    path = INJECTORS["nan"](source.episodes[0], tmp_path, source).path
    data = json.loads(json.dumps(episodes.validate_episode(path, source.configure).to_json()))
    assert data["passed"] is False and data["counts"]["value.nonfinite"] == 1
    nan = next(f for f in data["findings"] if f["check"] == "value.nonfinite")
    assert nan["severity"] == "error" and nan["stop_ns"] > nan["start_ns"] and nan["count"] >= 3


class _Html(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.svgs = 0
        self.titles: list[str] = []
        self.images: list[str] = []
        self.flagged = 0
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "svg":
            self.svgs += 1
        if tag == "text" and a.get("class") == "title":
            self._in_title = True
        if tag == "img":
            self.images.append(a["src"])
        if tag == "figure" and a.get("class") == "flagged":
            self.flagged += 1

    def handle_data(self, data):
        if self._in_title:
            self.titles.append(data)
            self._in_title = False


def test_html_report_plots_each_failing_stream_and_shows_every_camera(source, tmp_path):
    spiked = INJECTORS["spike"](source.episodes[0], tmp_path / "a", source)
    frozen = INJECTORS["frozen_frames"](source.episodes[0], tmp_path / "b", source)
    reports = episodes.validate_episodes(
        [spiked.path, frozen.path, source.episodes[-1]], source.configure, workers=1, visuals=True
    )
    page = _Html()
    page.feed(episodes.render_html_report(reports))
    failing = {(r.path, f.stream) for r in reports for f in r.findings if f.stream}
    assert page.svgs == len(failing) >= 2
    assert any(t.startswith(f"{spiked.stream} ") for t in page.titles)
    assert any(t.startswith(f"{frozen.stream} ") for t in page.titles)
    with episodes.open(source.episodes[-1]) as ep:
        cameras = sum(1 for i in ep.streams.values() if i.is_image)
    assert all(len(r.visuals.strips) == cameras for r in reports)
    assert len(page.images) >= 3 * cameras and all(
        src.startswith("data:image/jpeg;base64,") for src in page.images
    )
    assert page.flagged >= 1  # the frozen stretch's first frame is in the strip, marked


def test_config_errors_name_the_field():
    with pytest.raises(
        episodes.QaConfigError, match=r"QaConfig.rate_tolerance must be within \[0, 1\), got 2"
    ):
        episodes.QaConfig(rate_tolerance=2)
    with pytest.raises(
        episodes.QaConfigError, match=r"QaConfig\.gap_factor must be a positive number, got -1"
    ):
        episodes.QaConfig(gap_factor=-1)
    with pytest.raises(
        episodes.QaConfigError, match=r"need 0 <= min_duration_s \(5\) <= max_duration_s \(2\)"
    ):
        episodes.QaConfig(min_duration_s=5, max_duration_s=2)
    with pytest.raises(episodes.QaConfigError, match=r"dark_level \(200\) < bright_level \(100\)"):
        episodes.QaConfig(dark_level=200, bright_level=100)
    with pytest.raises(episodes.QaConfigError, match=r"QaConfig\.max_ranges must be at least 1, got 0"):
        episodes.QaConfig(max_ranges=0)
    with pytest.raises(
        episodes.QaConfigError, match=r"expected_rates_hz\['head'\] must be a positive number"
    ):
        episodes.QaConfig(expected_rates_hz={"head": 0.0})
    with pytest.raises(episodes.QaConfigError, match=r"lower \(1.0\) must be finite and <= upper \(0.0\)"):
        episodes.JointLimit(1.0, 0.0, 1.0)
    with pytest.raises(episodes.QaConfigError, match="velocity must be a positive number, got 0"):
        episodes.JointLimit(0.0, 1.0, 0)
    with pytest.raises(episodes.QaConfigError, match=r"unknown segment kinds \['carry'\]"):
        episodes.TaskTemplate("x", {"carry": "carry it"})


def test_every_finding_names_a_known_check_and_ranges_are_half_open(source, tmp_path):
    for name in ("gap", "black_frames", "camera_stops_early"):
        injected = INJECTORS[name](source.episodes[0], tmp_path / name, source)
        for f in episodes.validate_episode(injected.path, source.configure).findings:
            assert f.check in episodes.CHECKS
            assert (f.start_ns is None) == (f.stop_ns is None)
            assert f.start_ns is None or f.stop_ns > f.start_ns


def test_many_ranges_are_merged_into_at_most_max_ranges(source, tmp_path):
    path = copy_of(source.episodes[0], tmp_path)
    with episodes.open(path) as ep:
        stream = next(n for n, i in ep.streams.items() if i.spec.kind is episodes.StreamKind.IMU)
    with h5py.File(path, "r+") as f:
        data = f[f"streams/{stream}/data"][()]
        data[10:400:10, 0] = np.inf  # 39 separate single samples
        f[f"streams/{stream}/data"][...] = data
    report = episodes.validate_episode(path, episodes.QaConfig(max_ranges=5))
    found = [f for f in report.findings if f.check == "value.nonfinite"]
    assert len(found) == 5 and sum(f.count for f in found) == 39
    assert "35 separate ranges merged" in found[-1].message


def test_unreadable_files_are_findings_not_exceptions(tmp_path):
    missing = episodes.validate_episode(tmp_path / "gone.h5")
    assert missing.counts() == {"file.unreadable": 1} and "no such file" in missing.findings[0].message
    directory = tmp_path / "dir.h5"
    directory.mkdir()
    assert "is a directory" in episodes.validate_episode(directory).findings[0].message


def test_a_damaged_stream_is_reported_and_the_rest_is_still_checked(source, tmp_path):
    path = INJECTORS["nan"](source.episodes[0], tmp_path, source).path
    with episodes.open(path) as ep:
        imu = next(n for n, i in ep.streams.items() if i.spec.kind is episodes.StreamKind.IMU)
    with h5py.File(path, "r+") as f:
        g = f[f"streams/{imu}"]
        n = g["arrival_ns"].shape[0]
        del g["arrival_ns"]
        g.create_dataset("arrival_ns", data=np.array(["x"] * n, dtype=object), dtype=h5py.string_dtype())
    report = episodes.validate_episode(path, source.configure)
    damaged = [f for f in report.findings if f.check == "file.unreadable"]
    assert [f.stream for f in damaged] == [imu] and f"stream {imu!r}: cannot be read" in damaged[0].message
    assert "value.nonfinite" in report.counts()


def test_frames_behind_an_hdf5_filter_are_read_through_h5py_with_the_same_results(source, tmp_path):
    """Our writer never compresses frames, but another tool's copy might: no memory map then."""
    injected = INJECTORS["cut_frame"](source.episodes[0], tmp_path, source)
    with h5py.File(injected.path, "r+") as f:
        g = f[f"streams/{injected.stream}"]
        frames = g["frames"][()]
        del g["frames"]
        g.create_dataset("frames", data=frames, maxshape=(None,), chunks=(65536,), compression="gzip")
    report = episodes.validate_episode(injected.path, source.configure)
    assert [(f.check, f.start_ns) for f in report.findings] == [("image.decode", injected.start_ns)]
