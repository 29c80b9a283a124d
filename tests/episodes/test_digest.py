"""Content identity: the digest follows the recorded content and nothing else."""

from __future__ import annotations

import json
import re

import h5py
from typer.testing import CliRunner

import episodes
from episodes import EpisodeWriter
from episodes import _layout as fmt
from tests.episodes.conftest import write_episode
from tests.episodes.test_maintenance import _interrupted
from training_ground.cli import app


def _stored(path) -> str | None:
    with episodes.open(path) as ep:
        return ep.metadata.content_digest


def test_writer_stores_what_content_digest_computes(tmp_path, info, joint_spec, camera_spec):
    path = write_episode(tmp_path, [joint_spec, camera_spec], info)
    stored = _stored(path)
    assert stored is not None and len(stored) == 64 and int(stored, 16) >= 0
    assert episodes.content_digest(path) == stored


def test_same_content_gives_the_same_digest(tmp_path, info, joint_spec, camera_spec):
    # Two recordings of the same samples: different episode ids, directories and times of recording.
    one = write_episode(tmp_path / "a", [joint_spec, camera_spec], info)
    two = write_episode(tmp_path / "b", [joint_spec, camera_spec], info)
    assert one.name != two.name and one.read_bytes() != two.read_bytes()
    assert _stored(one) == _stored(two)


def test_relabelling_and_annotating_change_the_bytes_not_the_digest(tmp_path, info, joint_spec):
    path = write_episode(tmp_path, [joint_spec], info, seconds=2.0)
    digest, before = _stored(path), path.read_bytes()
    # What the live recorder's mark_success does to a finished episode: labels through the journal.
    with episodes.update_in_place(path) as f:
        f.attrs.modify(fmt.ATTR_SUCCESS, fmt.SUCCESS_FALSE)
        f.attrs.modify(fmt.ATTR_NOTES, "dropped the cube")
    relabelled = path.read_bytes()
    assert relabelled != before
    result = episodes.annotate_episode(path)  # what `tg annotate` does
    assert result.changed and path.read_bytes() != relabelled
    episodes.realign(path, rate_hz=25)  # the aligned view is derived, not content
    with episodes.open(path) as ep:
        assert ep.metadata.success is False and "labels" in ep.annotations
        assert ep.aligned_info.rate_hz == 25
        assert ep.metadata.content_digest == digest
    assert episodes.content_digest(path) == digest


def test_one_changed_sample_changes_the_digest(tmp_path, info, joint_spec, camera_spec):
    path = write_episode(tmp_path, [joint_spec, camera_spec], info)
    digest = _stored(path)
    with h5py.File(path, "r+") as f:
        data = f[fmt.STREAMS]["joint_position"][fmt.DATA]
        data[5, 1] = data[5, 1] + 1e-9
    assert episodes.content_digest(path) != digest
    with h5py.File(path, "r+") as f:
        data = f[fmt.STREAMS]["joint_position"][fmt.DATA]
        data[5, 1] = data[5, 1] - 1e-9
    assert episodes.content_digest(path) == digest  # changed back
    with h5py.File(path, "r+") as f:
        frames = f[fmt.STREAMS]["head"][fmt.FRAMES]
        frames[100] = frames[100] ^ 1
    assert episodes.content_digest(path) != digest


def test_one_changed_stamp_or_metadata_changes_the_digest(tmp_path, info, joint_spec):
    path = write_episode(tmp_path, [joint_spec], info)
    digest = _stored(path)
    with h5py.File(path, "r+") as f:
        f[fmt.STREAMS]["joint_position"][fmt.ARRIVAL_NS][3] += 1
    assert episodes.content_digest(path) != digest
    other = write_episode(tmp_path / "b", [joint_spec], info.__class__(**{**info.__dict__, "task": "wave"}))
    assert _stored(other) != digest


def test_recovered_partial_has_the_digest_of_what_it_holds(tmp_path, info, joint_spec, camera_spec):
    w = _interrupted(tmp_path, info, joint_spec, camera_spec)
    w._file.close()
    assert _stored(w.path) is None
    of_partial = episodes.content_digest(w.path)
    final = episodes.recover(w.path, force=True)
    assert _stored(final) == of_partial == episodes.content_digest(final)


def test_tg_info_and_tg_recover_show_the_digest(tmp_path, info, joint_spec):
    path = write_episode(tmp_path, [joint_spec], info)
    runner = CliRunner()
    table = runner.invoke(app, ["info", str(path)])
    assert table.exit_code == 0, table.output
    # The console may be narrower than the digest: rich wraps it, so compare without the layout.
    assert _stored(path) in re.sub(r"[\s│]", "", table.output.split("content digest", 1)[1])
    as_json = runner.invoke(app, ["info", str(path), "--json"])
    assert json.loads(as_json.output)["metadata"]["content_digest"] == _stored(path)
    w = EpisodeWriter(tmp_path / "r", streams=[joint_spec], info=info, aligned_rate_hz=10)
    w.append("joint_position", 0, [0.0, 0.0, 0.0])
    w._stop_io()
    w._file.close()
    result = runner.invoke(app, ["recover", str(w.path), "--force"])
    assert result.exit_code == 0, result.output
    assert f"contentdigest{_stored(w.final_path)}" in re.sub(r"\s", "", result.output)  # however it wraps
