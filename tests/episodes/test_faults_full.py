"""The whole fault catalogue through every verb of the CLI (``make faults``; marker ``faults_full``,
left out of ``make test``): each mutation of tests/episodes/fault_catalogue.py beside a good
episode, under info, validate (--json), validate --write, annotate, realign, export (both formats)
and recover, as `tg` runs them (typer's CliRunner, in-process, so 600 runs take minutes).

Asserted per run: exit 0 or 1, nothing but a TgError escapes (no traceback), within 60 s (no
hang), an exit 1 names the damaged file, the good episode is still processed, and the damaged
file's raw streams are unchanged. The totals go to the fault suite's summary line.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

import episodes
from tests.episodes.fault_catalogue import CATALOGUE, raw_digest, record_sources
from tests.episodes.fault_tally import TALLY
from tg_base import TgError
from training_ground.cli import app

pytestmark = pytest.mark.faults_full

HANG_S = 60.0
EXPORT = ["--qa", "any", "--state", "joint_position", "--action", "gripper"]

Args = Callable[[Path, Path], list[str]]
VERBS: dict[str, Args] = {
    "info": lambda ds, out: ["info", str(ds), "--partial"],
    "validate": lambda ds, out: ["validate", str(ds), "--workers", "1", "--json", str(out / "qa.json")],
    "validate --write": lambda ds, out: ["validate", str(ds), "--workers", "1", "--write"],
    "annotate": lambda ds, out: ["annotate", str(ds), "--workers", "1"],
    "realign": lambda ds, out: ["realign", str(ds), "--rate", "20"],
    "export lerobot": lambda ds, out: ["export", str(ds), *EXPORT, "--out", str(out / "lr")],
    "export robomimic": lambda ds, out: [
        "export",
        str(ds),
        *EXPORT,
        "--format",
        "robomimic",
        "--out",
        str(out / "rm.hdf5"),
    ],
    "recover": lambda ds, out: ["recover", str(ds), "--force"],
}


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return record_sources(tmp_path_factory.mktemp("full_sources"))


def _good_was_processed(verb: str, good: Path, text: str, out: Path) -> bool:
    episode_id = good.name.split(".")[0]
    checks: dict[str, Callable[[], bool]] = {
        "info": lambda: episode_id in text,
        "validate": lambda: episode_id in text and (out / "qa.json").is_file(),
        "validate --write": lambda: episodes.read_qa(good) is not None,
        "annotate": lambda: episodes.read_annotations(good) is not None,
        "realign": lambda: episodes.open(good).aligned_info.rate_hz == 20,
        "export lerobot": lambda: (out / "lr").is_dir(),
        "export robomimic": lambda: (out / "rm.hdf5").is_file(),
        "recover": lambda: True,  # nothing to do for a finished episode
    }
    return checks[verb]()


@pytest.mark.parametrize("verb", list(VERBS))
@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_every_mutation_through_every_verb(
    name: str, verb: str, sources: dict[str, Path], tmp_path: Path
) -> None:
    m = CATALOGUE[name]
    ds, out = tmp_path / "ds", tmp_path / "out"
    ds.mkdir()
    out.mkdir()
    good = Path(shutil.copyfile(sources["good"], ds / sources["good"].name))
    victim = sources["partial"] if m.partial else sources["victim"]
    damaged = m.apply(Path(shutil.copyfile(victim, ds / victim.name)))
    before = raw_digest(damaged)
    TALLY["cases"] += 1
    started = time.monotonic()
    result = CliRunner().invoke(app, VERBS[verb](ds, out))
    if time.monotonic() - started > HANG_S:
        TALLY["hangs"] += 1
        pytest.fail(f"tg {verb} on {name}: ran past {HANG_S} s")
    if result.exception is not None and not isinstance(result.exception, (SystemExit, TgError)):
        TALLY["tracebacks"] += 1
        raise AssertionError(f"tg {verb} on {name}: {type(result.exception).__name__}: {result.exception}")
    TALLY["verb runs"] += 1
    text = " ".join((result.output + str(result.exception or "")).split())
    assert result.exit_code in (0, 1), (result.exit_code, text)
    TALLY["ok" if result.exit_code == 0 else "clean error"] += 1
    if result.exit_code == 1:
        assert damaged.name.split(".")[0] in text or damaged.parent.name in text, text
    assert "Traceback" not in text
    assert _good_was_processed(verb, good, text, out), (
        f"tg {verb} on {name}: the good episode was not processed"
    )
    if m.partial and verb == "recover":
        return  # the partial became an episode: its samples are checked by the recover tests
    if damaged.exists() and raw_digest(damaged) != before:
        TALLY["data lost"] += 1
        raise AssertionError(f"tg {verb} on {name}: the damaged file's raw streams changed")
