"""`tg dataset`: every verb on real directories, as a user types it."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import episodes
import tg_site
from tests.episodes.loader_corpus import make_episode
from training_ground.cli import app

runner = CliRunner()


def _ok(*args: str) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, (result.output, result.exception)
    return " ".join(result.output.split())


@pytest.fixture
def dataset(tmp_path):
    root = tmp_path / "lab1"
    root.mkdir()
    make_episode(root, frames=12, operator="alice")
    make_episode(root, frames=10, operator="bo", success=False, qa=None)
    return root


def _ids(root):
    return [p.name.removesuffix(".h5") for p in episodes.list_episodes(root)]


def test_ls_filters_as_the_loader_and_prints_json(dataset):
    table = _ok("dataset", "ls", dataset)
    assert "2 episode(s)" in table and "alice" in table and "bo" in table
    rows = json.loads(_ok("dataset", "ls", dataset, "--qa", "passed", "--json"))
    assert [r["operator"] for r in rows] == ["alice"]
    assert "left out: 1 never validated" in _ok("dataset", "ls", dataset, "--qa", "passed")


def test_relabel_shows_in_open_loader_ls_and_catalogue(dataset):
    _, second = _ids(dataset)  # never validated: a site's catalogue reads it as it is
    out = _ok("dataset", "relabel", dataset, second, "--task", "stack", "--success", "yes", "--by", "cy")
    assert f"{second}: task: 'pick_place' -> 'stack', success: 'false' -> 'true'" in out
    with episodes.open(dataset / f"{second}.h5") as ep:
        (change,) = ep.metadata.label_history
    assert change.by == "cy" and ep.metadata.task == "stack"
    selection = episodes.select_episodes(dataset, episodes.EpisodeFilter(qa="any", task="stack"))
    assert [e.episode_id for e in selection.episodes] == [second]
    rows = json.loads(_ok("dataset", "ls", dataset, "--task", "stack", "--json"))
    assert rows[0]["label_history"][0]["changes"]["task"] == ["pick_place", "stack"]
    record = tg_site.record_from_file(dataset / f"{second}.h5")  # what a site's catalogue indexes
    assert (record.task, record.success) == ("stack", True)
    result = runner.invoke(app, ["dataset", "relabel", str(dataset), "01NOSUCHEPISODE", "--success", "yes"])
    assert isinstance(result.exception, episodes.DatasetError)
    assert "no episode 01NOSUCHEPISODE (2 episode(s) here; `tg dataset ls" in str(result.exception)


def test_rm_and_restore_round_trip(dataset):
    first, second = _ids(dataset)
    assert f"{second}: moved to" in _ok(
        "dataset", "rm", dataset, second, "--reason", "cube fell", "--by", "bo"
    )
    assert _ids(dataset) == [first]
    rows = json.loads(_ok("dataset", "ls", dataset, "--trash", "--json"))
    assert (
        rows[0]["episode_id"] == second and rows[0]["reason"] == "cube fell" and rows[0]["removed_by"] == "bo"
    )
    _ok("dataset", "restore", dataset, second)
    assert _ids(dataset) == [first, second]


def test_merge_refused_for_rates_then_realigned_and_split(dataset, tmp_path):
    other = tmp_path / "lab2"
    other.mkdir()
    make_episode(other, frames=8, operator="cy")
    episodes.realign(episodes.list_episodes(other)[0], rate_hz=5)
    result = runner.invoke(
        app, ["dataset", "merge", str(dataset), str(other), "--out", str(tmp_path / "all")]
    )
    assert isinstance(result.exception, episodes.DatasetError)
    assert "aligned rates differ" in str(result.exception) and "--realign HZ" in str(result.exception)
    result = runner.invoke(app, ["dataset", "merge", str(dataset), str(dataset), "--out", str(dataset)])
    assert "cannot write a dataset into itself" in str(result.exception)
    out = _ok("dataset", "merge", dataset, other, "--out", tmp_path / "all", "--realign", "10")
    assert "merged 3 episode(s)" in out and "2 hard-linked, 1 realigned" in out
    out = _ok("dataset", "split", tmp_path / "all", "--by", "operator", "--out", tmp_path / "by_op")
    assert "alice (1), bo (1), cy (1)" in out
    assert len(_ids(tmp_path / "by_op" / "cy")) == 1
