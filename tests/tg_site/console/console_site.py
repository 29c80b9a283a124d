"""A site for the console tests: a real server, episodes pushed by a station, a browser on it."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import numpy as np

import episodes
import tg_site
from episodes import ArrayStreamSpec, ImageStreamSpec, Role, StreamKind
from tests.tg_site.conftest import SiteServer, wait_arrived
from tests.tg_site.site_episodes import JOINTS, episode_info

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1366, "height": 768}
GAP_S = (1.2, 1.8)


def make_console_episode(directory: Path, *, seed: int, gap: bool = False, **info: object) -> Path:
    """3 s, two 10 Hz cameras with a moving square, joints (measured, commanded) and a gripper at 50 Hz.

    ``gap=True`` leaves the joint stream empty over GAP_S: the quality gate's time.gap error there.
    """
    joints = ArrayStreamSpec("joint_position", StreamKind.JOINT_POSITION, JOINTS, ("rad",), rate_hz=50)
    command = ArrayStreamSpec(
        "joint_command", StreamKind.JOINT_POSITION, JOINTS, ("rad",), role=Role.ACTION, rate_hz=50
    )
    gripper = ArrayStreamSpec("gripper", StreamKind.GRIPPER, ("left",), ("1",), rate_hz=50)
    cameras = [ImageStreamSpec(name, width=160, height=120, rate_hz=10) for name in ("head", "wrist")]
    directory.mkdir(parents=True, exist_ok=True)
    with episodes.EpisodeWriter(
        directory, streams=[joints, command, gripper, *cameras], info=episode_info(**info), aligned_rate_hz=10
    ) as writer:
        for k in range(150):
            stamp = k * 20_000_000
            t = k / 50
            if not (gap and GAP_S[0] < t < GAP_S[1]):
                writer.append("joint_position", stamp, np.array([np.sin(t + seed), np.cos(t), 0.3 * t]))
            writer.append(
                "joint_command", stamp, np.array([np.sin(t + seed + 0.1), np.cos(t + 0.1), 0.3 * t])
            )
            writer.append("gripper", stamp, np.array([min(1.0, max(0.0, (t - 1.0) * 2))]))
            if k % 5 == 0:
                for c, name in enumerate(("head", "wrist")):
                    writer.append(name, stamp, _frame(k, seed, c))
        writer.set_labels(success=True)
    return writer.final_path


def _frame(k: int, seed: int, camera: int) -> np.ndarray:
    frame = np.full((120, 160, 3), (40 + 30 * camera, 60 + 10 * seed, 90), dtype=np.uint8)
    x = (k * 2 + 17 * seed) % 130
    frame[40:80, x : x + 30] = (230, 200 - 60 * camera, 40)
    return frame


def push(server: SiteServer, token: str, path: Path, reader_token: str) -> str:
    """Push ``path`` as a station does and wait until its arrival (QA, annotation) is catalogued."""
    tg_site.SiteClient(server.url, token).push_file(path)
    episode_id = path.name.removesuffix(".h5")
    with server.client(reader_token) as client:
        wait_arrived(client, episode_id)
    return episode_id


def sign_in(client: httpx.Client, token: str) -> httpx.Response:
    """Sign in through the form (its CSRF cookie and field), as a browser does."""
    form = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf is not None, form.text[:500]
    return client.post("/login", data={"csrf": csrf.group(1), "token": token, "next": "/episodes"})


def csrf_of(page_html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page_html)
    assert found is not None
    return found.group(1)
