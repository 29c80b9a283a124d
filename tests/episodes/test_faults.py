"""The fault suite (issue 13): every mutation of tests/episodes/fault_catalogue.py through every
reading verb, in-process, beside a good episode.

For each damaged copy: the reader (open, metadata, every stream read, the aligned view,
annotations), ``validate_episode``, ``annotate_episode``, the training loader over the
directory (``qa="any"``) and ``tg info DIR`` (typer's CliRunner), plus ``tg recover`` for
interrupted recordings. Asserted: nothing but an EpisodeError/TgError escapes (no KeyError,
TypeError, IndexError, ValueError or OSError: a *traceback*), every verb ends within seconds
(no *hang*), the good episode is still processed, validate does not pass damage it must catch
(no *silent pass*) and no verb changes the damaged file's raw streams. Hypothesis adds byte
damage at random offsets and random attribute values (derandomised, 25 examples each).
``test_zz_totals`` prints the counts (run the file alone, without -n, to see them).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import episodes
from tests.episodes.fault_catalogue import CATALOGUE, Mutation, raw_digest, record_clean, record_sources
from tests.episodes.fault_tally import TALLY, summary
from tg_base import TgError
from training_ground.cli import app

HANG_S = 10.0
PROPERTY = settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return record_sources(tmp_path_factory.mktemp("fault_sources"))


def _verb(name: str, work: Callable[[], Any]) -> Any:
    """Run one verb; a clean error is a TgError, anything else fails the test as a traceback."""
    started = time.monotonic()
    try:
        result = work()
        outcome = "ok"
    except TgError:
        result, outcome = None, "clean error"
    except Exception as exc:  # the suite's point: only TgError may escape
        TALLY["tracebacks"] += 1
        raise AssertionError(f"{name}: traceback {type(exc).__name__}: {exc}") from exc
    finally:
        elapsed = time.monotonic() - started
        if elapsed > HANG_S:
            TALLY["hangs"] += 1
            raise AssertionError(f"{name}: took {elapsed:.1f} s (a hang)")
    TALLY["verb runs"] += 1
    TALLY[outcome] += 1
    return result


def read_everything(path: Path) -> None:
    with episodes.open(path) as ep:
        _ = ep.metadata, ep.provenance, ep.urdf, ep.aligned_info
        for name in ep.stream_names:
            ep.stream(name)
            samples = ep.read(name)
            if isinstance(samples, episodes.ImageSamples):
                samples.decode_all()
        for _frame in ep.iter_aligned():
            pass
        for name in ep.annotations:
            ep.annotation(name)


def load_directory(directory: Path, good: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", episodes.EpisodeSkippedWarning)
        dataset = episodes.EpisodeDataset(
            directory, filter=episodes.EpisodeFilter(qa="any"), as_tensors=False, on_mixed="skip"
        )
    assert good in {entry.path for entry in dataset.episodes}, "the good episode was not loaded"
    for i in range(len(dataset)):
        # A damaged episode's sample may be a clean error; the others still load.
        with contextlib.suppress(episodes.EpisodeError):
            dataset[i]


def cli(args: list[str]) -> str:
    result = CliRunner().invoke(app, args)
    # A TgError reaching the top is one red line and exit 1 in `tg` (training_ground.cli.main).
    if result.exception is not None and not isinstance(result.exception, (SystemExit, TgError)):
        TALLY["tracebacks"] += 1
        raise AssertionError(f"tg {' '.join(args)}: {type(result.exception).__name__}: {result.exception}")
    assert result.exit_code in (0, 1), (args, result.exit_code, result.output)
    assert "Traceback" not in result.output
    return str(result.output)


def _damaged_copy(m: Mutation, sources: dict[str, Path], directory: Path) -> tuple[Path, Path]:
    directory.mkdir()
    good = directory / sources["good"].name
    shutil.copyfile(sources["good"], good)
    victim = sources["partial"] if m.partial else sources["victim"]
    target = directory / victim.name
    shutil.copyfile(victim, target)
    return m.apply(target), good


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_a_damaged_episode_is_a_clean_error_and_never_stops_the_others(
    name: str, sources: dict[str, Path], tmp_path: Path
) -> None:
    m = CATALOGUE[name]
    directory = tmp_path / "ds"
    damaged, good = _damaged_copy(m, sources, directory)
    TALLY["cases"] += 1
    before = raw_digest(damaged)
    _verb("reader", lambda: read_everything(damaged))
    report = _verb("validate", lambda: episodes.validate_episode(damaged))
    assert isinstance(report, episodes.EpisodeReport), "validate_episode raised for a bad file"
    if m.caught and report.passed and not report.findings:
        TALLY["silent passes"] += 1
        raise AssertionError(f"{name}: validate passed the damaged file silently")
    found = {f.check for f in report.findings}
    if "file.unreadable" in found:
        TALLY["reported file.unreadable"] += 1
    result = _verb("annotate", lambda: episodes.annotate_episode(damaged))
    assert isinstance(result, episodes.AnnotationResult), "annotate_episode raised for a bad file"
    _verb("loader", lambda: load_directory(directory, good))
    output = cli(["info", str(directory), *(["--partial"] if m.partial else [])])
    assert episodes.open(good).metadata.episode_id in output.replace("\n", ""), output
    if raw_digest(damaged) != before:
        TALLY["data lost"] += 1
        raise AssertionError(f"{name}: a verb changed the damaged file's raw streams")
    if m.partial:
        cli(["recover", str(directory)])
        assert not list(directory.glob(".recover-*")), "tg recover left its work directory behind"


def test_a_truncated_partial_is_a_clean_error_within_seconds_for_info_validate_and_recover(
    sources: dict[str, Path], tmp_path: Path
) -> None:
    """Issue 13 item 1: HDF5 retried a damaged partial's metadata for hours (SWMR read attempts)."""
    partial = _unreadable_cut(sources["partial"], tmp_path)
    started = time.monotonic()
    with pytest.raises(episodes.CorruptEpisodeError, match=r"\.h5\.partial: .*cannot be read \(OSError"):
        read_everything(partial)
    assert "file.unreadable" in episodes.validate_episode(partial).counts()
    info = CliRunner().invoke(app, ["info", str(partial)])
    assert info.exit_code == 1 and isinstance(info.exception, episodes.CorruptEpisodeError)
    recover = CliRunner().invoke(app, ["recover", str(tmp_path)])
    assert recover.exit_code == 1 and isinstance(recover.exception, episodes.CorruptEpisodeError)
    assert time.monotonic() - started < 20
    assert partial.exists() and not list(tmp_path.glob(".recover-*"))


