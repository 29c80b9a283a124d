"""`tg site serve`, `tg push` and `tg pull` as a user runs them, then `tg export` of what was pulled."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

import episodes
from sim_envs import record_synthetic_episode
from tests.tg_site.conftest import SiteServer, make_tokens, wait_arrived
from tests.training_ground.test_cli import tg_env
from tg_config import SessionConfig

REPO = Path(__file__).resolve().parents[2]
CHINESE = "把红色方块放进蓝色盒子"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two short simulated episodes of station st-01: one small camera, a Chinese instruction."""
    out = tmp_path_factory.mktemp("ds") / "pick"
    config = yaml.safe_load((REPO / "launch/sim_pick_place.yaml").read_text(encoding="utf-8"))
    config |= {"out": str(out), "station": "st-01", "state_rate_hz": 50, "aligned_rate_hz": 10}
    config["task"]["instruction"] = CHINESE
    config["cameras"] = {
        "head": {"width": 64, "height": 48, "rate_hz": 10},
        "wrist_left": {"enabled": False},
        "wrist_right": {"enabled": False},
    }
    run = SessionConfig.model_validate(config).resolve()
    for seed in range(2):
        record_synthetic_episode(run, duration_s=2.0, seed=seed, success=True)
    return out


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    store = tmp_path_factory.mktemp("site") / "store"
    tokens = make_tokens(store)
    server = SiteServer(store).start()
    try:
        yield server, tokens
    finally:
        server.stop()


def _tg(*args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
    extra = {"TG_SITE_TOKEN": token} if token is not None else {}
    env = tg_env(**extra)
    if token is None:
        env.pop("TG_SITE_TOKEN", None)
    return subprocess.run(
        [sys.executable, "-m", "training_ground", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )


def test_push_then_pull_then_export(site, dataset: Path, tmp_path: Path) -> None:
    server, tokens = site
    pushed = _tg("push", str(dataset), "--site", server.url, token=tokens["station"])
    assert pushed.returncode == 0, pushed.stderr
    assert "2 episode(s): 2 sent" in pushed.stdout
    again = _tg("push", str(dataset), "--site", server.url, token=tokens["station"])
    assert "0 sent (0 bytes), 2 already on the site" in again.stdout
    with server.client(tokens["reviewer"]) as http:
        for path in dataset.glob("*.h5"):
            assert wait_arrived(http, path.stem)["qa_passed"] is True
    pulled = tmp_path / "pulled"
    fetched = _tg(
        "pull",
        "--site",
        server.url,
        "--query",
        "station=st-01",
        "--to",
        str(pulled),
        token=tokens["researcher"],
    )
    assert fetched.returncode == 0, fetched.stderr
    assert "2 episode(s) in" in fetched.stdout and "2 downloaded and verified" in fetched.stdout
    assert len(episodes.EpisodeDataset(pulled)) > 0
    exported = _tg("export", str(pulled), "--out", str(tmp_path / "lerobot"))
    assert exported.returncode == 0, exported.stderr
    tasks = pq.read_table(tmp_path / "lerobot/meta/tasks.parquet").to_pydict()
    assert CHINESE in [value for column in tasks.values() for value in column]


def test_a_token_file_others_may_read_is_refused(site, dataset: Path, tmp_path: Path) -> None:
    server, tokens = site
    token_file = tmp_path / "token"
    token_file.write_text(tokens["station"], encoding="utf-8")
    os.chmod(token_file, 0o644)
    loose = _tg("push", str(dataset), "--site", server.url, "--token-file", str(token_file))
    assert loose.returncode == 1
    assert f"--token-file {token_file}: others may read it (mode 0644); run chmod 600" in loose.stderr
    os.chmod(token_file, 0o600)
    tight = _tg("push", str(dataset), "--site", server.url, "--token-file", str(token_file))
    assert tight.returncode == 0 and "already on the site" in tight.stdout
    other = _tg("push", str(dataset), "--site", server.url, token=tokens["station2"])
    assert other.returncode == 1 and "0 sent (0 bytes), 0 already on the site, 2 refused" in other.stdout
    refusals = " ".join(other.stderr.split())  # however the console wrapped it
    assert refusals.count("was recorded at station 'st-01'; this token belongs to station 'st-02'") == 2
    none = _tg("push", str(dataset), "--site", server.url)
    assert none.returncode == 1 and "no site token: TG_SITE_TOKEN is not set" in none.stderr
    refused = _tg(
        "pull",
        "--site",
        server.url,
        "--selection",
        "nope",
        "--to",
        str(tmp_path / "x"),
        token=tokens["researcher"],
    )
    assert refused.returncode == 1 and "no selection named 'nope'" in refused.stderr
