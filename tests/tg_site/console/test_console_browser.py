"""The console in a real browser (Playwright driving Debian's headless chromium at 1366x768).

One server and one browser for the module. Screenshots of every page go to the
module's output folder (``TG_CONSOLE_SCREENSHOTS`` names another one).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import episodes
import tg_site
from tests.sim_envs._sessions import session_file
from tests.tg_site.conftest import SiteServer, wait_arrived
from tests.tg_site.console.console_site import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, make_console_episode, push

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="needs Debian's chromium (make installs it)"
)


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("TG_CONSOLE_SCREENSHOTS", "") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def pushed(
    server: SiteServer, tokens: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """A failed episode (a joint gap) and two clean ones, one with a Chinese instruction."""
    root = tmp_path_factory.mktemp("eps")
    made = {
        "failed": make_console_episode(root, seed=1, gap=True, task="pick_place"),
        "clean": make_console_episode(root, seed=2, task="pick_place"),
        "chinese": make_console_episode(
            root, seed=3, task="fold_towel", instruction="把毛巾叠好放在桌子左边"
        ),
        "another": make_console_episode(root, seed=4, task="pick_place"),
    }
    return {name: push(server, tokens["station"], path, tokens["reviewer"]) for name, path in made.items()}


@pytest.fixture(scope="module")
def browser(pushed: dict[str, str]) -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


def signed_in(browser: object, server: SiteServer, token: str, *, locale: str = "en-US") -> object:
    """A fresh browser context (its own cookies) signed in through the form."""
    context = browser.new_context(viewport=VIEWPORT, locale=locale)  # type: ignore[attr-defined]
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(f"{server.url}/dashboard")
    assert "/login" in page.url
    page.fill("#token", token)
    page.click("#sign-in")
    page.wait_for_url("**/dashboard")
    return page


def test_sign_in_shows_the_dashboard_and_a_wrong_token_the_reason(
    browser: object, server: SiteServer, tokens: dict[str, str], pushed: dict[str, str], shots: Path
) -> None:
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(f"{server.url}/login")
    page.screenshot(path=str(shots / "login.png"))
    page.fill("#token", "tgs_wrong")
    page.click("#sign-in")
    assert "token" in page.inner_text("#login-error").lower()
    context.close()
    page = signed_in(browser, server, tokens["reviewer"])
    sync_api.expect(page.locator("#who")).to_contain_text("rita")
    assert int(page.inner_text("#fig-episodes")) >= 3
    assert int(page.inner_text("#fig-backlog").strip()) >= 3
    sync_api.expect(page.locator("#top-findings")).to_contain_text("time.gap")
    cookie = next(c for c in page.context.cookies() if c["name"] == "tg_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    page.screenshot(path=str(shots / "dashboard.png"), full_page=True)
    page.context.close()


def test_filter_failed_open_play_step_and_reject(
    browser: object,
    server: SiteServer,
    tokens: dict[str, str],
    pushed: dict[str, str],
    shots: Path,
    site_store: tuple[Path, dict[str, str]],
) -> None:
    page = signed_in(browser, server, tokens["reviewer"])
    page.click("text=Episodes")
    page.select_option("#filter-qa", "fail")
    page.click("#apply-filters")
    rows = page.locator("#episodes tbody tr")
    sync_api.expect(rows).to_have_count(1)
    assert rows.first.get_attribute("data-episode") == pushed["failed"]
    page.screenshot(path=str(shots / "episodes.png"), full_page=True)
    rows.first.locator("a.open").click()
    page.wait_for_url(f"**/episodes/{pushed['failed']}")
    finding = page.locator('#timeline .finding[data-check="time.gap"]')
    sync_api.expect(finding).to_have_count(1)
    sync_api.expect(page.locator('#findings li[data-check="time.gap"]')).to_have_count(1)
    page.wait_for_selector(".plot .u-over")  # the plots have drawn
    commanded = page.locator('.plot[data-stream="joint_position joint_command"]')
    sync_api.expect(commanded).to_contain_text("shoulder (joint_command)")  # commanded over measured
    assert page.inner_text("#frame-index") == "0"
    page.click("#play")
    page.wait_for_function("Number(document.getElementById('frame-index').textContent) >= 3")
    page.click("#play")  # pause
    page.locator("body").click(position={"x": 5, "y": 700})  # keys go to the page, not a button
    before = int(page.inner_text("#frame-index"))
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert int(page.inner_text("#frame-index")) == before + 2
    page.keyboard.press("ArrowLeft")
    assert int(page.inner_text("#frame-index")) == before + 1
    head = page.locator("#cam-head")
    assert head.get_attribute("src", timeout=1000).endswith(f"/frames/head/{before + 1}")
    page.wait_for_function("(i => i.complete && i.naturalWidth === 160)(document.getElementById('cam-head'))")
    page.screenshot(path=str(shots / "episode.png"), full_page=True)

    page.select_option("#reason", "qa_failure")
    page.fill("#note", "joint stream gap 1.2-1.8 s")
    page.fill("#edit-instruction", "put the red cube in the blue bin, then step back")
    page.click("#reject")
    page.wait_for_url("**?saved=1")
    sync_api.expect(page.locator("#review-state")).to_contain_text("rejected")
    sync_api.expect(page.locator("#audit")).to_contain_text("review.state")
    sync_api.expect(page.locator("#instruction")).to_have_text(
        "put the red cube in the blue bin, then step back"
    )

    with episodes.open(tg_site.Store(site_store[0]).episode_path(pushed["failed"])) as reader:
        meta = reader.metadata
    assert meta.review is not None and (meta.review.state, meta.review.reason) == ("rejected", "qa_failure")
    assert meta.review.reviewer == "rita" and meta.review.note == "joint stream gap 1.2-1.8 s"
    assert meta.instruction == "put the red cube in the blue bin, then step back"
    with server.client(tokens["researcher"]) as api:
        row = api.get(f"/api/v1/episodes/{pushed['failed']}").json()
    assert (row["review_state"], row["review_reason"], row["reviewer"]) == ("rejected", "qa_failure", "rita")
    assert row["instruction"] == "put the red cube in the blue bin, then step back"
    page.context.close()


def test_a_stale_review_is_refused_and_shows_the_new_state(
    browser: object, server: SiteServer, tokens: dict[str, str], pushed: dict[str, str]
) -> None:
    page = signed_in(browser, server, tokens["reviewer"])
    page.goto(f"{server.url}/episodes/{pushed['chinese']}")
    sync_api.expect(page.locator("#instruction")).to_have_text("把毛巾叠好放在桌子左边")
    with server.client(tokens["reviewer2"]) as api:  # another reviewer saves first
        saved = api.post(
            f"/api/v1/episodes/{pushed['chinese']}/review", json={"state": "approved", "expected_version": 0}
        )
        assert saved.status_code == 200, saved.text
    page.click("#approve")
    sync_api.expect(page.locator("#stale")).to_contain_text("approved")
    sync_api.expect(page.locator("#stale")).to_contain_text("rob")
    sync_api.expect(page.locator("#review-state")).to_contain_text("approved")
    page.context.close()


def _reviewed(api: httpx.Client, episode_id: str, verdict: dict[str, str]) -> None:
    """Save ``verdict`` on the episode unless it already has that review state."""
    row = api.get(f"/api/v1/episodes/{episode_id}").json()
    if row["review_state"] != verdict["state"]:
        saved = api.post(
            f"/api/v1/episodes/{episode_id}/review",
            json={**verdict, "expected_version": row["review_version"]},
        )
        assert saved.status_code == 200, saved.text


def test_review_queue_from_the_keyboard_only(
    browser: object, server: SiteServer, tokens: dict[str, str], pushed: dict[str, str], shots: Path
) -> None:
    # The failed episode rejected and the Chinese one approved, as the tests above leave them (here
    # too when pytest-xdist runs this test in another worker, against its own server).
    with server.client(tokens["reviewer2"]) as api:
        _reviewed(api, pushed["failed"], {"state": "rejected", "reason": "qa_failure"})
        _reviewed(api, pushed["chinese"], {"state": "approved"})
    page = signed_in(browser, server, tokens["reviewer"])
    page.goto(f"{server.url}/review")
    form = page.locator("#review-form")
    # The queue: clean, then another.
    assert form.get_attribute("action") == f"/episodes/{pushed['clean']}/review"
    page.screenshot(path=str(shots / "review-queue.png"), full_page=True)
    with page.expect_navigation():
        page.keyboard.press("n")  # skip it for now
    assert form.get_attribute("action") == f"/episodes/{pushed['another']}/review"
    with page.expect_navigation():
        page.keyboard.press("a")
    sync_api.expect(page.locator("#queue-empty")).to_be_visible()
    page.click("text=Start again from the oldest skipped episode")
    assert form.get_attribute("action") == f"/episodes/{pushed['clean']}/review"
    page.keyboard.press("r")
    page.keyboard.press("5")  # scene not reset
    with page.expect_navigation():
        page.keyboard.press("Enter")
    sync_api.expect(page.locator("#queue-empty")).to_be_visible()
    with server.client(tokens["researcher"]) as api:
        clean = api.get(f"/api/v1/episodes/{pushed['clean']}").json()
        another = api.get(f"/api/v1/episodes/{pushed['another']}").json()
    assert (clean["review_state"], clean["review_reason"]) == ("rejected", "scene_not_reset")
    assert (another["review_state"], another["reviewer"]) == ("approved", "rita")
    page.context.close()


def test_an_admin_defines_and_assigns_a_task_in_chinese(
    browser: object, server: SiteServer, tokens: dict[str, str], shots: Path
) -> None:
    page = signed_in(browser, server, tokens["admin"], locale="zh-CN")
    sync_api.expect(page.locator("header nav")).to_contain_text("片段")
    page.goto(f"{server.url}/tasks")
    page.fill("#task-name", "叠毛巾")
    page.fill("#task-instructions", "把毛巾叠好\nfold the towel")
    page.fill("#task-target-episodes", "many")
    page.click("#create-task")
    sync_api.expect(page.locator("#error-target_episodes")).to_contain_text("is not a whole number")
    page.fill("#task-target-episodes", "40")
    page.fill("#task-stations", "st-01")
    page.click("#create-task")
    row = page.locator('#tasks tr[data-task="叠毛巾"]')
    sync_api.expect(row.locator(".assigned")).to_have_text("st-01")
    sync_api.expect(row.locator(".remaining")).to_have_text("40 ep")
    page.screenshot(path=str(shots / "tasks.png"), full_page=True)
    with server.client(tokens["researcher"]) as api:
        tasks = api.get("/api/v1/tasks").json()["tasks"]
    task = next(t for t in tasks if t["spec"]["name"] == "叠毛巾")
    assert task["spec"]["stations"] == ["st-01"] and task["spec"]["instructions"] == [
        "把毛巾叠好",
        "fold the towel",
    ]
    page.context.close()


def test_the_stations_page_fills_its_cards_without_a_reload(
    browser: object, server: SiteServer, tokens: dict[str, str], shots: Path
) -> None:
    page = signed_in(browser, server, tokens["researcher"])
    page.click("header nav >> text=Stations")
    page.wait_for_selector("#station-cards .station, #station-cards #no-station-api", timeout=3000)
    page.screenshot(path=str(shots / "stations.png"), full_page=True)
    page.context.close()


def test_a_ros_session_on_the_site_is_live_on_the_stations_page_and_records_the_task_assigned_on_the_board(
    browser: object, server: SiteServer, tokens: dict[str, str], shots: Path, tmp_path: Path, ros_env
) -> None:
    """A task reassigned on the board to st-01 is what its next `tg collect --site` episode records; while
    the session records, its card is "recording" with the operator, the task and the topics' rates."""
    pytest.importorskip("rclpy")
    page = signed_in(browser, server, tokens["admin"])
    page.goto(f"{server.url}/tasks")
    page.fill("#task-name", "擦桌子")
    page.fill("#task-stations", "st-02")
    page.click("#create-task")
    page.click('#tasks tr[data-task="擦桌子"] a.edit-task')
    page.fill("#task-stations", "st-01")
    page.fill("#task-priority", "9")  # over any task other tests assigned to st-01
    page.fill("#task-instructions", "把桌子擦干净")
    page.click("#save-task")
    sync_api.expect(page.locator('#tasks tr[data-task="擦桌子"] .assigned')).to_have_text("st-01")
    session = session_file(
        tmp_path,
        sim={"renderer": "tiny", "failure_rate": 0.0},
        episode={"max_duration_s": 8, "min_duration_s": 1},
    )
    command = [
        sys.executable,
        "-m",
        "training_ground",
        "collect",
        "--config",
        str(session),
        "--episodes",
        "1",
    ]
    command += ["--out", str(tmp_path / "data"), "--station", "st-01", "--site", server.url]
    env = {**ros_env, "TG_SITE_TOKEN": tokens["station"], "COLUMNS": "200"}
    proc = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        page.goto(f"{server.url}/stations")
        card = page.locator('#station-cards .station[data-station="st-01"]')
        sync_api.expect(card.locator(".station-state")).to_have_text("recording", timeout=90_000)
        sync_api.expect(card.locator(".task")).to_contain_text("把桌子擦干净")
        sync_api.expect(card.locator(".operator")).to_contain_text("sim:scripted")
        sync_api.expect(card.locator(".topics")).to_contain_text("/imu")  # its rate against the expected
        page.screenshot(path=str(shots / "stations-recording.png"), full_page=True)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=30)
    assert proc.returncode == 0 and "every episode is on the site (1 pushed this session)" in stdout, stderr
    (path,) = episodes.list_episodes(tmp_path / "data")
    with episodes.open(path) as ep:
        assert (ep.metadata.task, ep.metadata.instruction) == ("擦桌子", "把桌子擦干净")
    with server.client(tokens["reviewer"]) as reviewer:
        wait_arrived(reviewer, path.stem)
    page.goto(f"{server.url}/episodes?task=擦桌子")
    sync_api.expect(page.locator(f'a.open[href="/episodes/{path.stem}"]')).to_have_count(1)
    page.context.close()