@pytest.mark.parametrize("verb", ["info", "validate", "recover"])
def test_tg_on_a_truncated_interrupted_recording_ends_within_seconds(
    verb: str, sources: dict[str, Path], tmp_path: Path
) -> None:
    """Issue 13 item 1 as the user met it: `tg info X.h5.partial` printed nothing for > 400 s."""
    partial = _unreadable_cut(sources["partial"], tmp_path)
    # --force: the partial's writer was this test process, which is alive.
    args = [verb, str(partial), *(["--force"] if verb == "recover" else [])]
    try:
        done = subprocess.run(
            [sys.executable, "-c", "from training_ground.cli import main; main()", *args],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "COLUMNS": "2000"},
        )
    except subprocess.TimeoutExpired:
        TALLY["hangs"] += 1
        pytest.fail(f"tg {verb} on a truncated partial ran past 60 s")
    output = done.stdout + done.stderr
    assert done.returncode in (0, 1) and "Traceback" not in output, output
    episode_id = partial.name.split(".")[0]
    assert done.returncode == 0 or episode_id in output, output
    assert partial.exists() and not list(tmp_path.glob(".recover-*"))


def _unreadable_cut(source: Path, directory: Path) -> Path:
    """A copy of the partial ``source`` cut short where reading it fails (where HDF5 used to retry)."""
    partial = directory / source.name
    for keep in (0.5, 0.3, 0.7, 0.1, 0.9, 0.2, 0.4, 0.6, 0.8):
        shutil.copyfile(source, partial)
        os.truncate(partial, int(partial.stat().st_size * keep))
        # Checked with bounded HDF5 reads, not the reader under test (which used to hang here).
        if b"<unreadable>" in raw_digest(partial).values():
            return partial
    raise AssertionError("no cut made the partial unreadable: the test no longer covers the hang")


