"""The read, review, task, selection and admin API against a real server with a few arrived episodes."""

from __future__ import annotations

from pathlib import Path

import pytest

import episodes
from tests.tg_site.conftest import SiteServer, wait_arrived
from tests.tg_site.site_episodes import make_episode
from tg_site._client import SiteClient, SiteClientError

CHINESE = "把红色方块放进蓝色盒子"


@pytest.fixture(scope="module")
def pushed(server: SiteServer, tokens, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Five arrived episodes: three of st-01 (one with a Chinese instruction), two of st-02."""
    out = tmp_path_factory.mktemp("eps")
    made = [make_episode(out / "a", seed=s, seconds=0.5 + 0.1 * s) for s in range(2)]
    made.append(make_episode(out / "a", seed=2, instruction=CHINESE, task="叠毛巾"))
    made += [make_episode(out / "b", seed=3 + s, station="st-02", operator="bo") for s in range(2)]
    ids = []
    with SiteClient(server.url, tokens["station"]) as one, SiteClient(server.url, tokens["station2"]) as two:
        for path in made:
            ids.append((two if "/b/" in str(path) else one).push_file(path).episode_id)
    with server.client(tokens["reviewer"]) as http:
        for episode_id in ids:
            wait_arrived(http, episode_id)
    return ids


def test_list_filters_sorts_and_pages_with_a_cursor(server: SiteServer, tokens, pushed: list[str]) -> None:
    with server.client(tokens["researcher"]) as http:
        st2 = http.get("/api/v1/episodes", params={"station": "st-02"}).json()["records"]
        assert sorted(r["episode_id"] for r in st2) == sorted(pushed[3:])
        seen, cursor = [], None
        while True:
            params = {"sort": "duration", "page_size": 2, **({"cursor": cursor} if cursor else {})}
            page = http.get("/api/v1/episodes", params=params).json()
            seen += page["records"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert sorted(r["episode_id"] for r in seen) == sorted(pushed)
        durations = [r["duration_s"] for r in seen]
        assert durations == sorted(durations)
        text = http.get("/api/v1/episodes", params={"instruction_text": "红色方块"}).json()["records"]
        assert [(r["episode_id"], r["task"]) for r in text] == [(pushed[2], "叠毛巾")]
        bad = http.get("/api/v1/episodes", params={"sort": "colour"})
        assert bad.status_code == 400 and "sort key 'colour'" in bad.json()["detail"]


def test_one_episode_qa_annotations_and_its_file_with_ranges(
    server: SiteServer, tokens, pushed: list[str]
) -> None:
    episode_id = pushed[0]
    stored = server.store / "episodes" / episode_id[:2] / f"{episode_id}.h5"
    with server.client(tokens["researcher"]) as http:
        qa = http.get(f"/api/v1/episodes/{episode_id}/qa").json()["findings"]
        assert {f["check"] for f in qa} >= {"episode.duration"}  # half a second is below the 1 s minimum
        assert (
            http.get(f"/api/v1/episodes/{episode_id}/annotations").json()["annotations"]["segments"]
            is not None
        )
        whole = http.get(f"/api/v1/episodes/{episode_id}/file")
        assert whole.content == stored.read_bytes()
        tail = http.get(f"/api/v1/episodes/{episode_id}/file", headers={"Range": "bytes=1000-"})
        assert tail.status_code == 206 and tail.content == stored.read_bytes()[1000:]


def test_frames_are_the_stored_bytes_and_series_are_decimated(
    server: SiteServer, tokens, pushed: list[str]
) -> None:
    episode_id = pushed[1]
    stored = server.store / "episodes" / episode_id[:2] / f"{episode_id}.h5"
    with episodes.open(stored) as reader:
        expected = reader.image("head", 2).data
        count = reader.stream("joint_position").count
    with server.client(tokens["reviewer"]) as http:
        frame = http.get(f"/api/v1/episodes/{episode_id}/frames/head/2")
        assert frame.headers["content-type"] == "image/jpeg" and frame.content == expected
        past = http.get(f"/api/v1/episodes/{episode_id}/frames/head/999")
        assert past.status_code == 404 and "has frames 0.." in past.json()["detail"]
        series = http.get(
            f"/api/v1/episodes/{episode_id}/timeseries/joint_position", params={"max_points": 10}
        ).json()
    assert len(series["t_s"]) <= 10 and series["step"] == -(-count // 10)
    assert series["columns"] == ["shoulder", "elbow", "wrist"] and len(series["values"][0]) == 3


def test_a_stale_review_is_refused_with_the_state_that_won(
    server: SiteServer, tokens, pushed: list[str]
) -> None:
    episode_id = pushed[2]
    with server.client(tokens["reviewer"]) as rita, server.client(tokens["reviewer2"]) as rob:
        version = rita.get(f"/api/v1/episodes/{episode_id}").json()["review_version"]
        assert rob.get(f"/api/v1/episodes/{episode_id}").json()["review_version"] == version
        saved = rita.post(
            f"/api/v1/episodes/{episode_id}/review",
            json={"state": "approved", "expected_version": version, "note": "好", "success": True},
        )
        assert saved.status_code == 200 and saved.json()["review_state"] == "approved"
        stale = rob.post(
            f"/api/v1/episodes/{episode_id}/review",
            json={"state": "rejected", "reason": "bad_grasp", "expected_version": version},
        )
        assert stale.status_code == 409 and "reload the episode" in stale.json()["detail"]
        assert (stale.json()["current"]["state"], stale.json()["current"]["reviewer"]) == ("approved", "rita")
        no_reason = rob.post(
            f"/api/v1/episodes/{episode_id}/review", json={"state": "rejected", "expected_version": 1}
        )
        assert no_reason.status_code == 422 and "needs a reason code" in no_reason.json()["detail"]
        audit = rita.get(f"/api/v1/episodes/{episode_id}/audit").json()["entries"]
    assert [e["actor"] for e in audit if e["action"] == "review"] == ["rita"]
    with episodes.open(server.store / "episodes" / episode_id[:2] / f"{episode_id}.h5") as reader:
        assert reader.metadata.review is not None and reader.metadata.review.state == "approved"
        assert reader.metadata.instruction == CHINESE


def test_tasks_with_chinese_names_and_their_progress(server: SiteServer, tokens, pushed: list[str]) -> None:
    spec = {
        "name": "叠毛巾",
        "robot_profile": "test_arm",
        "instructions": ["把毛巾叠好"],
        "target_episodes": 4,
    }
    with server.client(tokens["researcher"]) as http:
        refused = http.post("/api/v1/tasks", json=spec)
        assert refused.status_code == 403 and "a researcher token may not do this" in refused.json()["detail"]
    with server.client(tokens["admin"]) as admin:
        task = admin.post("/api/v1/tasks", json=spec).json()
        got = admin.get(f"/api/v1/tasks/{task['task_id']}").json()
        assert got["spec"]["name"] == "叠毛巾" and got["progress"]["episodes"] == 0
        assert admin.get("/api/v1/tasks/nope").status_code == 404


def test_a_selection_pulls_verified_into_a_dataset(
    server: SiteServer, tokens, pushed: list[str], tmp_path: Path
) -> None:
    with SiteClient(server.url, tokens["researcher"]) as client:
        client.json("PUT", "/api/v1/selections/st01", json={"station": ["st-01"]})
        entries = client.manifest(selection="st01")
        assert sorted(e.episode_id for e in entries) == sorted(pushed[:3])
        first = client.pull(entries, tmp_path / "pulled")
        again = client.pull(entries, tmp_path / "pulled")
        assert {r.state for r in first} == {"downloaded"} and {r.state for r in again} == {"present"}
        assert client.manifest(query={"station": ["st-02"]})[0].episode_id in pushed[3:]
    listed = episodes.list_episodes(tmp_path / "pulled")
    assert sorted(p.stem for p in listed) == sorted(pushed[:3])
    with episodes.open(tmp_path / "pulled" / f"{pushed[2]}.h5") as reader:
        assert reader.metadata.instruction == CHINESE


def test_deletion_moves_to_the_trash_and_needs_an_admin(
    server: SiteServer, tokens, pushed: list[str]
) -> None:
    episode_id = pushed[4]
    with server.client(tokens["reviewer"]) as reviewer:
        refused = reviewer.delete(f"/api/v1/episodes/{episode_id}")
        assert refused.status_code == 403
    with server.client(tokens["admin"]) as admin:
        assert admin.delete(f"/api/v1/episodes/{episode_id}").json()["state"] == "trashed"
        gone = admin.get(f"/api/v1/episodes/{episode_id}")
        assert gone.status_code == 404 and "never pushed, or deleted" in gone.json()["detail"]
        actions = [e["action"] for e in admin.get(f"/api/v1/episodes/{episode_id}/audit").json()["entries"]]
    assert actions[-1] == "delete"
    assert (server.store / "trash" / f"{episode_id}.h5").exists()


def test_metrics_and_token_administration(server: SiteServer, tokens, pushed: list[str]) -> None:
    with server.client(tokens["admin"]) as admin:
        text = admin.get("/metrics").text
        assert 'tg_site_arrivals_total{result="failed"}' in text and "tg_site_stations_seen 2" in text
        made = admin.post(
            "/api/v1/tokens", json={"role": "station", "name": "st-09", "station": "st-09"}
        ).json()
        bad = admin.post("/api/v1/tokens", json={"role": "station", "name": "st-10"})
        assert bad.status_code == 422 and "needs the station id" in bad.json()["detail"]
        assert "st-09" in [t["name"] for t in admin.get("/api/v1/tokens").json()["tokens"]]
        with server.client(made["token"]) as station:
            assert station.get("/api/v1/uploads/none").status_code == 400  # valid token, no such upload
            admin.delete("/api/v1/tokens/st-09")
            revoked = station.get("/api/v1/uploads/none")
            assert revoked.status_code == 401 and "was revoked" in revoked.json()["detail"]
    with server.client(tokens["researcher"]) as http:
        assert http.get("/api/v1/tokens").status_code == 403
        assert http.get("/api/v1/openapi.json").json()["info"]["title"] == "Training Ground site"


def test_an_interrupted_pull_resumes_and_a_bad_one_is_not_kept(
    server: SiteServer, tokens, pushed: list[str], tmp_path: Path
) -> None:
    episode_id = pushed[0]
    stored = (server.store / "episodes" / episode_id[:2] / f"{episode_id}.h5").read_bytes()
    work = tmp_path / f".{episode_id}.h5.download"
    work.write_bytes(stored[:1000])  # what an interrupted pull left
    with SiteClient(server.url, tokens["researcher"]) as client:
        entry = next(e for e in client.manifest(query={"station": ["st-01"]}) if e.episode_id == episode_id)
        progress: list[int] = []
        assert client.pull_one(entry, tmp_path, progress.append).state == "downloaded"
        assert progress[0] == 1000 and sum(progress) == entry.size
        assert (tmp_path / f"{episode_id}.h5").read_bytes() == stored
        elsewhere = tmp_path / "other"
        elsewhere.mkdir()
        (elsewhere / f".{episode_id}.h5.download").write_bytes(b"\0" * 1000)  # damaged bytes
        with pytest.raises(
            SiteClientError, match=rf"episode {episode_id}: the download has SHA-256 \w+, the site"
        ):
            client.pull_one(entry, elsewhere)
    assert list(elsewhere.iterdir()) == []
