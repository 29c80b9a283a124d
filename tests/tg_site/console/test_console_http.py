"""The console's pages over plain HTTP: sessions, CSRF, roles, form validation, translations."""

from __future__ import annotations

import hashlib
import re
import sqlite3
import ssl
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.tg_site.conftest import SiteServer, make_tokens
from tests.tg_site.console.console_site import csrf_of, make_console_episode, push, sign_in
from tests.tg_site.test_server_limits import _self_signed
from tg_site import Store
from tg_site.console._i18n import Translations

TEMPLATES = Path(__file__).resolve().parents[3] / "tg_site" / "console" / "templates"


@pytest.fixture(scope="module")
def episode_id(server: SiteServer, tokens: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> str:
    recorder = {
        "topics": {
            "/joint_states": {
                "received": 150,
                "rejected": 2,
                "rejected_by": {"joint_position": {"not_finite": 2}},
                "gap_count": 1,
                "errors": ["/joint_states: NaN in j2; not recorded"],
            }
        }
    }
    path = make_console_episode(
        tmp_path_factory.mktemp("eps"),
        seed=1,
        instruction="把红色方块放进蓝色箱子",
        extra={"recorder": recorder},
    )
    return push(server, tokens["station"], path, tokens["reviewer"])


def browser(server: SiteServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=30, follow_redirects=False)


def test_pages_need_a_session_and_the_cookie_is_httponly_and_strict(
    server: SiteServer, tokens: dict[str, str]
) -> None:
    with browser(server) as client:
        answer = client.get("/episodes?qa=fail")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/login?next=/episodes%3Fqa%3Dfail"
        signed = sign_in(client, tokens["researcher"])
        assert signed.status_code == 303 and signed.headers["location"] == "/episodes"
        cookie = signed.headers["set-cookie"].lower()
        assert "tg_session=" in cookie and "httponly" in cookie and "samesite=strict" in cookie
        assert "secure" not in cookie  # plain HTTP here; under TLS the cookie is Secure
        assert client.get("/episodes").status_code == 200
        assert client.get("/api/v1/episodes").status_code == 401  # the API still wants its bearer token


def test_a_wrong_or_station_token_is_refused_on_the_form(server: SiteServer, tokens: dict[str, str]) -> None:
    with browser(server) as client:
        wrong = sign_in(client, "not-a-token")
        assert wrong.status_code == 401 and 'id="login-error"' in wrong.text
        station = sign_in(client, tokens["station"])
        assert station.status_code == 401
        assert "a station token cannot sign in to the console" in station.text
        assert client.get("/dashboard").status_code == 303


def test_forms_without_the_csrf_token_are_refused(
    server: SiteServer, tokens: dict[str, str], episode_id: str
) -> None:
    with browser(server) as client:
        assert client.post("/login", data={"token": tokens["reviewer"]}).status_code == 403
        sign_in(client, tokens["reviewer"])
        answer = client.post(
            f"/episodes/{episode_id}/review", data={"state": "approved", "expected_version": "0"}
        )
        assert answer.status_code == 403
        assert "security token is missing or out of date (CSRF check)" in answer.text
        assert client.post("/logout", data={"csrf": "forged"}).status_code == 403


def test_a_researcher_may_read_but_not_review_or_define_tasks(
    server: SiteServer, tokens: dict[str, str], episode_id: str
) -> None:
    with browser(server) as client:
        sign_in(client, tokens["researcher"])
        page = client.get(f"/episodes/{episode_id}")
        assert page.status_code == 200 and "把红色方块放进蓝色箱子" in page.text
        assert "Your token may read but not review." in page.text
        assert "/joint_states: NaN in j2; not recorded" in page.text  # the recorder's diagnostics
        form = {"csrf": csrf_of(page.text), "state": "approved", "expected_version": "0"}
        answer = client.post(f"/episodes/{episode_id}/review", data=form)
        assert answer.status_code == 403
        assert "a researcher token may not review episodes; sign in with a reviewer token" in answer.text
        task = client.post("/tasks", data={"csrf": form["csrf"], "name": "x"})
        assert task.status_code == 403 and "may not define tasks" in task.text


def test_bad_fields_are_named_next_to_the_field(
    server: SiteServer, tokens: dict[str, str], episode_id: str
) -> None:
    with browser(server) as client:
        sign_in(client, tokens["admin"])
        table = client.get("/episodes", params={"since": "yesterday", "min_s": "long"})
        assert table.status_code == 422
        assert 'id="error-since">&#39;yesterday&#39; is not a date; write it as YYYY-MM-DD' in table.text
        assert 'id="error-min_s">&#39;long&#39; is not a number' in table.text
        assert 'value="yesterday"' in table.text  # what was typed stays in the form
        page = client.get(f"/episodes/{episode_id}")
        reject = {
            "csrf": csrf_of(page.text),
            "state": "rejected",
            "expected_version": "0",
            "instruction": " ",
        }
        answer = client.post(f"/episodes/{episode_id}/review", data=reject)
        assert answer.status_code == 422
        assert 'id="error-reason">a rejection needs a reason from the list' in answer.text
        assert 'id="error-instruction">the instruction cannot be empty' in answer.text
        task = client.post("/tasks", data={"csrf": reject["csrf"], "name": "", "target_episodes": "many"})
        assert task.status_code == 422
        assert 'id="error-name">a task needs a name' in task.text
        assert 'id="error-target_episodes">&#39;many&#39; is not a whole number' in task.text
        saved = client.post("/episodes/selection", data={"csrf": reject["csrf"], "name": "x y", "qa": "pass"})
        assert saved.status_code == 422 and "use letters, digits" in saved.text
        assert 'id="error-min_s">&#39;nan&#39; is not a number' in client.get("/episodes?min_s=nan").text
        stale = client.post(
            f"/episodes/{episode_id}/review",
            data={**reject, "state": "approved", "instruction": "x", "expected_version": "5"},
        )
        assert stale.status_code == 409 and 'id="stale"' in stale.text  # never reviewed: shown as pending
        huge = {**reject, "state": "approved", "instruction": "x", "expected_version": "9" * 30}
        assert client.post(f"/episodes/{episode_id}/review", data=huge).status_code == 422
        hours = client.post("/tasks", data={"csrf": reject["csrf"], "name": "t", "target_hours": "1e309"})
        assert (
            hours.status_code == 422
            and 'id="error-target_hours">give a number from 0 to 1,000,000,000' in hours.text
        )
        days = client.get("/dashboard?days=0")
        assert days.status_code == 400 and "days=0: show 1 to 92 days" in days.text
        sort = client.get("/episodes", params={"sort": "colour", "qa": "maybe"})
        assert "&#39;colour&#39; is not one of recorded_at" in sort.text
        assert "&#39;maybe&#39;: choose any, yes or no" in sort.text
        scan = client.post(
            "/episodes/selection", data={"csrf": reject["csrf"], "name": "gaps", "check": "time.gap"}
        )
        assert (
            scan.status_code == 422
            and "a selection cannot keep the QA check or duration filters" in scan.text
        )


def test_an_admin_edits_reassigns_and_closes_a_task_on_the_board(
    server: SiteServer, tokens: dict[str, str]
) -> None:
    with browser(server) as client, browser(server) as reader:
        sign_in(client, tokens["admin"])
        csrf = csrf_of(client.get("/tasks").text)
        made = {
            "csrf": csrf,
            "name": "擦桌子",
            "instructions": "wipe\n",
            "stations": "st-01",
            "priority": "3",
        }
        assert client.post("/tasks", data=made).status_code == 303
        task_id = next(t["task_id"] for t in _tasks(server, tokens) if t["spec"]["name"] == "擦桌子")
        form = client.get(f"/tasks/{task_id}/edit")
        assert (
            form.status_code == 200
            and 'value="st-01"' in form.text
            and 'id="task-active" checked' in form.text
        )
        bad = client.post(f"/tasks/{task_id}", data={"csrf": csrf, "name": "擦桌子", "priority": "first"})
        assert (
            bad.status_code == 422 and 'id="error-priority">&#39;first&#39; is not a whole number' in bad.text
        )
        edit = {**made, "stations": "st-02, st-01", "instructions": "把桌子擦干净", "operators": "ana"}
        assert client.post(f"/tasks/{task_id}", data=edit).status_code == 303  # no "active": closed
        spec = next(t["spec"] for t in _tasks(server, tokens) if t["task_id"] == task_id)
        assert (
            spec["stations"],
            spec["instructions"],
            spec["operators"],
            spec["priority"],
            spec["active"],
        ) == (
            ["st-02", "st-01"],
            ["把桌子擦干净"],
            ["ana"],
            3,
            False,
        )
        board = client.get("/tasks").text
        assert f'href="/tasks/{task_id}/edit"' in board and 'class="closed"' in board
        sign_in(reader, tokens["researcher"])
        assert f"/tasks/{task_id}/edit" not in reader.get("/tasks").text
        refused = reader.get(f"/tasks/{task_id}/edit")
        assert refused.status_code == 403 and "may not edit tasks" in refused.text
        assert client.get("/tasks/nope/edit").status_code == 404


def _tasks(server: SiteServer, tokens: dict[str, str]) -> list[dict[str, Any]]:
    with server.client(tokens["admin"]) as admin:
        tasks: list[dict[str, Any]] = admin.get("/api/v1/tasks").json()["tasks"]
        return tasks


def test_sessions_survive_a_restart_and_end_with_their_token(tmp_path: Path) -> None:
    store = tmp_path / "site"
    tokens = make_tokens(store)
    first = SiteServer(store).start()
    try:
        with browser(first) as client:
            sign_in(client, tokens["reviewer"])
            cookie = client.cookies["tg_session"]
    finally:
        first.stop()
    with sqlite3.connect(Store(store).catalogue_path) as db:
        rows = db.execute("select session_sha256, token_id from console_sessions").fetchall()
    assert rows == [(hashlib.sha256(cookie.encode()).hexdigest(), tokens["reviewer"].split("_")[1])]
    second = SiteServer(store).start()  # another process, another port: the same session
    try:
        with httpx.Client(base_url=second.url, cookies={"tg_session": cookie}, timeout=30) as client:
            assert client.get("/dashboard").status_code == 200
            with second.client(tokens["admin"]) as api:
                assert api.delete("/api/v1/tokens/rita").status_code == 200
            ended = client.get("/dashboard")
            assert ended.status_code == 303 and ended.headers["location"].startswith("/login")
    finally:
        second.stop()
    with sqlite3.connect(Store(store).catalogue_path) as db:
        assert db.execute("select count(*) from console_sessions").fetchone() == (0,)


def test_a_saved_selection_is_what_tg_pull_resolves(
    server: SiteServer, tokens: dict[str, str], episode_id: str
) -> None:
    with browser(server) as client:
        sign_in(client, tokens["reviewer"])
        page = client.get("/episodes", params={"station": "st-01"})
        form = {"csrf": csrf_of(page.text), "name": "st01-all", "station": "st-01", "sort": "recorded_at"}
        saved = client.post("/episodes/selection", data=form)
        assert saved.status_code == 200 and 'id="selection-saved"' in saved.text
    with server.client(tokens["researcher"]) as api:
        manifest = api.get("/api/v1/selections/st01-all/manifest").json()
    assert episode_id in [e["episode_id"] for e in manifest["episodes"]]


def test_logout_and_a_revoked_token_end_the_session(server: SiteServer, tokens: dict[str, str]) -> None:
    with browser(server) as client:
        sign_in(client, tokens["reviewer2"])
        page = client.get("/dashboard")
        assert client.post("/logout", data={"csrf": csrf_of(page.text)}).status_code == 303
        assert client.get("/dashboard").status_code == 303
    with server.client(tokens["admin"]) as api:
        made = api.post("/api/v1/tokens", json={"role": "reviewer", "name": "temp"})
        assert made.status_code in (200, 201), made.text
        token = made.json()["token"]
    with browser(server) as client:
        sign_in(client, token)
        assert client.get("/dashboard").status_code == 200
        with server.client(tokens["admin"]) as api:
            assert api.delete("/api/v1/tokens/temp").status_code == 200
        assert client.get("/dashboard").status_code == 303


def test_every_message_of_the_pages_has_a_chinese_translation() -> None:
    used = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r'_\("([^"]+)"\)', template.read_text(encoding="utf-8")))
        used |= set(re.findall(r"_\('([^']+)'\)", template.read_text(encoding="utf-8")))
    chinese = Translations.load().messages("zh_Hans")
    assert sorted(used - set(chinese)) == []