def test_validate_reports_each_bad_file_and_checks_the_others(
    sources: dict[str, Path], tmp_path: Path
) -> None:
    """Issue 13 item 2: one bad episode never stops `tg validate DIR`, `tg info DIR`, `tg realign DIR`."""
    directory = tmp_path / "ds"
    directory.mkdir()
    good = directory / sources["good"].name
    shutil.copyfile(sources["good"], good)
    bad = {}
    for name in (
        "attr_retyped:/streams/joint_position:kind='bogus'",
        "attr_retyped:/:format_version='abc'",
        "attr_retyped:/:extra_json='{bad'",
    ):
        copy = tmp_path / "src" / name.replace("/", "_")
        copy.mkdir(parents=True)
        clean = record_clean(copy)
        bad[name] = CATALOGUE[name].apply(shutil.copyfile(clean, directory / clean.name))
    out = CliRunner().invoke(app, ["validate", str(directory), "--workers", "1"])
    assert out.exit_code == 1 and "Traceback" not in out.output
    reports = episodes.validate_episodes(sorted(directory.glob("*.h5")), workers=1)
    by_path = {Path(r.path): r for r in reports}
    assert all("file.unreadable" in by_path[p].counts() for p in bad.values())
    assert "file.unreadable" not in by_path[good].counts()
    info = CliRunner().invoke(app, ["info", str(directory)])
    assert info.exit_code == 1 and good.stem in info.output.replace("\n", "")
    assert "3 file(s) could not be read" in info.output
    realign = CliRunner().invoke(app, ["realign", str(directory), "--rate", "5"])
    # kind='bogus' does not stop a realign (it reads stamps only); the other two cannot be opened.
    assert realign.exit_code == 1 and "2 of 4 file(s) realigned at 5 Hz" in realign.output
    assert "2 file(s) not realigned" in realign.output
    with episodes.open(good) as ep:
        assert ep.aligned_info.rate_hz == 5


def test_missing_datasets_are_named_in_the_error(sources: dict[str, Path], tmp_path: Path) -> None:
    """Issue 13 item 5: a missing dataset is named (a missing data once blamed frame_offset)."""
    for where, dataset in (
        ("/streams/joint_position/data", "data"),
        ("/streams/head/frame_offset", "frame_offset"),
        ("/streams/head/frames", "frames"),
        ("/streams/joint_position/stamp_ns", "stamp_ns"),
    ):
        path = tmp_path / where.replace("/", "_") / sources["victim"].name
        path.parent.mkdir()
        shutil.copyfile(sources["victim"], path)
        CATALOGUE[f"dataset_deleted:{where}"].apply(path)
        with pytest.raises(
            episodes.CorruptEpisodeError, match=f"dataset '{dataset}' of stream .* is missing"
        ):
            read_everything(path)
    path = tmp_path / "time" / sources["victim"].name
    path.parent.mkdir()
    shutil.copyfile(sources["victim"], path)
    CATALOGUE["dataset_deleted:/aligned/time_ns"].apply(path)
    with pytest.raises(episodes.CorruptEpisodeError, match="aligned view cannot be read"):
        _ = episodes.open(path).aligned


