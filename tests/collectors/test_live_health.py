"""Live warnings of the recorder core within 3 s: frozen, dark or saturated camera, silent topic, low disk."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from collectors import HealthOptions, LiveRecorder, RecorderStatus
from tests.collectors import live_fixtures as lf
from tests.collectors.test_live import Clock, handlers
from tg_config import SessionConfig, load_profile
from training_ground.cli._record import status_line

S = 1_000_000_000
TICK = S // 30


def _recorder(tmp_path: Path, clock: Clock, health: HealthOptions | None = None) -> LiveRecorder:
    profile = load_profile(lf.write_profile(tmp_path))
    run = SessionConfig.for_profile(str(profile.source_path)).resolve(profile)
    return LiveRecorder(run, schemas=lf.SCHEMAS, out=tmp_path / "out", clock=clock, health=health)


Frame = Callable[[int], np.ndarray]


def _feed(
    recorder: LiveRecorder,
    clock: Clock,
    seconds: float,
    *,
    cam: Frame = lf.pixels,
    jcam: Frame = lf.pixels,
    skip: tuple[str, ...] = (),
) -> list[RecorderStatus]:
    """Every topic at 30 Hz for ``seconds``; the status after each (fake) second."""
    on = handlers(recorder)
    statuses = []
    for k in range(int(seconds * 30)):
        clock.now += TICK
        stamp = clock.now - 1_000_000
        messages = {
            "/joint_states": lf.joint_state(stamp, (0.1 * k, 0.0, 0.0)),
            "/imu": lf.imu(stamp, 0.01 * k),
            "/pose": lf.pose(stamp, 0.5 * k),
            "/cam/image_raw": lf.raw_image(stamp, cam(k)),
            "/jcam/image_raw/compressed": lf.compressed_image(stamp, lf.jpeg(jcam(k))),
        }
        for topic, msg in messages.items():
            if topic not in skip:
                on[topic](msg)
        if k % 30 == 29:
            statuses.append(recorder.tick())
    return statuses


def _about(topic: str, statuses: list[RecorderStatus], what: str) -> list[int]:
    """The seconds (1-based) whose status warns ``what`` about ``topic``."""
    head = f"{topic}: {what}"
    return [k + 1 for k, s in enumerate(statuses) if any(w.startswith(head) for w in s.warnings)]


def test_a_frozen_camera_is_warned_about_within_3_s_and_the_warning_goes_when_it_moves(tmp_path):
    clock = Clock()
    recorder = _recorder(tmp_path, clock)
    assert _feed(recorder, clock, 2)[-1].warnings == ()
    still = lf.pixels(3)
    frozen = _feed(recorder, clock, 4, cam=lambda k: still)
    first = _about("/cam/image_raw", frozen, "camera frozen")[0]
    assert 2 <= first <= 3 and _about("/jcam/image_raw/compressed", frozen, "camera frozen") == []
    (warning,) = frozen[-1].warnings
    assert "check the camera and its driver" in warning
    assert _feed(recorder, clock, 1)[-1].warnings == ()
    # recording or not: the same warning while an episode runs, and it reaches the status line
    recorder.start()
    frozen = _feed(recorder, clock, 3, jcam=lambda k: still)
    assert _about("/jcam/image_raw/compressed", frozen, "camera frozen")
    assert "camera frozen" in status_line(frozen[-1])
    assert RecorderStatus.from_json(frozen[-1].to_json()).warnings == frozen[-1].warnings


def test_a_silent_topic_is_warned_about_within_3_s_naming_it(tmp_path):
    clock = Clock()
    recorder = _recorder(tmp_path, clock)
    _feed(recorder, clock, 1)
    statuses = _feed(recorder, clock, 3, skip=("/imu",))
    assert _about("/imu", statuses, "silent for")[0] == 1
    assert "more than 5 periods of its 100 Hz" in statuses[-1].warnings[0]
    assert all(not _about(t, statuses, "silent") for t in ("/joint_states", "/cam/image_raw"))
    assert _feed(recorder, clock, 1)[-1].warnings == ()


@pytest.mark.parametrize(
    ("value", "what"), [(0, "camera dark (mean 0 of 255)"), (255, "camera saturated (mean 255 of 255)")]
)
def test_a_dark_or_saturated_camera_is_warned_about(tmp_path, value, what):
    clock = Clock()
    recorder = _recorder(tmp_path, clock, HealthOptions(frozen_after_s=60))
    flat = np.full((24, 32, 3), value, dtype=np.uint8)
    statuses = _feed(recorder, clock, 1, cam=lambda k: flat, jcam=lambda k: flat)
    assert _about("/cam/image_raw", statuses, what) == [1]
    assert _about("/jcam/image_raw/compressed", statuses, what) == [1]


def test_low_disk_is_warned_about_naming_the_directory(tmp_path):
    clock = Clock()
    recorder = _recorder(tmp_path, clock, HealthOptions(min_free_bytes=1 << 62))
    (warning,) = _feed(recorder, clock, 1)[-1].warnings
    assert warning.startswith("disk: ") and str(tmp_path / "out") in warning
    assert "--delete-after-push" in warning