def test_the_language_is_kept_per_user(server: SiteServer, tokens: dict[str, str]) -> None:
    with browser(server) as client:
        sign_in(client, tokens["researcher"])
        page = client.get("/dashboard", headers={"accept-language": "en-US"})
        assert ">Episodes<" in page.text
        chosen = client.post(
            "/language", data={"csrf": csrf_of(page.text), "language": "zh_Hans", "next": "/tasks"}
        )
        assert chosen.status_code == 303 and chosen.headers["location"] == "/tasks"
        bad = client.post("/language", data={"csrf": csrf_of(page.text), "language": "fr"})
        assert bad.status_code == 400 and "language &#39;fr&#39;: choose one of en, zh_Hans" in bad.text
    with browser(server) as other:  # another browser, the same user: Chinese
        sign_in(other, tokens["researcher"])
        page = other.get("/dashboard", headers={"accept-language": "en-US"})
        assert ">片段<" in page.text and 'lang="zh-Hans"' in page.text


def test_a_missing_or_path_like_episode_is_a_page_saying_so(
    server: SiteServer, tokens: dict[str, str]
) -> None:
    with browser(server) as client:
        sign_in(client, tokens["reviewer"])
        missing = client.get("/episodes/01ARZ3NDEKTSV4RRFFQ69G5FAV")
        assert missing.status_code == 404
        assert "episode 01ARZ3NDEKTSV4RRFFQ69G5FAV: not in this site&#39;s catalogue" in missing.text
        assert client.get("/episodes/x.y").status_code == 400
        frame = client.get("/console/episodes/01ARZ3NDEKTSV4RRFFQ69G5FAV/frames/head/0")
        assert frame.status_code == 404


def test_under_tls_the_cookie_is_secure_and_sign_ins_past_the_rate_are_refused(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    token = make_tokens(tmp_path / "store")["reviewer"]
    options = ("--tls-cert", str(cert), "--tls-key", str(key), "--logins-per-minute", "2")
    limited = SiteServer(tmp_path / "store", options, verify=ssl.create_default_context(cafile=cert)).start()
    try:
        with httpx.Client(base_url=limited.url, timeout=30, verify=limited.verify) as client:
            signed = sign_in(client, token)
            assert signed.status_code == 303
            assert "secure" in signed.headers["set-cookie"].lower()
            answers = [sign_in(client, "tgs_guess_0000") for _ in range(2)]
        assert [a.status_code for a in answers] == [401, 429]
        assert "more than 2 requests a minute; wait" in answers[1].text
    finally:
        limited.stop()