def test_structural_damage_validate_used_to_pass(sources: dict[str, Path], tmp_path: Path) -> None:
    """Issue 13 item 5: each of these passed `tg validate` before."""
    expected = {
        "dataset_deleted:/streams/joint_position": "episode.missing_stream",
        "dataset_deleted:/streams/head": "file.structure",
        "out_of_range:/aligned/streams/joint_position/index": "file.unreadable",
        "renamed": "file.name",
        "attr_retyped:/:format_version=1.5": "file.unreadable",
        "attr_retyped:/:success='maybe'": "file.unreadable",
        "retyped:/streams/joint_position/stamp_ns float": "file.unreadable",
        "annotations:active_range garbage": "file.structure",
    }
    for name, check in expected.items():
        work = tmp_path / str(len(list(tmp_path.iterdir())))
        work.mkdir()
        path = CATALOGUE[name].apply(shutil.copyfile(sources["victim"], work / sources["victim"].name))
        report = episodes.validate_episode(path)
        assert check in report.counts(), (name, report.findings)


def test_annotate_on_damaged_values_is_a_result_with_an_error(
    sources: dict[str, Path], tmp_path: Path
) -> None:
    for name in (
        "retyped:/streams/joint_position/data 1-D",
        "shortened:/streams/joint_position/stamp_ns",
        "annotations_dataset",
        "attr_retyped:/streams/head:calibration_json='{bad'",
    ):
        work = tmp_path / str(len(list(tmp_path.iterdir())))
        work.mkdir()
        path = CATALOGUE[name].apply(shutil.copyfile(sources["victim"], work / sources["victim"].name))
        result = episodes.annotate_episode(path)
        assert result.error or result.annotations is not None, name


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("attr_retyped:/:format_version='abc'", r"root attribute 'format_version': 'abc' is not a valid int"),
        ("attr_retyped:/:format_version=1.5", r"root attribute 'format_version': 1\.5 is not a valid int"),
        (
            "attr_retyped:/:success='maybe'",
            r"root attribute 'success' is 'maybe', not one of 'true', 'false'",
        ),
        ("attr_retyped:/:extra_json='{bad'", r"root attribute 'extra_json' is not JSON"),
        ("attr_retyped:/:extra_json='[1, 2]'", r"root attribute 'extra_json' is not a JSON object"),
        (
            "attr_retyped:/:start_time_ns='yesterday'",
            r"root attribute 'start_time_ns': 'yesterday' is not a valid int",
        ),
        (
            "attr_retyped:/streams/joint_position:kind='bogus'",
            r"stream 'joint_position' has a bad or missing",
        ),
        (
            "attr_retyped:/streams/head:calibration_json='{bad'",
            r"'calibration_json' is not a camera calibration",
        ),
        (
            "out_of_range:/aligned/streams/joint_position/index",
            r"index of stream 'joint_position' points outside",
        ),
        ("shortened:/aligned/time_ns", r"the aligned view has \d+ ticks but \['time_ns'\] hold fewer values"),
        ("annotations_dataset", r"/annotations is not a group"),
        (
            "retyped:/streams/joint_position/data 1-D",
            r"dataset 'data' of stream 'joint_position' has 1 dimension",
        ),
        (
            "retyped:/streams/joint_position/stamp_ns float",
            r"'stamp_ns' of stream 'joint_position' holds float64",
        ),
    ],
)
def test_reader_errors_name_the_file_and_what_is_wrong(
    name: str, message: str, sources: dict[str, Path], tmp_path: Path
) -> None:
    path = CATALOGUE[name].apply(shutil.copyfile(sources["victim"], tmp_path / sources["victim"].name))
    with pytest.raises(episodes.CorruptEpisodeError, match=message) as caught:
        read_everything(path)
    assert str(caught.value).startswith(f"{path}: ")


def test_recover_over_a_directory_goes_on_past_a_damaged_partial(
    sources: dict[str, Path], tmp_path: Path
) -> None:
    (tmp_path / "cut").mkdir()
    bad = _unreadable_cut(sources["partial"], tmp_path / "cut")
    directory = tmp_path / "ds"
    directory.mkdir()
    shutil.move(bad, directory / bad.name)
    other = record_clean(tmp_path / "other", close=False)
    shutil.move(other, directory / other.name)
    result = CliRunner().invoke(app, ["recover", str(directory)])
    assert result.exit_code == 1 and "1 file(s) not recovered" in result.output
    assert (directory / other.name.removesuffix(".partial")).exists() and (directory / bad.name).exists()
    assert not list(directory.glob(".recover-*"))


