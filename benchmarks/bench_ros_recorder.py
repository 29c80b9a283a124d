"""Benchmark: the recorder node under a training-ground station's load, against a bare counting subscriber.

A separate publisher process sends three 640x480 textured RGB ``Image`` streams
at 30 Hz, a 28-joint ``JointState`` at 500 Hz and an ``Imu`` at 200 Hz, all
best-effort (sensor-data QoS, as camera drivers publish), for ``--seconds``
(default 60). Two runs, one after the other, with the same publisher:

* ``baseline``: a bare rclpy subscriber (SingleThreadedExecutor, the recorder's
  QoS) that only counts messages;
* ``recorder``: the recorder node (``tg_recorder.recorder_node``) recording one
  episode, started and stopped through its services.

Every process runs with the station's Fast DDS profile (shared-memory segment
larger than a frame) on its own domain, discovery restricted to this machine.
Reported: messages received / published per topic (received = samples in the
episode for the recorder), the recorder's CPU use, time from ``~/stop`` to the
closed file, peak RSS, the recorder's throughput relative to the baseline
(goal >= 95%) and the load average. One JSON document on stdout.

    python benchmarks/bench_ros_recorder.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import array
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parents[1]
CAMERAS = ("cam_a", "cam_b", "cam_c")
JOINTS = tuple(f"joint_{i}" for i in range(28))
WIDTH, HEIGHT = 640, 480
RATES = {**{f"/{c}/image_raw": 30.0 for c in CAMERAS}, "/joint_states": 500.0, "/imu": 200.0}


def profile_yaml() -> str:
    joints = "\n".join(f"  - {{name: {j}, lower: -3, upper: 3, velocity: 5}}" for j in JOINTS)
    cams = "\n".join(
        f"  - {{name: {c}, width: {WIDTH}, height: {HEIGHT}, rate_hz: 30, topic: /{c}/image_raw, "
        "msg_type: sensor_msgs/msg/Image}"
        for c in CAMERAS
    )
    return f"""name: bench_station
joints:
{joints}
cameras:
{cams}
streams:
  - {{name: joint_position, kind: joint_position, joints: [{", ".join(JOINTS)}], rate_hz: 500,
     topic: /joint_states, msg_type: sensor_msgs/msg/JointState, field: position, name_field: name}}
  - {{name: imu, kind: imu, rate_hz: 200, topic: /imu, msg_type: sensor_msgs/msg/Imu}}
