"""The recorder node over real DDS: a recorder process, publishers and service calls in this process."""

from __future__ import annotations

import array
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")

from geometry_msgs.msg import PoseStamped  # noqa: E402
from rclpy.node import Node  # noqa: E402
from sensor_msgs.msg import CompressedImage, Image, Imu, JointState  # noqa: E402
from std_msgs.msg import String  # noqa: E402
from tg_recorder.client import RecorderClient, StatusListener  # noqa: E402

import episodes  # noqa: E402
from collectors import RecorderServiceError, RecorderStatus  # noqa: E402
from tests.collectors import live_fixtures as lf  # noqa: E402

S = 1_000_000_000
NAME = "recorder_t1"  # the station fixture's recorder: station t1
_DDS_VARS = (
    "ROS_DOMAIN_ID",
    "ROS_AUTOMATIC_DISCOVERY_RANGE",
    "FASTDDS_DEFAULT_PROFILES_FILE",
    "RMW_IMPLEMENTATION",
)


class Station:
    """The test's side of the graph: publishers of the test profile's topics, a client, a status listener."""

    def __init__(self, proc: subprocess.Popen[bytes], out: Path) -> None:
        self.proc, self.out = proc, out
        self.node = Node("test_station")
        n = self.node
        self.pubs = {
            "/joint_states": n.create_publisher(JointState, "/joint_states", 50),
            "/imu": n.create_publisher(Imu, "/imu", 50),
            "/pose": n.create_publisher(PoseStamped, "/pose", 50),
            "/cam/image_raw": n.create_publisher(Image, "/cam/image_raw", 50),
            "/jcam/image_raw/compressed": n.create_publisher(
                CompressedImage, "/jcam/image_raw/compressed", 50
            ),
        }
        self.client = RecorderClient(n, recorder=f"/{NAME}", timeout_s=15.0)
        self.status = StatusListener(n, recorder=f"/{NAME}")
        self.client.wait_ready(timeout_s=30.0)
        self.spin_until(lambda: all(p.get_subscription_count() > 0 for p in self.pubs.values()), 20.0)

    def spin(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            rclpy.spin_once(self.node, timeout_sec=0.02)

    def spin_until(self, condition: Callable[[], bool], timeout_s: float) -> None:
        end = time.monotonic() + timeout_s
        while not condition():
            if time.monotonic() > end:
                pytest.fail(f"timed out after {timeout_s} s; recorder output: {self.output()}")
            rclpy.spin_once(self.node, timeout_sec=0.05)

    def latest_status(self, condition: Callable[[RecorderStatus], bool]) -> RecorderStatus:
        self.spin_until(lambda: self.status.latest is not None and condition(self.status.latest), 10.0)
        assert self.status.latest is not None
        return self.status.latest

    def output(self) -> str:
        if self.proc.poll() is None:
            return "(still running)"
        return (self.proc.stdout.read() if self.proc.stdout else b"").decode(errors="replace")[-2000:]

    def publish(self, k: int, stamp_ns: int) -> None:
        self.pubs["/joint_states"].publish(joint_state(stamp_ns, [0.1 * k, 0.2 * k, 0.3 * k]))
        imu = Imu()
        imu.header.stamp = stamp(stamp_ns)
        imu.orientation.w, imu.angular_velocity.z = 1.0, 0.01 * k
        self.pubs["/imu"].publish(imu)
        pose = PoseStamped()
        pose.header.stamp = stamp(stamp_ns)
        pose.pose.position.x, pose.pose.orientation.w = 0.5 * k, 1.0
        self.pubs["/pose"].publish(pose)
        self.pubs["/cam/image_raw"].publish(image(stamp_ns, lf.pixels(k)))
        jpeg = CompressedImage(format="jpeg", data=array.array("B", lf.jpeg(lf.pixels(k))))
        jpeg.header.stamp = stamp(stamp_ns)
        self.pubs["/jcam/image_raw/compressed"].publish(jpeg)


def stamp(ns: int):
    from builtin_interfaces.msg import Time

    return Time(sec=ns // S, nanosec=ns % S)


def joint_state(stamp_ns: int, values: list[float], names: tuple[str, ...] = lf.NAMES) -> JointState:
    msg = JointState(name=list(names), position=values)
    msg.header.stamp = stamp(stamp_ns)
    return msg


def image(stamp_ns: int, frame: np.ndarray) -> Image:
    h, w = frame.shape[:2]
    msg = Image(height=h, width=w, encoding="rgb8", step=w * 3, data=array.array("B", frame.tobytes()))
    msg.header.stamp = stamp(stamp_ns)
    return msg


def start_recorder(
    name: str, folder: Path, out: Path, env: dict[str, str], params: list[str] | None = None
) -> subprocess.Popen[bytes]:
    """A recorder process named ``name`` on the test profile (written to ``folder``), task ``wave``."""
    profile = lf.write_profile(folder)
    params = list(params or ())
    if not any(p.startswith("session:=") for p in params):
        params.append(f"profile:={profile}")
    cmd = [sys.executable, "-m", "tg_recorder.recorder_node", "--ros-args", "-r", f"__node:={name}"]
    for param in [f"out:={out}", "task:=wave", *params]:
        cmd += ["-p", param]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def station(
    request: pytest.FixtureRequest, tmp_path: Path, ros_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Station]:
    """A recorder process on the test profile; indirect parametrisation adds ``name:=value`` parameters
    (``{tmp}`` stands for the folder holding the profile and ``session.yaml``)."""
    for key in _DDS_VARS:
        monkeypatch.setenv(key, ros_env[key])
    out = tmp_path / "out"
    params = [p.replace("{tmp}", str(tmp_path)) for p in getattr(request, "param", ())]
    proc = start_recorder(NAME, tmp_path, out, ros_env, params)
    rclpy.init(domain_id=int(ros_env["ROS_DOMAIN_ID"]))
    try:
        yield Station(proc, out)
    finally:
        stop_process(proc)
        rclpy.try_shutdown()


def test_published_messages_come_back_from_the_episode(station):
    episode_id = station.client.start()
    t0 = time.time_ns()
    stamps = [t0 + k * 20_000_000 for k in range(20)]
    for k, ns in enumerate(stamps):
        station.publish(k, ns)
        station.spin(0.02)
    station.latest_status(
        lambda s: s.topics["/joint_states"].received == 20 and s.topics["/cam/image_raw"].received == 20
    )
    path = station.client.stop()
    assert path == station.out / f"{episode_id}.h5"
    with episodes.open(path) as ep:
        assert (ep.metadata.status, ep.metadata.task, ep.metadata.source) == ("complete", "wave", "ros2")
        assert ep.metadata.dataset == "out"  # named after the out folder
        q = ep.read("joint_position")
        np.testing.assert_array_equal(q.stamp_ns, stamps)
        np.testing.assert_allclose(q.data[:, 2], 0.3 * np.arange(20))
        # Arrival: the recorder's clock when the message came, after it was sent and soon after.
        delay = q.arrival_ns - np.array(stamps)
        assert (delay >= 0).all() and (delay < 5 * S).all()
        np.testing.assert_allclose(ep.read("imu").data[:, 6], 0.01 * np.arange(20))
        np.testing.assert_allclose(ep.read("pose").data[:, 0], 0.5 * np.arange(20))
        cam = ep.read("cam")
        np.testing.assert_array_equal(cam.stamp_ns, stamps)
        decoded = cam.images[9].decode().astype(int)
        errors = [np.abs(decoded - lf.pixels(j)).mean() for j in range(20)]
        assert int(np.argmin(errors)) == 9  # frame 9, not a neighbour (JPEG is lossy)
        assert ep.read("jcam").images[5].data == lf.jpeg(lf.pixels(5))


@pytest.mark.parametrize("station", [["keep_empty:=true"]], indirect=True)  # two topics publish
def test_bad_input_over_dds_is_counted_and_the_episode_stays_whole(station):
    # Another type on a profile topic; a participant of its own (one may not hold both types).
    other = rclpy.Context()
    other.init(domain_id=int(os.environ["ROS_DOMAIN_ID"]))
    wrong_node = Node("wrong_type_driver", context=other)
    wrong = wrong_node.create_publisher(String, "/imu", 10)
    station.client.start()
    t0 = time.time_ns()
    pub = station.pubs["/joint_states"]
    pub.publish(joint_state(t0, [1.0, 2.0, 3.0]))
    pub.publish(joint_state(t0 + 1, [1.0, 2.0, 3.0], names=("j1", "j2", "nope")))
    pub.publish(joint_state(t0 + 2, [1.0, 2.0]))
    pub.publish(joint_state(t0 + 3, [float("nan"), 2.0, 3.0]))
    pub.publish(joint_state(0, [1.0, 2.0, 3.0]))
    pub.publish(joint_state(t0 - S, [1.0, 2.0, 3.0]))
    pub.publish(joint_state(t0 + 4, [4.0, 5.0, 6.0]))
    cam = station.pubs["/cam/image_raw"]
    cam.publish(image(t0, lf.pixels(0)))
    cam.publish(image(t0 + 1, lf.pixels(1, width=16)))
    wrong.publish(String(data="not an imu"))
    status = station.latest_status(
        lambda s: s.topics["/joint_states"].rejected == 5 and s.topics["/imu"].rejected
    )
    assert status.topics["/joint_states"].rejected_by == {
        "mismatch": 2,
        "not_finite": 1,
        "zero_stamp": 1,
        "stamp_backwards": 1,
    }
    assert status.topics["/imu"].rejected_by == {"wrong_type": 1}
    assert status.topics["/cam/image_raw"].rejected_by == {"image_changed": 1}
    # The publisher disappears: a gap, and stop still works.
    station.spin(1.5)
    status = station.latest_status(lambda s: s.topics["/joint_states"].gaps >= 1)
    assert "no message for" in status.topics["/joint_states"].last_error
    path = station.client.stop()
    with episodes.open(path) as ep:
        assert ep.metadata.status == "complete"
        np.testing.assert_array_equal(ep.read("joint_position").data[:, 0], [1.0, 4.0])
        topics = ep.metadata.extra["recorder"]["topics"]
        assert topics["/imu"]["rejected_by"] == {"wrong_type": 1}
        assert topics["/joint_states"]["gap_count"] >= 1
    wrong_node.destroy_node()
    other.try_shutdown()


def test_services_refuse_requests_that_do_not_fit_the_state(station):
    with pytest.raises(RecorderServiceError, match=f"/{NAME}/stop: refused: cannot stop: not recording"):
        station.client.stop()
    with pytest.raises(
        RecorderServiceError, match=f"/{NAME}/discard: refused: cannot discard: not recording"
    ):
        station.client.discard()
    with pytest.raises(RecorderServiceError, match="refused: no episode to label"):
        station.client.mark_success(True)
    first = station.client.start()
    with pytest.raises(RecorderServiceError, match=f"refused: already recording episode {first}"):
        station.client.start()
    assert station.client.discard() == first
    assert not list(station.out.glob("*.h5*"))
    station.client.start()
    station.publish(0, time.time_ns())
    path = station.client.stop()
    assert station.client.mark_success(True) == f"{path}: success=true"
    with episodes.open(path) as ep:
        assert ep.metadata.success is True


def test_sigterm_mid_episode_leaves_an_aborted_readable_episode(station):
    station.client.start()
    t0 = time.time_ns()
    for k in range(10):
        station.publish(k, t0 + k * 20_000_000)
        station.spin(0.02)
    station.latest_status(lambda s: s.topics["/joint_states"].received == 10)
    station.proc.send_signal(signal.SIGTERM)
    assert station.proc.wait(timeout=20) == 0, station.output()
    (path,) = station.out.glob("*.h5")
    with episodes.open(path) as ep:
        assert (ep.metadata.status, ep.metadata.abort_reason) == ("aborted", "recorder stopped by SIGTERM")
        assert ep.stream("joint_position").count == 10
    assert not list(station.out.glob("*.partial"))


@pytest.mark.parametrize("station", [["use_sim_time:=true"]], indirect=True)
def test_intrinsics_robot_description_and_simulated_time_reach_the_episode(station):
    from rclpy.qos import DurabilityPolicy, QoSProfile
    from rosgraph_msgs.msg import Clock
    from sensor_msgs.msg import CameraInfo

    node = station.node
    clock = node.create_publisher(Clock, "/clock", 10)
    latched = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)
    node.create_publisher(String, "/robot_description", latched).publish(String(data="<robot name='t'/>"))
    info_pub = node.create_publisher(CameraInfo, "/cam/camera_info", 10)  # derived from /cam/image_raw
    info = CameraInfo(width=64, height=48, distortion_model="plumb_bob", d=[0.1, 0.0, 0.0, 0.0, 0.0])
    info.k = [100.0, 0.0, 32.0, 0.0, 90.0, 24.0, 0.0, 0.0, 1.0]
    sim_now = 1000 * S
    for _ in range(30):
        clock.publish(Clock(clock=stamp(sim_now)))
        info_pub.publish(info)
        station.spin(0.05)
    station.client.start()
    for k in range(5):
        station.publish(k, sim_now + k * 10_000_000)
        station.spin(0.02)
    station.latest_status(lambda s: s.topics["/joint_states"].received == 5)
    with episodes.open(station.client.stop()) as ep:
        # Arrival times are the recorder's ROS time: the simulated clock, which stood still.
        np.testing.assert_array_equal(ep.read("joint_position").arrival_ns, [sim_now] * 5)
        assert ep.urdf == "<robot name='t'/>"
        calibration = ep.stream("cam").calibration
        assert calibration is not None
        assert calibration.camera_matrix == (50.0, 0.0, 16.0, 0.0, 45.0, 12.0, 0.0, 0.0, 1.0)
        assert ep.metadata.extra["recorder"]["robot_description"] == "topic"


def test_a_killed_recorder_leaves_earlier_episodes_intact_and_the_interrupted_one_recoverable(station):
    station.client.start()
    station.publish(0, time.time_ns())
    first = station.client.stop()
    station.client.start()
    t0 = time.time_ns()
    for k in range(10):
        station.publish(k, t0 + k * 20_000_000)
        station.spin(0.02)
    station.latest_status(lambda s: s.topics["/joint_states"].received == 10)
    # The last messages reach the writer by the next status tick (1 s); it flushes within another second.
    station.spin(2.5)
    station.proc.kill()
    station.proc.wait(timeout=10)
    with episodes.open(first) as ep:
        assert ep.metadata.status == "complete"
    (partial,) = station.out.glob("*.h5.partial")
    recovered = episodes.recover(partial)
    with episodes.open(recovered) as ep:
        assert ep.metadata.status == "recovered"
        assert ep.stream("joint_position").count == 10


@pytest.mark.parametrize("station", [["session:={tmp}/session.yaml"]], indirect=True)
def test_a_session_file_gives_labels_and_overrides_and_out_wins(station):
    station.client.start()
    t0 = time.time_ns()
    for k in range(3):
        station.publish(k, t0 + k * 20_000_000)
        station.spin(0.02)
    station.latest_status(lambda s: s.topics["/cam/image_raw"].received == 3)
    path = station.client.stop()
    assert path.parent == station.out
    with episodes.open(path) as ep:
        meta = ep.metadata
        # task comes from the task parameter; the rest from the session.
        assert (meta.task, meta.instruction, meta.operator, meta.dataset) == (
            "wave",
            "stack the cubes",
            "ben",
            "stacking",
        )
        assert ep.read("cam").images[0].decode().shape == (12, 16, 3)  # the session's smaller camera


def test_the_node_needs_exactly_one_of_session_and_profile(ros_env):
    cmd = [sys.executable, "-m", "tg_recorder.recorder_node", "--ros-args", "-p", "out:=/tmp/never"]
    done = subprocess.run(cmd, env=ros_env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "give exactly one of the parameters session (a session YAML) or profile" in done.stderr


def test_a_client_without_a_recorder_says_which_service_is_missing(ros_env, monkeypatch):
    for key in _DDS_VARS:
        monkeypatch.setenv(key, ros_env[key])
    rclpy.init(domain_id=int(ros_env["ROS_DOMAIN_ID"]))
    try:
        node = Node("lonely")
        with pytest.raises(RecorderServiceError, match=r"/nobody/start: not available after 0\.3 s"):
            RecorderClient(node, recorder="/nobody", timeout_s=0.3).start()
        with pytest.raises(RecorderServiceError, match=r"/nobody/start: not available after 0\.2 s"):
            RecorderClient(node, recorder="/nobody").wait_ready(timeout_s=0.2)
    finally:
        rclpy.try_shutdown()


def test_two_stations_in_one_domain_drive_only_their_own_recorder(station, tmp_path, ros_env):
    """Issue 12 item 1: each recorder is named after its station; a client drives the one it names."""
    other_out = tmp_path / "other_out"
    (tmp_path / "other").mkdir()
    other = start_recorder("recorder_t2", tmp_path / "other", other_out, ros_env)
    try:
        other_client = RecorderClient(station.node, recorder="/recorder_t2", timeout_s=15.0)
        other_client.wait_ready(timeout_s=30.0)
        other_status = StatusListener(station.node, recorder="/recorder_t2")
        episode_id = station.client.start()
        # The other station's stop (space in its tg record) cannot end this station's episode.
        with pytest.raises(
            RecorderServiceError, match="/recorder_t2/stop: refused: cannot stop: not recording"
        ):
            other_client.stop()
        station.spin_until(lambda: other_status.latest is not None, 10.0)
        assert other_status.latest is not None and other_status.latest.state == "idle"
        station.publish(0, time.time_ns())
        status = station.latest_status(lambda s: s.topics["/joint_states"].received == 1)
        assert (status.state, status.episode_id) == ("recording", episode_id)
        assert station.client.stop() == station.out / f"{episode_id}.h5"
        assert not other_out.exists() or not list(other_out.iterdir())
    finally:
        stop_process(other)


def test_a_second_recorder_of_the_same_name_in_the_domain_is_refused(station, tmp_path, ros_env):
    (tmp_path / "twin").mkdir()
    twin = start_recorder(NAME, tmp_path / "twin", tmp_path / "twin_out", ros_env)
    try:
        assert twin.wait(timeout=60) == 1
        output = twin.stdout.read().decode(errors="replace") if twin.stdout else ""
    finally:
        stop_process(twin)
    assert f"a recorder named /{NAME} already runs in ROS domain {ros_env['ROS_DOMAIN_ID']}" in output
    assert "pick another --station" in output and "another --domain-id" in output
    # The first one is untouched; it may have seen the twin for a moment (and warned), until it left.
    station.latest_status(lambda s: not s.warnings)
    station.client.start()
    station.publish(0, time.time_ns())
    assert station.client.stop().is_file()


def test_stopping_an_episode_without_data_discards_it_and_names_the_silent_streams(station):
    station.client.start()
    station.pubs["/joint_states"].publish(joint_state(time.time_ns(), [0.1, 0.2, 0.3]))
    status = station.latest_status(lambda s: s.recording and bool(s.warnings))
    assert status.silent == ("cam", "jcam", "imu")
    with pytest.raises(
        RecorderServiceError,
        match=r"/recorder_t1/stop: refused: episode \w+ discarded: nothing arrived on required stream\(s\) "
        r"cam \(/cam/image_raw\), jcam \(/jcam/image_raw/compressed\), imu \(/imu\)",
    ):
        station.client.stop()
    assert not list(station.out.glob("*.h5*"))


def test_a_namesake_discovered_after_the_start_blocks_new_episodes(tmp_path, ros_env, monkeypatch):
    """A namesake found late (a loaded machine): the status warns and neither recorder starts an episode."""
    from rclpy.parameter import Parameter
    from std_srvs.srv import Trigger
    from tg_recorder import recorder_node

    for key in _DDS_VARS:
        monkeypatch.setenv(key, ros_env[key])
    monkeypatch.setattr(recorder_node, "DISCOVERY_S", 0.0)  # as if discovery had been too slow
    profile = lf.write_profile(tmp_path)
    domain = int(ros_env["ROS_DOMAIN_ID"])
    rclpy.init(domain_id=domain)
    other = rclpy.Context()
    other.init(domain_id=domain)
    node = twin = None
    try:
        params = [Parameter("profile", value=str(profile)), Parameter("out", value=str(tmp_path / "out"))]
        node = recorder_node.RecorderNode(node_name="recorder_late", parameter_overrides=params)
        twin = Node("recorder_late", context=other)
        deadline = time.monotonic() + 20
        while not recorder_node.namesake(node):
            assert time.monotonic() < deadline, "the twin was not discovered"
            time.sleep(0.1)
        node._on_timer()
        response = node._on_start(None, Trigger.Response())
        assert not response.success
        assert response.message.startswith(
            "no episode starts while two recorders share a name: a recorder named /recorder_late "
            f"already runs in ROS domain {domain}; pick another --station"
        )
        assert node.core.status().state == "idle"
        twin.destroy_node()
        twin = None
        while recorder_node.namesake(node):
            assert time.monotonic() < deadline, "the twin did not leave the graph"
            time.sleep(0.1)
        node._on_timer()
        assert node._on_start(None, Trigger.Response()).success
    finally:
        if node is not None:
            if node.core.recording:
                node.core.discard()
            node.destroy_node()
        if twin is not None:
            twin.destroy_node()
        other.try_shutdown()
        rclpy.try_shutdown()
