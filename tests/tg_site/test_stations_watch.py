"""``tg push DIR --watch`` as a process: killed with SIGKILL mid-upload, restarted, no duplicates."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import episodes
from episodes import EpisodeInfo, ImageEncoding, ImageStreamSpec, RobotInfo
from tests.tg_site.conftest import SiteServer, wait_arrived
from tg_site import Store
from tg_site._push_queue import MARK_DIR

CHUNK = 8 << 20  # SiteClient's chunk: the first one lands, then the throttle holds the rest back


def _big_episode(directory: Path) -> Path:
    """About 12 MB of noise frames (PNG does not shrink noise): two upload chunks."""
    camera = ImageStreamSpec("head", width=320, height=240, encoding=ImageEncoding.PNG, rate_hz=10)
    info = EpisodeInfo(robot=RobotInfo("test_arm"), source="synthetic", task="t", station="st-01")
    rng = np.random.default_rng(3)
    with episodes.EpisodeWriter(directory, streams=[camera], info=info, aligned_rate_hz=10) as writer:
        for k in range(52):
            writer.append("head", k * 100_000_000, rng.integers(0, 256, (240, 320, 3), dtype=np.uint8))
    return writer.final_path


def _watch(server: SiteServer, token: str, directory: Path, *more: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "training_ground", "push", str(directory), "--site", server.url]
    command += ["--watch", "--station", "st-01", *more]
    env = {**os.environ, "TG_SITE_TOKEN": token}
    return subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


def test_killed_mid_upload_the_watch_resumes_on_restart_without_duplicates(
    server: SiteServer, tokens: dict[str, str], site_store: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    out = tmp_path / "station"
    path = _big_episode(out)
    assert path.stat().st_size > CHUNK
    incoming = Store(site_store[0]).incoming_dir
    first = _watch(server, tokens["station"], out, "--max-upload-mbps", "4")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(
            p.stat().st_size >= CHUNK for p in incoming.glob("*.part")
        ):
            assert first.poll() is None, first.communicate(timeout=10)[0]
            time.sleep(0.05)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
    assert not (out / MARK_DIR / f"{path.stem}.json").exists()
    second = _watch(server, tokens["station"], out)
    try:
        with server.client(tokens["reviewer"]) as reviewer:
            row = wait_arrived(reviewer, path.stem)
            audit = reviewer.get(f"/api/v1/episodes/{path.stem}/audit").json()
    finally:
        second.send_signal(signal.SIGTERM)
        output = second.communicate(timeout=30)[0]
    with episodes.open(path) as reader:
        assert row["raw_digest"] == reader.metadata.content_digest
    uploads = [e for e in audit["entries"] if e["action"] == "upload"]
    assert len(uploads) == 1, audit
    assert "1 episode(s) pushed; 0 waiting" in output, output
