"""Benchmark: recording a teleoperation episode with EpisodeWriter vs the ALOHA way.

A synthetic humanoid episode (three 640x480 RGB cameras at 30 Hz, 28 joint
positions at 500 Hz, 14 arm actions at 100 Hz) is fed as fast as possible, in
timestamp order, the way a recorder sees it. Each scenario runs in its own
subprocess so that its peak RSS is its own:

* ``generator_<D>s``: the feeding loop alone (no writer): what the synthetic
  data costs, to subtract from the figures below.
* ``tg_<D>s``: :class:`episodes.EpisodeWriter`, ``D`` seconds of data.
* ``aloha_60s``: the ALOHA baseline: every raw frame and sample kept in Python
  lists during the episode, then numpy arrays written with h5py after stop.

One JSON document goes to stdout (and to ``--out``); progress goes to stderr.
See benchmarks/README.md for what each figure means.

    python benchmarks/bench_writer.py [--durations 60 300] [--skip-baseline] [--out FILE]
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cv2
import h5py
import numpy as np

REPO = Path(__file__).resolve().parents[1]

# ---------------------------------------------------------------- parameters

WIDTH, HEIGHT = 640, 480
CAMERAS = ("head", "wrist_left", "wrist_right")
CAMERA_HZ = 30
# Cameras are not hardware-synchronised: each one's frames come at its own phase.
CAMERA_OFFSETS_NS = (0, 11_000_000, 22_000_000)
STATE_STREAM, STATE_DIM, STATE_HZ = "joint_position", 28, 500
ACTION_STREAM, ACTION_DIM, ACTION_HZ = "action_arm", 14, 100
ACTION_OFFSET_NS = 1_000_000
JPEG_QUALITY = 90  # the writer's default
ALIGNED_HZ = 30
BASELINE_S = 60.0

# Goals (see README): closing takes under a second; a recording is written in a third of
# its duration; peak memory does not grow with the episode's length.
GOAL_CLOSE_S = 1.0
GOAL_TOTAL_FRACTION = 1 / 3
GOAL_RSS_GROWTH = 1.25
GOAL_FRAME_GEN_US = 1000.0

# Stream ids in the event schedule: arrays first, then cameras.
SID_STATE, SID_ACTION, SID_CAM0 = 0, 1, 2

_MARGIN = 96  # how far a camera's crop wanders over its texture, pixels
_NOISE_FRAMES = 4
_TABLE_ROWS = 5000  # 10 s of joint states, replayed in a loop


def _mb(nbytes: float) -> float:
    return round(nbytes / 1e6, 1)


def _peak_rss_bytes() -> int:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def _import_episodes() -> Any:
    try:
        import episodes
    except ModuleNotFoundError:
        sys.path.insert(0, str(REPO))
        import episodes
    return episodes


# ---------------------------------------------------------------- synthetic data


class Scene:
    """Textured camera frames that change every frame, each made in well under 1 ms.

    Per camera, one large texture is built once: fractal value noise (several
    octaves of upsampled random noise), a lighting gradient, and anti-aliased
    polygons, outlines and text for sharp edges. A frame is a crop that wanders
    over the texture, plus one of a few precomputed sensor-noise frames
    (saturating add: a new array and the noise in one SIMD pass), plus a moving
    "gripper and object" drawn on top. Deterministic: frame ``(camera, k)`` is
    the same on every call.
    """

    def __init__(self, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.textures = [_texture(rng) for _ in CAMERAS]
        self.noise = [rng.integers(0, 7, (HEIGHT, WIDTH, 3), dtype=np.uint8) for _ in range(_NOISE_FRAMES)]

    def frame(self, cam: int, k: int) -> np.ndarray:
        speed = 1.0 + cam  # wrist cameras move faster than the head camera
        x = _MARGIN + int((_MARGIN - 1) * math.sin(0.013 * speed * k + cam))
        y = _MARGIN + int((_MARGIN - 1) * math.cos(0.017 * speed * k + 2 * cam))
        crop = self.textures[cam][y : y + HEIGHT, x : x + WIDTH]
        out = cv2.add(crop, self.noise[(k + cam) % _NOISE_FRAMES])
        cx = int(WIDTH / 2 + 220 * math.sin(0.05 * k + cam))
        cy = int(HEIGHT / 2 + 150 * math.sin(0.031 * k + 0.5 * cam))
        cv2.circle(out, (cx, cy), 40, (200, 60 + k % 100, 40), -1, cv2.LINE_AA)
        cv2.rectangle(out, (cx - 90, cy + 30), (cx - 30, cy + 120), (40, 40, 220 - k % 80), -1)
        cv2.line(out, (cx - 60, cy + 120), (WIDTH // 2, HEIGHT), (90, 90, 90), 12, cv2.LINE_AA)
        return out


def _texture(rng: np.random.Generator) -> np.ndarray:
    th, tw = HEIGHT + 2 * _MARGIN, WIDTH + 2 * _MARGIN
    acc = np.zeros((th, tw, 3), np.float32)
    for cell, amp in ((160, 50.0), (64, 36.0), (24, 24.0), (8, 12.0), (3, 6.0)):
        # Mostly luminance, some colour: closer to a real scene than independent channels.
        grey = rng.normal(0, 1, (th // cell + 2, tw // cell + 2, 1))
        colour = rng.normal(0, 0.5, (th // cell + 2, tw // cell + 2, 3))
        small = (grey + colour).astype(np.float32)
        acc += amp * cv2.resize(small, (tw, th), interpolation=cv2.INTER_CUBIC)
    ramp = np.linspace(-40, 40, th, dtype=np.float32)[:, None, None]
    acc += 128 + ramp * np.float32([1.0, 0.85, 0.7])
    img = np.ascontiguousarray(np.clip(acc, 0, 255).astype(np.uint8))
    for _ in range(40):
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        centre = rng.integers(0, [tw, th])
        points = (centre + rng.integers(-120, 120, (int(rng.integers(3, 7)), 2))).astype(np.int32)
        if rng.random() < 0.6:
            cv2.fillPoly(img, [points], colour, cv2.LINE_AA)
        else:
            cv2.polylines(img, [points], True, colour, int(rng.integers(1, 4)), cv2.LINE_AA)
    for _ in range(6):
        org = tuple(int(v) for v in rng.integers(0, [tw, th]))
        scale = float(rng.uniform(0.5, 1.5))
        cv2.putText(img, f"TG {rng.integers(1000)}", org, 0, scale, (250, 250, 250), 2, cv2.LINE_AA)
    return cv2.GaussianBlur(img, (3, 3), 0)


def _tables() -> tuple[np.ndarray, np.ndarray]:
    """10 s of smooth joint trajectories, replayed in a loop (rows are views, not copies)."""
    t = np.arange(_TABLE_ROWS)[:, None] / STATE_HZ
    state = 0.8 * np.sin(2 * np.pi * (0.1 + 0.02 * np.arange(STATE_DIM)) * t + np.arange(STATE_DIM))
    action = state[:, :ACTION_DIM] + 0.01
    return np.ascontiguousarray(state), np.ascontiguousarray(action)


def _ticks(sid: int, rate_hz: int, offset_ns: int, duration_s: float) -> Iterator[tuple[int, int, int]]:
    for k in range(round(duration_s * rate_hz)):
        yield offset_ns + k * 1_000_000_000 // rate_hz, sid, k


def events(duration_s: float) -> Iterator[tuple[int, int, int]]:
    """``(stamp_ns, stream id, sample index)`` of every stream, merged in stamp order (lazily)."""
    streams = [
        _ticks(SID_STATE, STATE_HZ, 0, duration_s),
        _ticks(SID_ACTION, ACTION_HZ, ACTION_OFFSET_NS, duration_s),
    ]
    streams += [
        _ticks(SID_CAM0 + i, CAMERA_HZ, CAMERA_OFFSETS_NS[i], duration_s) for i in range(len(CAMERAS))
    ]
    return heapq.merge(*streams)


def expected_counts(duration_s: float) -> dict[str, int]:
    counts = {name: round(duration_s * CAMERA_HZ) for name in CAMERAS}
    counts[STATE_STREAM] = round(duration_s * STATE_HZ)
    counts[ACTION_STREAM] = round(duration_s * ACTION_HZ)
    return counts


class Timers:
    def __init__(self) -> None:
        self.frame_gen = 0.0
        self.image = 0.0
        self.array = 0.0


def feed(
    duration_s: float,
    scene: Scene,
    image_sink: Callable[[int, int, np.ndarray], None],
    array_sink: Callable[[int, int, np.ndarray], None],
    label: str,
) -> Timers:
    """Run the episode: every sample, in stamp order, handed to a sink; time each part."""
    state, action = _tables()
    timers = Timers()
    clock = time.perf_counter
    start = clock()
    for stamp, sid, k in events(duration_s):
        if sid >= SID_CAM0:
            a = clock()
            frame = scene.frame(sid - SID_CAM0, k)
            b = clock()
            image_sink(sid, stamp, frame)
            timers.frame_gen += b - a
            timers.image += clock() - b
        else:
            row = state[k % _TABLE_ROWS] if sid == SID_STATE else action[k % _TABLE_ROWS]
            a = clock()
            array_sink(sid, stamp, row)
            timers.array += clock() - a
            if sid == SID_STATE and k and k % (10 * STATE_HZ) == 0:
                _log(f"{label}: {k // STATE_HZ} / {duration_s:g} s fed, {clock() - start:.1f} s wall")
    return timers


# ---------------------------------------------------------------- scenarios (children)


def scenario_generator(duration_s: float, encoder_threads: int) -> dict[str, Any]:
    scene = Scene()
    frames = 0

    def image_sink(sid: int, stamp: int, frame: np.ndarray) -> None:
        nonlocal frames
        frames += 1

    def array_sink(sid: int, stamp: int, row: np.ndarray) -> None:
        pass

    t0 = time.perf_counter()
    timers = feed(duration_s, scene, image_sink, array_sink, f"generator_{duration_s:g}s")
    loop_s = time.perf_counter() - t0
    return {
        "loop_s": round(loop_s, 3),
        "frame_generation_s": round(timers.frame_gen, 3),
        "frames": frames,
        "frame_generation_us_mean": round(timers.frame_gen / max(1, frames) * 1e6, 1),
        "peak_rss_mb": _mb(_peak_rss_bytes()),
    }


def scenario_tg(duration_s: float, encoder_threads: int) -> dict[str, Any]:
    episodes = _import_episodes()
    scene = Scene()
    cams = [
        episodes.ImageStreamSpec(name, WIDTH, HEIGHT, quality=JPEG_QUALITY, rate_hz=CAMERA_HZ)
        for name in CAMERAS
    ]
    state_spec = episodes.ArrayStreamSpec(
        STATE_STREAM,
        episodes.StreamKind.JOINT_POSITION,
        tuple(f"joint_{i}" for i in range(STATE_DIM)),
        ("rad",),
        rate_hz=STATE_HZ,
    )
    action_spec = episodes.ArrayStreamSpec(
        ACTION_STREAM,
        episodes.StreamKind.JOINT_POSITION,
        tuple(f"arm_joint_{i}" for i in range(ACTION_DIM)),
        ("rad",),
        rate_hz=ACTION_HZ,
        role=episodes.Role.ACTION,
    )
    info = episodes.EpisodeInfo(
        robot=episodes.RobotInfo("bench_humanoid", joint_names=state_spec.names),
        source="synthetic",
        task="benchmark",
    )
    # Warm OpenCV's encoder up outside the timed part.
    cv2.imencode(".jpg", scene.frame(0, 0), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    rss_setup = _peak_rss_bytes()
    tmp = tempfile.mkdtemp(prefix="tg-bench-")
    try:
        t_open = time.perf_counter()
        writer = episodes.EpisodeWriter(
            tmp,
            streams=[*cams, state_spec, action_spec],
            info=info,
            aligned_rate_hz=ALIGNED_HZ,
            encoder_threads=encoder_threads,
        )
        names = {SID_STATE: STATE_STREAM, SID_ACTION: ACTION_STREAM}
        names.update({SID_CAM0 + i: name for i, name in enumerate(CAMERAS)})
        append = writer.append

        def sink(sid: int, stamp: int, value: np.ndarray) -> None:
            append(names[sid], stamp, value)

        cpu0 = _cpu_s()
        t0 = time.perf_counter()
        timers = feed(duration_s, scene, sink, sink, f"tg_{duration_s:g}s")
        t_last = time.perf_counter()
        peak_before_close = _peak_rss_bytes()
        path = writer.close()
        t_closed = time.perf_counter()
        cpu = _cpu_s() - cpu0
        peak = _peak_rss_bytes()
        size = path.stat().st_size
        check = _check_tg_file(episodes, path, scene, duration_s)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    write_s, close_s = t_last - t0, t_closed - t_last
    total = write_s + close_s
    other = write_s - timers.frame_gen - timers.image - timers.array
    return {
        "duration_s": duration_s,
        "encoder_threads": encoder_threads,
        "open_s": round(t0 - t_open, 3),
        "write_s": round(write_s, 3),
        "close_s": round(close_s, 3),
        "total_s": round(total, 3),
        "realtime_factor": round(duration_s / total, 2),
        "write_breakdown_s": {
            "frame_generation": round(timers.frame_gen, 3),
            "image_append": round(timers.image, 3),
            "array_append": round(timers.array, 3),
            "loop_other": round(other, 3),
        },
        "cpu_s": round(cpu, 2),
        "cpu_cores_at_realtime": round(cpu / duration_s, 3),
        "peak_rss_mb": _mb(peak),
        "peak_rss_before_close_mb": _mb(peak_before_close),
        "rss_before_writer_mb": _mb(rss_setup),
        "peak_rss_growth_mb": _mb(peak - rss_setup),
        "file_mb": _mb(size),
        "file_mb_per_recorded_min": _mb(size * 60 / duration_s),
        "check": check,
    }


def _check_tg_file(episodes: Any, path: Path, scene: Scene, duration_s: float) -> dict[str, Any]:
    """Read the episode back: complete, every sample there, frames decode close to the source."""
    want = expected_counts(duration_s)
    with episodes.open(path) as ep:
        counts = {name: info.count for name, info in ep.streams.items()}
        status = ep.metadata.status
        aligned = ep.aligned.num_frames
        psnr = {}
        for i, name in enumerate(CAMERAS):
            k = want[name] // 2
            decoded = ep.image(name, k).decode().astype(np.float64)
            mse = float(np.mean((decoded - scene.frame(i, k)) ** 2))
            psnr[name] = round(10 * math.log10(255**2 / max(mse, 1e-9)), 1)
    with h5py.File(path, "r") as f:
        jpeg_bytes = sum(int(f["streams"][name]["frames"].shape[0]) for name in CAMERAS)
    frames = sum(want[name] for name in CAMERAS)
    return {
        "status": status,
        "counts": counts,
        "counts_ok": counts == want,
        "aligned_frames": aligned,
        "jpeg_kb_mean": round(jpeg_bytes / max(1, frames) / 1e3, 1),
        "jpeg_psnr_db_mid_frame": psnr,
    }


def scenario_aloha(duration_s: float, encoder_threads: int) -> dict[str, Any]:
    """ALOHA's record_episodes.py: raw frames in lists, numpy/h5py only after stop."""
    scene = Scene()
    rss_setup = _peak_rss_bytes()
    images: dict[int, list[np.ndarray]] = {SID_CAM0 + i: [] for i in range(len(CAMERAS))}
    qpos: list[np.ndarray] = []
    action: list[np.ndarray] = []

    def image_sink(sid: int, stamp: int, frame: np.ndarray) -> None:
        images[sid].append(frame)  # a fresh array per frame, as from cv_bridge

    def array_sink(sid: int, stamp: int, row: np.ndarray) -> None:
        (qpos if sid == SID_STATE else action).append(row.copy())

    tmp = tempfile.mkdtemp(prefix="tg-bench-aloha-")
    try:
        t0 = time.perf_counter()
        feed(duration_s, scene, image_sink, array_sink, f"aloha_{duration_s:g}s")
        t_stop = time.perf_counter()
        raw = sum(f.nbytes for frames in images.values() for f in frames)
        raw += sum(r.nbytes for r in qpos) + sum(r.nbytes for r in action)
        path = Path(tmp) / "episode_0.hdf5"
        data: dict[str, list[np.ndarray]] = {
            f"/observations/images/{name}": images[SID_CAM0 + i] for i, name in enumerate(CAMERAS)
        }
        data["/observations/qpos"] = qpos
        data["/action"] = action
        with h5py.File(path, "w", rdcc_nbytes=1024**2 * 2) as root:
            root.attrs["sim"] = False
            obs = root.create_group("observations")
            image = obs.create_group("images")
            for i, name in enumerate(CAMERAS):
                n = len(images[SID_CAM0 + i])
                image.create_dataset(name, (n, HEIGHT, WIDTH, 3), dtype="uint8", chunks=(1, HEIGHT, WIDTH, 3))
            # ALOHA leaves the dtype to h5py's default, float32.
            obs.create_dataset("qpos", (len(qpos), STATE_DIM), dtype="f4")
            root.create_dataset("action", (len(action), ACTION_DIM), dtype="f4")
            for name, array in data.items():
                root[name][...] = array  # h5py turns the list into one array: a full copy
        t_closed = time.perf_counter()
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        t_synced = time.perf_counter()
        peak = _peak_rss_bytes()
        size = path.stat().st_size
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    projected = raw * 300 / duration_s
    projected_peak = rss_setup + (peak - rss_setup) * 300 / duration_s
    total_ram = _mem_total()
    return {
        "duration_s": duration_s,
        "collect_s": round(t_stop - t0, 3),
        "write_after_stop_s": round(t_closed - t_stop, 3),
        "fsync_s": round(t_synced - t_closed, 3),
        "write_after_stop_with_fsync_s": round(t_synced - t_stop, 3),
        "peak_rss_mb": _mb(peak),
        "rss_before_collect_mb": _mb(rss_setup),
        "raw_bytes_held_mb": _mb(raw),
        "file_mb": _mb(size),
        "projected_raw_ram_gb_300s": round(projected / 1e9, 1),
        "projected_peak_rss_gb_300s": round(projected_peak / 1e9, 1),
        "projected_300s_fits_in_ram": None if total_ram is None else projected_peak < total_ram,
        "note": (
            "as ALOHA: no timestamps stored; qpos and action keep their own rates "
            "(500 and 100 Hz), not resampled to the camera rate"
        ),
    }


