"""The live recorder's core without ROS: plain objects shaped like rclpy messages, a clock we set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import episodes
from collectors import (
    CameraIntrinsics,
    EpisodeLabels,
    LiveRecorder,
    Publisher,
    RecorderError,
    RecorderStateError,
    RecorderStatus,
)
from tests.collectors import live_fixtures as lf
from tg_config import SessionConfig, load_profile

S = 1_000_000_000


class Clock:
    def __init__(self) -> None:
        self.now = 1_000 * S

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def recorder(tmp_path: Path, clock: Clock) -> LiveRecorder:
    profile = load_profile(lf.write_profile(tmp_path))
    run = SessionConfig.for_profile(str(profile.source_path)).resolve(profile)
    return LiveRecorder(run, schemas=lf.SCHEMAS, out=tmp_path / "out", clock=clock)


@pytest.fixture
def keeping(tmp_path: Path, clock: Clock) -> LiveRecorder:
    """A recorder that keeps episodes in which a required stream got nothing (``--keep-empty``)."""
    profile = load_profile(lf.write_profile(tmp_path))
    run = SessionConfig.for_profile(str(profile.source_path)).resolve(profile)
    return LiveRecorder(run, schemas=lf.SCHEMAS, out=tmp_path / "out", clock=clock, keep_empty=True)


def handlers(recorder: LiveRecorder) -> dict:
    return {plan.topic: plan.callback for plan in recorder.topics}


def feed_good(recorder: LiveRecorder, clock: Clock, n: int = 30, t0: int = 500 * S) -> None:
    """n ticks of 10 ms: every topic gets a message per tick, arrivals 2 ms after the stamp."""
    on = handlers(recorder)
    for k in range(n):
        stamp = t0 + k * 10_000_000
        clock.now = stamp + 2_000_000
        # Names in another order than the profile's: values are matched by name.
        on["/joint_states"](lf.joint_state(stamp, (0.3 * k, 0.1 * k, 0.2 * k), names=("j3", "j1", "j2")))
        on["/imu"](lf.imu(stamp, 0.01 * k))
        on["/pose"](lf.pose(stamp, 0.5 * k))
        on["/cam/image_raw"](lf.raw_image(stamp, lf.pixels(k)))
        on["/jcam/image_raw/compressed"](lf.compressed_image(stamp, lf.jpeg(lf.pixels(k))))


def test_messages_become_an_episode_with_header_and_arrival_stamps(recorder, clock, tmp_path):
    episode_id = recorder.start(EpisodeLabels(task="wave", operator="ana", extra={"trial": 3}))
    feed_good(recorder, clock)
    path = recorder.stop()
    assert path == tmp_path / "out" / f"{episode_id}.h5"
    stamps = 500 * S + np.arange(30) * 10_000_000
    with episodes.open(path) as ep:
        meta = ep.metadata
        assert (meta.status, meta.source, meta.task, meta.operator) == ("complete", "ros2", "wave", "ana")
        assert meta.extra["trial"] == 3
        q = ep.read("joint_position")
        np.testing.assert_array_equal(q.stamp_ns, stamps)
        np.testing.assert_array_equal(q.arrival_ns, stamps + 2_000_000)
        np.testing.assert_allclose(q.data[:, 0], 0.1 * np.arange(30))  # j1
        np.testing.assert_allclose(q.data[:, 2], 0.3 * np.arange(30))  # j3
        np.testing.assert_allclose(ep.read("imu").data[:, 6], 0.01 * np.arange(30))
        np.testing.assert_allclose(ep.read("pose").data[:, 0], 0.5 * np.arange(30))
        raw = ep.read("cam")
        np.testing.assert_array_equal(raw.stamp_ns, stamps)
        decoded = raw.decode_all()
        assert np.abs(decoded[7].astype(int) - lf.pixels(7)).mean() < 3  # JPEG-encoded by the writer
        jc = ep.read("jcam")
        assert jc.images[4].data == lf.jpeg(lf.pixels(4))  # compressed frames stored as they came
        diag = meta.extra["recorder"]["topics"]
        assert diag["/joint_states"]["received"] == 30
        assert diag["/joint_states"]["rejected"] == 0
    status = recorder.status()
    assert (status.state, status.episodes_recorded, status.last_episode) == ("idle", 1, str(path))


def test_bad_input_is_counted_and_kept_out_of_the_episode(keeping, clock):
    recorder = keeping  # only two topics publish
    recorder.start()
    on = handlers(recorder)
    t0 = 500 * S
    good = [0, 1, 5, 6]
    bad_joint_states = {
        2: lf.joint_state(t0 + 2 * S // 100, (1.0, 2.0, 3.0), names=("j1", "j2", "x9")),  # a name missing
        3: lf.joint_state(t0 + 3 * S // 100, (1.0, 2.0), names=("j1", "j2", "j3")),  # length mismatch
        4: lf.joint_state(t0 + 4 * S // 100, (np.nan, 2.0, 3.0)),
        7: lf.joint_state(0, (1.0, 2.0, 3.0)),  # unstamped
        8: lf.joint_state(t0, (1.0, 2.0, 3.0)),  # earlier than sample 6
    }
    for k in range(9):
        clock.now = t0 + k * S // 100
        if k in good:
            on["/joint_states"](lf.joint_state(t0 + k * S // 100, (k, k, k)))
        else:
            on["/joint_states"](bad_joint_states[k])
        on["/cam/image_raw"](lf.raw_image(t0 + k * S // 100, lf.pixels(k, width=32 if k < 5 else 16)))
    status = recorder.tick()
    joints = status.topics["/joint_states"]
    assert joints.rejected == 5
    assert joints.rejected_by == {"mismatch": 2, "not_finite": 1, "zero_stamp": 1, "stamp_backwards": 1}
    cam = status.topics["/cam/image_raw"]
    assert cam.rejected_by == {"image_changed": 4}
    assert "changed from rgb8 32x24 to rgb8 16x24 mid-episode" in cam.last_error
    path = recorder.stop()
    with episodes.open(path) as ep:
        assert ep.metadata.status == "complete"
        np.testing.assert_array_equal(ep.read("joint_position").data[:, 0], good)
        assert ep.stream("cam").count == 5
        diag = ep.metadata.extra["recorder"]["topics"]["/joint_states"]
        assert diag["rejected_by"]["mismatch"] == 2
        assert any("lacks x9" in e or "x9" in e for e in diag["errors"])


def test_a_silent_topic_is_a_gap_that_closes_when_it_speaks_again(recorder, clock):
    recorder.start()
    feed_good(recorder, clock, n=5, t0=clock.now)
    clock.now += 2 * S  # the joint-state publisher disappears
    status = recorder.tick()
    assert status.topics["/joint_states"].gaps == 1
    assert "no message for 2.0" in status.topics["/joint_states"].last_error
    clock.now += S
    handlers(recorder)["/joint_states"](lf.joint_state(clock.now, (0.0, 0.0, 0.0)))
    assert recorder.tick().topics["/joint_states"].gaps == 1  # the same gap, now closed
    with episodes.open(recorder.stop()) as ep:
        gaps = ep.metadata.extra["recorder"]["topics"]["/joint_states"]["gaps_ns"]
    assert len(gaps) == 1 and gaps[0][1] - gaps[0][0] == 3 * S  # from the last message to the next


def test_a_publisher_of_another_type_is_reported(recorder):
    recorder.start()
    wrong = Publisher("/imu_driver", "std_msgs/msg/String", endpoint="01ab")
    recorder.check_publishers("/imu", [wrong, Publisher("/ok", "sensor_msgs/msg/Imu", endpoint="02cd")])
    # Counted once, even when discovery reports the same endpoint under another node name.
    recorder.check_publishers(
        "/imu", [Publisher("_NODE_NAME_UNKNOWN_", "std_msgs/msg/String", endpoint="01ab")]
    )
    imu = recorder.status().topics["/imu"]
    assert imu.rejected_by == {"wrong_type": 1}
    assert "publisher /imu_driver sends std_msgs/msg/String, but the profile expects sensor_msgs/msg/Imu" in (
        imu.last_error
    )


def test_requests_that_do_not_fit_the_state_change_nothing(recorder, clock, tmp_path):
    with pytest.raises(RecorderStateError, match="cannot stop: not recording"):
        recorder.stop()
    with pytest.raises(RecorderStateError, match="cannot discard: not recording"):
        recorder.discard()
    with pytest.raises(RecorderStateError, match="no episode to label: none has been recorded yet"):
        recorder.mark_success(True)
    first = recorder.start()
    with pytest.raises(RecorderStateError, match=f"already recording episode {first}; stop or discard"):
        recorder.start()
    assert recorder.status().episode_id == first
    assert recorder.discard() == first
    assert list((tmp_path / "out").iterdir()) == []
    recorder.start()
    feed_good(recorder, clock, n=5)
    path = recorder.stop()
    assert recorder.mark_success(False) == f"{path}: success=false"
    with episodes.open(path) as ep:
        assert ep.metadata.success is False
    assert recorder.status().success == "false"


def test_labels_while_recording_and_an_abort_keeps_the_data(recorder, clock):
    recorder.start()
    feed_good(recorder, clock, n=5)
    assert "will be saved with success=true" in recorder.mark_success(True)
    path = recorder.abort("recorder stopped by SIGTERM")
    assert recorder.abort("again") is None
    with episodes.open(path) as ep:
        meta = ep.metadata
        assert (meta.status, meta.success) == ("aborted", True)
        assert meta.abort_reason == "recorder stopped by SIGTERM"
        assert ep.stream("joint_position").count == 5


def test_camera_info_is_scaled_to_the_stored_size(recorder, clock):
    # The camera publishes 64x48; the profile stores 32x24.
    info = CameraIntrinsics(64, 48, (100.0, 0, 32.0, 0, 90.0, 24.0, 0, 0, 1), "plumb_bob", (0.1, 0, 0, 0, 0))
    recorder.set_camera_info("cam", info)
    recorder.start()
    feed_good(recorder, clock, n=3)
    with episodes.open(recorder.stop()) as ep:
        calibration = ep.stream("cam").calibration
    assert calibration is not None
    assert calibration.camera_matrix == (50.0, 0, 16.0, 0, 45.0, 12.0, 0, 0, 1)
    assert (calibration.width, calibration.mount_parent) == (32, "base")


def test_status_json_round_trips_and_bad_json_is_refused(recorder, clock):
    recorder.start()
    feed_good(recorder, clock, n=3)
    status = recorder.tick()
    assert RecorderStatus.from_json(status.to_json()) == status
    with pytest.raises(RecorderError, match="recorder status is not valid"):
        RecorderStatus.from_json('{"state": "idle"}')
    with pytest.raises(RecorderError, match="unknown state 'paused'"):
        RecorderStatus.from_json(status.to_json().replace('"recording"', '"paused"'))


def test_extra_json_must_be_an_object():
    assert EpisodeLabels.parse_extra('{"seed": 4}') == {"seed": 4}
    with pytest.raises(RecorderError, match="extra_json must be a JSON object, got list"):
        EpisodeLabels.parse_extra("[1]")
    with pytest.raises(RecorderError, match="extra_json is not JSON"):
        EpisodeLabels.parse_extra("{seed")


def _run_with(tmp_path: Path, edit: str, replacement: str):
    text = lf.PROFILE_YAML.replace(edit, replacement)
    assert text != lf.PROFILE_YAML
    path = tmp_path / "live_test.yaml"
    path.write_text(text, encoding="utf-8")
    return SessionConfig.for_profile(str(path)).resolve()


def test_profiles_that_cannot_be_recorded_live_are_refused_naming_the_stream(tmp_path):
    from collectors import topic_types
    from tg_config import ConfigError

    no_type = _run_with(tmp_path, "topic: /imu, msg_type: sensor_msgs/msg/Imu", "topic: /imu")
    with pytest.raises(
        ConfigError, match="stream 'imu' \\(/imu\\) has no msg_type; live recording subscribes"
    ):
        topic_types(no_type)
    two_types = _run_with(tmp_path, "topic: /pose,", "topic: /imu,")
    with pytest.raises(ConfigError, match="topic /imu is given two message types: sensor_msgs/msg/Imu and"):
        topic_types(two_types)
    no_topic = _run_with(
        tmp_path, "topic: /imu, msg_type: sensor_msgs/msg/Imu", "msg_type: sensor_msgs/msg/Imu"
    )
    with pytest.raises(
        ConfigError, match="required stream\\(s\\) imu have no topic; live recording needs one"
    ):
        topic_types(no_topic)


def test_the_recorder_key_of_extra_is_reserved(recorder):
    with pytest.raises(RecorderError, match="the key 'recorder' is reserved for the recorder's diagnostics"):
        recorder.start(EpisodeLabels(extra={"recorder": 1}))
    assert not recorder.recording


def test_a_failing_disk_ends_the_episode_keeps_the_partial_file_and_says_so(recorder, clock, monkeypatch):
    from episodes import StorageFullError

    episode_id = recorder.start()
    feed_good(recorder, clock, n=3)
    writer = recorder._writer
    assert writer is not None

    def disk_full(*args, **kwargs):
        raise StorageFullError(f"{writer.path}: disk full")

    monkeypatch.setattr(writer, "append_block", disk_full)
    feed_good(recorder, clock, n=3, t0=clock.now)
    recorder.tick()  # hands the waiting joint states to the (full) writer
    status = recorder.status()
    assert status.state == "idle"
    assert f"episode {episode_id} ended:" in status.error and "disk full" in status.error
    # The writer itself still works here, so what it was given is saved as aborted.
    with episodes.open(writer.final_path) as ep:
        assert ep.metadata.status == "aborted" and "disk full" in ep.metadata.abort_reason
    with pytest.raises(RecorderStateError, match=f"cannot stop: not recording; episode {episode_id} ended"):
        recorder.stop()
    assert recorder.start() != episode_id  # the next episode can start


def test_start_is_refused_before_the_clock_runs(recorder, clock):
    # Under use_sim_time the node's clock reads 0 until /clock arrives: an episode started
    # then would date its first samples decades before the rest.
    clock.now = 0
    with pytest.raises(RecorderStateError, match=r"no time yet: the recorder's clock reads 0 .*/clock"):
        recorder.start()
    assert recorder.status().state == "idle"
    clock.now = 5 * S
    recorder.start()
    assert recorder.status().state == "recording"


def test_failure_notes_are_stored_while_recording_and_after_stop(recorder, clock):
    recorder.start()
    feed_good(recorder, clock, n=5)
    recorder.mark_success(False, notes="dropped the object while carrying it")
    path = recorder.stop()
    with episodes.open(path) as ep:
        assert (ep.metadata.success, ep.metadata.notes) == (False, "dropped the object while carrying it")
    recorder.mark_success(False, notes="missed grasp")
    with episodes.open(path) as ep:
        assert (ep.metadata.success, ep.metadata.notes) == (False, "missed grasp")
    assert not episodes.has_pending_update(path)


def test_an_episode_in_which_a_required_stream_got_nothing_is_not_kept(recorder, clock, tmp_path):
    recorder.start()
    on = handlers(recorder)
    for k in range(20):  # only joint states and the optional pose arrive
        clock.now += 10_000_000
        on["/joint_states"](lf.joint_state(clock.now - 2_000_000, (k, k, k)))
        on["/pose"](lf.pose(clock.now - 2_000_000, 0.5 * k))
    clock.now += S
    status = recorder.tick()
    assert status.silent == ("cam", "jcam", "imu")
    warning, *silences = status.warnings  # after that second, the topics that did publish are silent too
    assert [w.split(":")[0] for w in silences] == ["/joint_states", "/pose"]
    assert "nothing yet on required stream(s) cam (/cam/image_raw), jcam" in warning
    assert "stopping now discards the episode" in warning
    with pytest.raises(
        RecorderStateError,
        match=r"discarded: nothing arrived on required stream\(s\) cam \(/cam/image_raw\), "
        r"jcam \(/jcam/image_raw/compressed\), imu \(/imu\); .*--keep-empty",
    ):
        recorder.stop()
    assert list((tmp_path / "out").iterdir()) == []
    assert recorder.status().state == "idle"
    recorder.start()  # a whole one is kept
    feed_good(recorder, clock, n=5, t0=clock.now)
    assert recorder.tick().silent == ()
    assert recorder.stop().is_file()


def test_keep_empty_keeps_an_episode_without_data(keeping, tmp_path):
    keeping.start()
    with episodes.open(keeping.stop()) as ep:
        assert ep.metadata.status == "complete"
        assert ep.stream("joint_position").count == 0


def test_the_status_warns_when_stamps_and_the_recorder_clock_disagree(recorder, clock):
    on = handlers(recorder)
    assert recorder.status().warnings == ()
    for k in range(10):  # idle: stamps 10.81 s behind the recorder's clock (a simulator on sim time)
        clock.now += 10_000_000
        on["/joint_states"](lf.joint_state(clock.now - 10_810_000_000, (k, k, k)))
    (warning,) = recorder.tick().warnings
    assert warning.startswith("clock: /joint_states stamps are 10.810 s behind the recorder's clock")
    assert "(quality gate allows 0.1 s)" in warning and "--use-sim-time" in warning
    recorder.start()
    feed_good(recorder, clock, n=40, t0=clock.now)  # 2 ms apart from here on: the median follows
    assert recorder.tick().warnings == ()


def test_the_timer_reports_the_recorded_span_the_episode_stores(recorder, clock):
    """One number for one thing: the status's recorded_s at stop is the episode's duration_s (tg info)."""
    recorder.start()
    clock.now += 3 * S  # nothing arrives for 3 s: the recorder's clock runs, the data span does not
    feed_good(recorder, clock, n=50, t0=clock.now)
    status = recorder.tick()
    assert status.elapsed_s > 3.4
    assert status.recorded_s == pytest.approx(0.49)
    recorded = status.recorded_s
    with episodes.open(recorder.stop()) as ep:
        assert round(ep.metadata.duration_s, 3) == recorded


def test_topics_report_whether_anything_was_heard(recorder, clock):
    assert not any(t.heard for t in recorder.tick().topics.values())
    handlers(recorder)["/imu"](lf.imu(clock.now, 0.0))
    heard = {name for name, t in recorder.tick().topics.items() if t.heard}
    assert heard == {"/imu"}