aligned_rate_hz: 30
"""


# ------------------------------------------------------------------ child roles


def _sensor_qos(depth: int) -> Any:
    from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy

    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth, reliability=ReliabilityPolicy.BEST_EFFORT)


def run_publisher(seconds: float) -> None:
    import rclpy
    from sensor_msgs.msg import Image, Imu, JointState

    rclpy.init()
    node = rclpy.create_node("bench_publisher")
    pubs = {
        t: node.create_publisher(
            Image if "image" in t else JointState if "joint" in t else Imu, t, _sensor_qos(10)
        )
        for t in RATES
    }
    # Wait until the subscriber has matched every topic.
    deadline = time.monotonic() + 30
    while any(p.get_subscription_count() == 0 for p in pubs.values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    frames = []
    for k in range(8):  # textured (JPEG must work for it), different per frame
        base = np.stack([(x + 8 * k) % 256, (y + 4 * k) % 256, (x ^ y) % 256], axis=-1)
        noise = rng.integers(0, 24, size=base.shape)
        frames.append(array.array("B", ((base + noise) % 256).astype(np.uint8).tobytes()))
    images = [Image(height=HEIGHT, width=WIDTH, encoding="rgb8", step=WIDTH * 3, data=f) for f in frames]
    js = JointState(name=list(JOINTS), position=[0.0] * 28)
    imu = Imu()
    imu.orientation.w = 1.0
    sent = dict.fromkeys(RATES, 0)
    start = time.monotonic()
    next_at = dict.fromkeys(RATES, start)
    end = start + seconds
    while True:
        now = time.monotonic()
        if now >= end:
            break
        topic = min(next_at, key=next_at.__getitem__)
        wait = next_at[topic] - now
        if wait > 0:
            time.sleep(wait)
        stamp = node.get_clock().now().to_msg()
        n = sent[topic]
        if "image" in topic:
            msg = images[n % len(images)]
        elif "joint" in topic:
            js.position = array.array("d", np.full(28, 0.001 * n))
            msg = js
        else:
            imu.angular_velocity.z = 0.001 * n
            msg = imu
        msg.header.stamp = stamp
        pubs[topic].publish(msg)
        sent[topic] = n + 1
        next_at[topic] += 1.0 / RATES[topic]
    time.sleep(0.5)
    print(json.dumps({"published": sent}))
    node.destroy_node()
    rclpy.shutdown()


def run_counter(seconds: float) -> None:
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from sensor_msgs.msg import Image, Imu, JointState

    rclpy.init()
    node = rclpy.create_node("bench_counter")
    counts = dict.fromkeys(RATES, 0)

    def counter(topic: str) -> Any:
        def on_msg(msg: Any) -> None:
            counts[topic] += 1

        return on_msg

    for t, rate in RATES.items():
        cls = Image if "image" in t else JointState if "joint" in t else Imu
        node.create_subscription(cls, t, counter(t), _sensor_qos(max(10, int(rate * 0.5 + 0.999))))
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        executor.spin_once(timeout_sec=0.1)
    print(json.dumps({"received": counts}))
    node.destroy_node()
    rclpy.shutdown()


# ------------------------------------------------------------------ the benchmark


def _peak_rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _publisher(env: dict[str, str], seconds: float) -> subprocess.Popen[str]:
    cmd = [sys.executable, __file__, "--role", "publisher", "--seconds", str(seconds)]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)


def baseline(env: dict[str, str], seconds: float) -> dict[str, Any]:
    counter = subprocess.Popen(
        [sys.executable, __file__, "--role", "counter", "--seconds", str(seconds + 8)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    time.sleep(2)
    proc = psutil.Process(counter.pid)
    pub = _publisher(env, seconds)
    cpu0 = proc.cpu_times()
    published = json.loads(pub.communicate()[0])["published"]
    cpu1 = proc.cpu_times()
    received = json.loads(counter.communicate()[0])["received"]
    cpu_s = (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)
    return {"published": published, "received": received, "cpu_cores": round(cpu_s / seconds, 3)}


def recorder(env: dict[str, str], seconds: float, work: Path) -> dict[str, Any]:
    import rclpy
    from tg_recorder.client import RecorderClient

    import episodes

    profile = work / "bench_station.yaml"
    out = work / "episodes"
    cmd = [sys.executable, "-m", "tg_recorder.recorder_node", "--ros-args", "-r", "__node:=recorder"]
    cmd += ["-p", f"profile:={profile}", "-p", f"out:={out}"]
    rec = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc = psutil.Process(rec.pid)
    rclpy.init()
    node = rclpy.create_node("bench_control")
    client = RecorderClient(node, recorder="/recorder", timeout_s=30)
    client.wait_ready(30)
    client.start()
    pub = _publisher(env, seconds)
    cpu0 = proc.cpu_times()
    published = json.loads(pub.communicate()[0])["published"]
    cpu1 = proc.cpu_times()
    t0 = time.perf_counter()
    path = client.stop()
    stop_s = time.perf_counter() - t0
    peak = _peak_rss_mib(rec.pid)
    node.destroy_node()
    rclpy.shutdown()
    rec.terminate()
    rec.wait(timeout=30)
    with episodes.open(path) as ep:
        streams = {f"/{c}/image_raw": ep.stream(c).count for c in CAMERAS}
        streams["/joint_states"] = ep.stream("joint_position").count
        streams["/imu"] = ep.stream("imu").count
        diagnostics = ep.metadata.extra.get("recorder", {})
    cpu_s = (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)
    rejected = {t: d["rejected"] for t, d in diagnostics.get("topics", {}).items()}
    return {
        "published": published,
        "received": streams,
        "rejected": rejected,
        "cpu_cores": round(cpu_s / seconds, 3),
        "stop_to_closed_s": round(stop_s, 3),
        "peak_rss_mib": round(peak, 1),
        "episode_mib": round(path.stat().st_size / 2**20, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--role", choices=("bench", "publisher", "counter"), default="bench")
    # Outside 100..232, the domain ids the test suite locks for its own graphs.
    parser.add_argument("--domain-id", type=int, default=61)
    args = parser.parse_args()
    if args.role == "publisher":
        run_publisher(args.seconds)
        return
    if args.role == "counter":
        run_counter(args.seconds)
        return

    sys.path[:0] = [str(ROOT), str(ROOT / "ros_ws/src/tg_recorder")]
    from episodes import ImageStreamSpec
    from tg_station import ros_environment, segment_bytes_for, write_fastdds_profile

    with tempfile.TemporaryDirectory(prefix="bench_ros_recorder_") as tmp:
        work = Path(tmp)
        (work / "bench_station.yaml").write_text(profile_yaml(), encoding="utf-8")
        segment = segment_bytes_for([ImageStreamSpec(c, width=WIDTH, height=HEIGHT) for c in CAMERAS])
        env = ros_environment(
            domain_id=args.domain_id,
            profile_file=write_fastdds_profile(work, segment_bytes=segment),
            localhost_only=True,
        )
        paths = [str(ROOT), str(ROOT / "ros_ws/src/tg_recorder"), env.get("PYTHONPATH", "")]
        env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
        os.environ.update(
            {
                k: env[k]
                for k in (
                    "ROS_DOMAIN_ID",
                    "ROS_AUTOMATIC_DISCOVERY_RANGE",
                    "FASTDDS_DEFAULT_PROFILES_FILE",
                    "RMW_IMPLEMENTATION",
                )
            }
        )
        load_before = os.getloadavg()
        base = baseline(env, args.seconds)
        rec = recorder(env, args.seconds, work)
    ratio = {t: rec["received"][t] / rec["published"][t] for t in RATES}
    base_ratio = {t: base["received"][t] / base["published"][t] for t in RATES}
    result = {
        "benchmark": "bench_ros_recorder",
        "seconds": args.seconds,
        "load_average_before": [round(v, 2) for v in load_before],
        "load_average_after": [round(v, 2) for v in os.getloadavg()],
        "cpus": os.cpu_count(),
        "baseline_counting_subscriber": {**base, "received_fraction": _round(base_ratio)},
        "recorder": {**rec, "received_fraction": _round(ratio)},
        "recorder_vs_baseline": _round(
            {t: ratio[t] / base_ratio[t] if base_ratio[t] else float("nan") for t in RATES}
        ),
        "goals": {"received_fraction": 1.0, "recorder_vs_baseline_min": 0.95, "stop_to_closed_s_max": 1.0},
    }
    print(json.dumps(result, indent=2))


def _round(values: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 4) for k, v in values.items()}


if __name__ == "__main__":
    main()