SCENARIOS: dict[str, Callable[[float, int], dict[str, Any]]] = {
    "generator": scenario_generator,
    "tg": scenario_tg,
    "aloha": scenario_aloha,
}


# ---------------------------------------------------------------- parent


def _run_child(kind: str, duration_s: float, encoder_threads: int) -> dict[str, Any]:
    label = f"{kind}_{duration_s:g}s"
    _log(f"{label}: starting")
    started = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            kind,
            "--duration",
            str(duration_s),
            "--encoder-threads",
            str(encoder_threads),
        ],
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0 or not lines:
        _log(f"{label}: FAILED with exit status {proc.returncode}")
        return {"error": f"exit status {proc.returncode}", "stdout_tail": lines[-5:]}
    result: dict[str, Any] = json.loads(lines[-1])
    _log(f"{label}: done in {wall:.1f} s")
    return result


def _machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_model": "",
        "ram_gb": None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "h5py": h5py.__version__,
        "hdf5": h5py.version.hdf5_version,
        "opencv": cv2.__version__,
        "temp_dir": tempfile.gettempdir(),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    total = _mem_total()
    info["ram_gb"] = None if total is None else round(total / 1e9, 1)
    return info


def _meminfo(field: str) -> int | None:
    """A /proc/meminfo figure in bytes (None where there is none)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _mem_total() -> int | None:
    return _meminfo("MemTotal")


def _load_average() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def _goal(target: str, value: Any, ok: bool) -> dict[str, Any]:
    return {"target": target, "value": value, "pass": bool(ok)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument(
        "--durations",
        type=float,
        nargs="+",
        default=[60.0, 300.0],
        help="seconds of data per tg run",
    )
    parser.add_argument("--skip-baseline", action="store_true", help="do not run the ALOHA baseline")
    parser.add_argument("--out", type=Path, help="also write the JSON document to this file")
    parser.add_argument(
        "--encoder-threads",
        type=int,
        default=2,
        help="EpisodeWriter(encoder_threads=...) for the tg runs (default 2, the writer's)",
    )
    parser.add_argument("--child", choices=sorted(SCENARIOS), help=argparse.SUPPRESS)
    parser.add_argument("--duration", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        result = SCENARIOS[args.child](args.duration, args.encoder_threads)
        print(json.dumps(result), flush=True)
        return 0

    started = time.perf_counter()
    load_start = _load_average()
    results: dict[str, Any] = {}
    generator: dict[str, Any] = {}
    for duration in args.durations:
        generator[f"{duration:g}s"] = _run_child("generator", duration, args.encoder_threads)
        results[f"tg_{duration:g}s"] = _run_child("tg", duration, args.encoder_threads)
    if not args.skip_baseline:
        # Raw frames + one stacked camera + the interpreter: refuse rather than swap.
        need = 3 * WIDTH * HEIGHT * 3 * CAMERA_HZ * BASELINE_S * 4 / 3 + 300e6
        available = _meminfo("MemAvailable")
        if available is not None and need > 0.85 * available:
            results[f"aloha_{BASELINE_S:g}s"] = {
                "skipped": (f"needs about {need / 1e9:.1f} GB of RAM, {available / 1e9:.1f} GB available")
            }
        else:
            results[f"aloha_{BASELINE_S:g}s"] = _run_child("aloha", BASELINE_S, args.encoder_threads)

    ratios: dict[str, Any] = {}
    tg_base = results.get(f"tg_{BASELINE_S:g}s", {})
    aloha = results.get(f"aloha_{BASELINE_S:g}s", {})
    if "close_s" in tg_base and "write_after_stop_s" in aloha:
        ratios = {
            "compared": f"aloha_{BASELINE_S:g}s vs tg_{BASELINE_S:g}s",
            "write_after_stop_over_close": round(aloha["write_after_stop_s"] / tg_base["close_s"], 1),
            "write_after_stop_with_fsync_over_close": round(
                aloha["write_after_stop_with_fsync_s"] / tg_base["close_s"], 1
            ),
            "peak_rss": round(aloha["peak_rss_mb"] / tg_base["peak_rss_mb"], 1),
            "file_size": round(aloha["file_mb"] / tg_base["file_mb"], 1),
        }

    goals: dict[str, Any] = {}
    for duration in args.durations:
        name = f"tg_{duration:g}s"
        res = results[name]
        if "total_s" not in res:
            goals[f"{name}_ran"] = _goal("exits cleanly", res.get("error"), False)
            continue
        goals[f"{name}_close_under_1s"] = _goal(
            f"< {GOAL_CLOSE_S:g} s", res["close_s"], res["close_s"] < GOAL_CLOSE_S
        )
        limit = duration * GOAL_TOTAL_FRACTION
        goals[f"{name}_total_within_third"] = _goal(
            f"<= {limit:g} s", res["total_s"], res["total_s"] <= limit
        )
        check = res["check"]
        goals[f"{name}_file_complete"] = _goal(
            "status complete, every sample stored",
            check["status"],
            check["status"] == "complete" and check["counts_ok"],
        )
    rss = {d: results[f"tg_{d:g}s"].get("peak_rss_mb") for d in args.durations}
    measured = {d: v for d, v in rss.items() if v}
    if len(measured) >= 2:
        short, long = min(measured), max(measured)
        growth = measured[long] / measured[short]
        goals["peak_rss_flat"] = _goal(
            f"tg_{long:g}s peak RSS <= {GOAL_RSS_GROWTH:g} x tg_{short:g}s",
            round(growth, 3),
            growth <= GOAL_RSS_GROWTH,
        )
    worst = max((g.get("frame_generation_us_mean", 0) for g in generator.values()), default=0)
    goals["frame_generation_under_1ms"] = _goal(
        f"< {GOAL_FRAME_GEN_US:g} us", worst, worst < GOAL_FRAME_GEN_US
    )

    document = {
        "benchmark": "episodes.EpisodeWriter vs ALOHA-style recording",
        "machine": _machine(),
        "parameters": {
            "durations_s": args.durations,
            "baseline_duration_s": None if args.skip_baseline else BASELINE_S,
            "cameras": {name: f"{WIDTH}x{HEIGHT} RGB @ {CAMERA_HZ} Hz" for name in CAMERAS},
            "camera_offsets_ms": [o / 1e6 for o in CAMERA_OFFSETS_NS],
            "state": f"{STATE_STREAM}: {STATE_DIM} x float64 @ {STATE_HZ} Hz",
            "action": f"{ACTION_STREAM}: {ACTION_DIM} x float64 @ {ACTION_HZ} Hz (role action)",
            "jpeg_quality": JPEG_QUALITY,
            "aligned_rate_hz": ALIGNED_HZ,
            "writer_settings": (f"encoder_threads={args.encoder_threads}, flush_interval_s=1.0, fsync=True"),
            "feeding": "as fast as possible, all streams merged in stamp order",
        },
        "generator": generator,
        "results": results,
        "ratios": ratios,
        "goals": goals,
        "all_goals_pass": all(g["pass"] for g in goals.values()),
        "benchmark_wall_s": round(time.perf_counter() - started, 1),
        # Other processes on the machine skew every timing: look here first when figures jump.
        "load_average_1_5_15": {"start": load_start, "end": _load_average()},
    }
    text = json.dumps(document, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