# ---------------------------------------------------------------- property-based damage


def _in_process_verbs(path: Path) -> None:
    _verb("reader", lambda: read_everything(path))
    report = _verb("validate", lambda: episodes.validate_episode(path))
    assert isinstance(report, episodes.EpisodeReport)
    _verb("annotate", lambda: episodes.annotate_episode(path, write=False))


@PROPERTY
@given(offset=st.integers(0, 1_000_000), data=st.binary(min_size=1, max_size=4096))
def test_bytes_overwritten_at_random_offsets(
    sources: dict[str, Path], tmp_path: Path, offset: int, data: bytes
) -> None:
    path = tmp_path / sources["victim"].name
    shutil.copyfile(sources["victim"], path)
    with open(path, "r+b") as f:
        f.seek(min(offset, path.stat().st_size - 1))
        f.write(data)
    TALLY["cases"] += 1
    _in_process_verbs(path)


ATTRIBUTES = (
    ("/", "format_version"),
    ("/", "episode_id"),
    ("/", "success"),
    ("/", "extra_json"),
    ("/", "end_time_ns"),
    ("/", "robot_joint_names"),
    ("/streams/joint_position", "kind"),
    ("/streams/joint_position", "rate_hz"),
    ("/streams/joint_position", "names"),
    ("/streams/head", "channels"),
    ("/streams/head", "calibration_json"),
    ("/aligned", "rate_hz"),
    ("/aligned", "required"),
    ("/aligned", "num_frames"),
)
VALUES = st.one_of(
    st.text(max_size=12),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.lists(st.text(alphabet="abc", max_size=4), max_size=3).map(lambda v: np.array(v, dtype=object)),
    st.lists(st.integers(-5, 5), min_size=1, max_size=3).map(np.array),
)


@PROPERTY
@given(target=st.sampled_from(ATTRIBUTES), value=VALUES)
def test_random_attribute_values(
    sources: dict[str, Path], tmp_path: Path, target: tuple[str, str], value: Any
) -> None:
    path = tmp_path / sources["victim"].name
    shutil.copyfile(sources["victim"], path)
    where, name = target
    with h5py.File(path, "r+") as f:
        if isinstance(value, np.ndarray) and value.dtype == object:
            f[where].attrs.create(name, value, dtype=h5py.string_dtype())
        else:
            f[where].attrs[name] = value
    TALLY["cases"] += 1
    _in_process_verbs(path)


def test_realign_of_an_aligned_view_missing_a_dataset_is_a_clean_error(
    sources: dict[str, Path], tmp_path: Path
) -> None:
    """Found by make faults: h5py's KeyError reached the user as a traceback."""
    path = CATALOGUE["dataset_deleted:/aligned/streams/joint_position/index"].apply(
        shutil.copyfile(sources["victim"], tmp_path / sources["victim"].name)
    )
    before = path.read_bytes()
    with pytest.raises(
        episodes.CorruptEpisodeError, match=r"its aligned view cannot be rewritten \(KeyError"
    ):
        episodes.realign(path, rate_hz=20)
    assert path.read_bytes() == before and not list(tmp_path.glob(".*"))


def test_realign_refuses_a_rate_that_would_make_billions_of_ticks(
    sources: dict[str, Path], tmp_path: Path
) -> None:
    """Issue 13 item 4: realign --rate 1e9 tried to allocate 94.9 GiB (the CLI bounds --rate too)."""
    path = Path(shutil.copyfile(sources["victim"], tmp_path / sources["victim"].name))
    with pytest.raises(
        episodes.StreamSpecError, match=r"1e\+09 Hz over its .* s would make .* aligned ticks, more"
    ):
        episodes.realign(path, rate_hz=1e9)


def test_zz_totals(capsys: pytest.CaptureFixture[str]) -> None:
    """The suite's totals (meaningful when the whole file ran in one process)."""
    with capsys.disabled():
        print("\n" + summary())
    assert TALLY["tracebacks"] == TALLY["hangs"] == TALLY["silent passes"] == TALLY["data lost"] == 0
