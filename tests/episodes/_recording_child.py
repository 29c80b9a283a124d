"""A recorder (or a recovery) run in a subprocess by the crash-safety and disk-full tests.

Not a test module. The tests start it with ``sys.executable`` and ``PYTHONPATH``
set to the repository root, read its progress lines from stdout and kill it with
real signals. Every line is flushed as soon as it is printed:

``opened <partial path>``
    an episode writer was created (its layout is on disk).
``appended <stream> <count> <monotonic s>``
    ``count`` samples of ``stream`` have been appended to the current episode in
    total; printed after every batch, ``time.monotonic()`` taken after the append.
``closing <partial path> <monotonic s>`` / ``closed <final path> <monotonic s>``
    around ``EpisodeWriter.close()``.
``storage_full <monotonic s> <json message> <json mro>``, ``again ...``, ``close_error ...``
    the disk-full outcome (``record --fsize-limit``); see :func:`report_storage_full`.
``storage_full_at_open <json message> <json mro>``
    the last episode's writer could not even be created (``--limit-at-open``).
``recovering <partial path>`` / ``recovered <final path>``
    around ``episodes.recover()`` (``recover`` command).
``idle <monotonic s>``
    all samples of a last episode that is not closed were appended; it stays open.
``done``
    the program ends normally.

The parent side, :class:`RecordingChild`, lives here too, so that both test
modules share it without a conftest; the tests load this file by its path.

Commands::

    record DIR [--complete N] [--complete-s S] [--final-s S] [--speed X]
               [--flush S] [--close-final] [--width W --height H] [--fsize-limit BYTES]
               [--limit-at-open BYTES] [--limit-at-close BYTES]
    recover PARTIAL
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import episodes

CAMERA_HZ = 30.0
JOINTS_HZ = 200.0
JOINTS = tuple(f"joint_{k}" for k in range(7))


def emit(*parts: object) -> None:
    print(*parts, flush=True)


def streams(width: int, height: int) -> list[episodes.StreamSpec]:
    return [
        episodes.ImageStreamSpec("camera", width=width, height=height, rate_hz=CAMERA_HZ),
        episodes.ArrayStreamSpec(
            "joints", episodes.StreamKind.JOINT_POSITION, JOINTS, ("rad",), rate_hz=JOINTS_HZ
        ),
    ]


def textures(width: int, height: int, count: int = 8) -> list[np.ndarray]:
    """Textured RGB frames (gradients plus noise): they compress like camera images, not like flat colour."""
    rng = np.random.default_rng(7)
    ys, xs = np.mgrid[0:height, 0:width]
    frames = []
    for k in range(count):
        base = np.stack(
            [(xs * 4 + k * 9) % 256, (ys * 5 + k * 13) % 256, ((xs + ys) * 3 + k * 17) % 256],
            axis=-1,
        )
        noise = rng.integers(0, 48, size=(height, width, 3))
        frame = np.clip(base + noise, 0, 255).astype(np.uint8)
        frame.flags.writeable = False  # the writer then skips its defensive copy
        frames.append(frame)
    return frames


def _record_episode(
    root: Path,
    *,
    seconds: float,
    speed: float,
    flush: float,
    close: bool,
    frames: list[np.ndarray],
    width: int,
    height: int,
    limit_at_close: int | None = None,
    limit_at_open: int | None = None,
) -> bool:
    """Record ``seconds`` of data; ``speed`` data-seconds per wall second (0: as fast as possible).

    Returns False when the disk filled up (the outcome is printed), True otherwise.
    """
    info = episodes.EpisodeInfo(
        robot=episodes.RobotInfo("test_humanoid", joint_names=JOINTS),
        source="synthetic",
        task="crash",
    )
    if limit_at_open is not None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_at_open, limit_at_open))
    try:
        writer = episodes.EpisodeWriter(
            root,
            streams=streams(width, height),
            info=info,
            aligned_rate_hz=CAMERA_HZ,
            flush_interval_s=flush,
        )
    except episodes.StorageFullError as exc:
        mro = [c.__name__ for c in type(exc).__mro__]
        emit("storage_full_at_open", json.dumps(str(exc)), json.dumps(mro))
        return False
    emit("opened", writer.path)
    n_cam = 0
    n_joint = 0
    start = time.monotonic()
    try:
        t = 0.0
        step = 1.0 / CAMERA_HZ
        while t < seconds:
            # One batch: every sample stamped at or before data time t.
            while n_cam / CAMERA_HZ <= t:
                writer.append("camera", int(n_cam * 1e9 / CAMERA_HZ), frames[n_cam % len(frames)])
                n_cam += 1
            stamps = []
            while n_joint / JOINTS_HZ <= t:
                stamps.append(n_joint)
                n_joint += 1
            if stamps:
                k = np.asarray(stamps, dtype=np.int64)
                values = np.sin(k[:, None] * 0.01 + np.arange(7)[None, :])
                writer.append_block("joints", (k * 1e9 / JOINTS_HZ).astype(np.int64), values)
            now = time.monotonic()
            emit("appended", "camera", n_cam, f"{now:.6f}")
            emit("appended", "joints", n_joint, f"{now:.6f}")
            t += step
            if speed > 0:
                delay = start + t / speed - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
        if not close:
            # Keep the episode open (the parent kills this process at some point).
            emit("idle", f"{time.monotonic():.6f}")
            while True:
                time.sleep(1.0)
        if limit_at_close is not None:
            # Let every sample reach the file, then leave only `limit_at_close` bytes for close().
            time.sleep(3 * flush)
            size = writer.path.stat().st_size + limit_at_close
            resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
        emit("closing", writer.path, f"{time.monotonic():.6f}")
        final = writer.close()
        emit("closed", final, f"{time.monotonic():.6f}")
        return True
    except episodes.StorageFullError as exc:
        report_storage_full(writer, exc, frames[0])
        return False


def report_storage_full(writer: episodes.EpisodeWriter, exc: Exception, frame: np.ndarray) -> None:
    """Print what the disk-full error looks like, then check that the writer keeps saying so."""
    mro = [c.__name__ for c in type(exc).__mro__]
    emit("storage_full", f"{time.monotonic():.6f}", json.dumps(str(exc)), json.dumps(mro))
    for stream, value in (("joints", np.zeros(7)), ("camera", frame)):
        began = time.monotonic()
        try:
            writer.append(stream, 2**62, value)
        except Exception as again:  # report whatever it is: the test asserts on it
            emit(
                "again",
                stream,
                type(again).__name__,
                f"{time.monotonic() - began:.3f}",
                json.dumps(str(again)),
            )
        else:
            emit("again", stream, "no-error", f"{time.monotonic() - began:.3f}", json.dumps(""))
    try:
        writer.close()
    except Exception as closing:
        emit("close_error", type(closing).__name__, json.dumps(str(closing)))
    else:
        emit("close_error", "no-error", json.dumps(""))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record")
    rec.add_argument("root", type=Path)
    rec.add_argument("--complete", type=int, default=2, help="complete episodes to record first")
    rec.add_argument("--complete-s", type=float, default=0.5, help="data seconds of each complete episode")
    rec.add_argument("--complete-speed", type=float, default=0.0, help="pace of the complete episodes")
    rec.add_argument("--final-s", type=float, default=60.0, help="data seconds of the last episode")
    rec.add_argument("--speed", type=float, default=1.0, help="pace of the last episode (0: unpaced)")
    rec.add_argument("--flush", type=float, default=0.2)
    rec.add_argument("--close-final", action="store_true")
    rec.add_argument("--width", type=int, default=64)
    rec.add_argument("--height", type=int, default=48)
    rec.add_argument("--fsize-limit", type=int, default=0, help="RLIMIT_FSIZE in bytes (0: none)")
    rec.add_argument("--limit-at-open", type=int, help="RLIMIT_FSIZE set for the last episode")
    rec.add_argument("--limit-at-close", type=int, help="bytes the last episode may grow in close()")
    rcv = sub.add_parser("recover")
    rcv.add_argument("partial", type=Path)
    args = parser.parse_args(argv)

    if args.command == "recover":
        emit("recovering", args.partial)
        final = episodes.recover(args.partial)
        emit("recovered", final)
        emit("done")
        return 0

    if args.fsize_limit or args.limit_at_open is not None or args.limit_at_close is not None:
        # Writes past the limit then fail with EFBIG instead of killing the process.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    if args.fsize_limit:
        resource.setrlimit(resource.RLIMIT_FSIZE, (args.fsize_limit, args.fsize_limit))
    frames = textures(args.width, args.height)
    size = {"frames": frames, "width": args.width, "height": args.height}
    for _ in range(args.complete):
        if not _record_episode(
            args.root,
            seconds=args.complete_s,
            speed=args.complete_speed,
            flush=args.flush,
            close=True,
            **size,
        ):
            emit("done")
            return 0
    _record_episode(
        args.root,
        seconds=args.final_s,
        speed=args.speed,
        flush=args.flush,
        close=args.close_final,
        limit_at_open=args.limit_at_open,
        limit_at_close=args.limit_at_close,
        **size,
    )
    emit("done")
    return 0


# ---------------------------------------------------------------------- parent side

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class ChildEpisode:
    """What the child said about one episode."""

    partial: Path
    final: Path | None = None
    counts: dict[str, int] = field(default_factory=dict)
    timeline: list[tuple[float, str, int]] = field(default_factory=list)
    """(child's monotonic time, stream, total count appended by then)."""
    closing_at: float | None = None
    idle_at: float | None = None

    def appended_by(self, stream: str, when: float) -> int:
        """How many samples of ``stream`` the child had appended at monotonic time ``when``."""
        best = 0
        for at, name, count in self.timeline:
            if at > when:
                break
            if name == stream:
                best = count
        return best


def expected_stamps(stream: str, count: int) -> np.ndarray:
    """The stamps the child gives the first ``count`` samples of ``stream``."""
    rate = CAMERA_HZ if stream == "camera" else JOINTS_HZ
    return (np.arange(count, dtype=np.int64) * 1e9 / rate).astype(np.int64)


def expected_joints(count: int) -> np.ndarray:
    k = np.arange(count, dtype=np.int64)
    return np.sin(k[:, None] * 0.01 + np.arange(7)[None, :])


def check_samples(
    ep: episodes.EpisodeReader, where: str, *, width: int = 64, height: int = 48
) -> dict[str, int]:
    """Every stored sample is exactly the child's sample of that index; returns the counts.

    So a recovered or half-written file holds a clean prefix of what was recorded,
    never a sample from elsewhere or garbage past the end.
    """
    counts = {name: info.count for name, info in ep.streams.items()}
    joints = ep.read("joints")
    n = counts["joints"]
    assert np.array_equal(joints.stamp_ns, expected_stamps("joints", n)), f"{where}: joint stamps differ"
    assert np.array_equal(joints.data, expected_joints(n)), f"{where}: joint values differ"
    camera = ep.read("camera")
    m = counts["camera"]
    assert np.array_equal(camera.stamp_ns, expected_stamps("camera", m)), f"{where}: camera stamps differ"
    assert isinstance(camera, episodes.ImageSamples)
    if m:
        looks = textures(width, height)
        for i in sorted({0, m // 2, m - 1}):
            frame = camera.images[i].decode()
            assert frame.shape == (height, width, 3), f"{where}: frame {i} has shape {frame.shape}"
            # JPEG smooths the noise away (mean error ~12); the other textures differ by 22 or more.
            diffs = [float(np.abs(frame.astype(np.int16) - look.astype(np.int16)).mean()) for look in looks]
            nearest = int(np.argmin(diffs))
            assert nearest == i % len(looks) and diffs[nearest] < 18, (
                f"{where}: frame {i} is not the frame recorded (looks like texture {nearest}, "
                f"mean abs differences {[round(d, 1) for d in diffs]})"
            )
    return counts


def check_aligned(ep: episodes.EpisodeReader, where: str) -> int:
    """The aligned view is non-empty and each index is the latest sample at or before its tick."""
    view = ep.aligned
    assert view.num_frames > 0, f"{where}: empty aligned view ({view.reason!r})"
    assert np.all(np.diff(view.time_ns) > 0), f"{where}: aligned ticks not increasing"
    for name, index in view.index.items():
        stamps = ep.read(name).stamp_ns
        have = index >= 0
        if name in view.required:
            assert have.all(), f"{where}: required stream {name!r} has ticks without a sample"
        assert np.all(index < stamps.shape[0]), f"{where}: {name!r} index past the stream's end"
        idx = index[have]
        ticks = view.time_ns[have]
        assert np.all(stamps[idx] <= ticks), f"{where}: {name!r} aligned to a sample after its tick"
        later = idx + 1 < stamps.shape[0]
        assert np.all(stamps[idx[later] + 1] > ticks[later]), f"{where}: {name!r} not the latest sample"
        assert np.array_equal(view.error_ns[name][have], ticks - stamps[idx]), f"{where}: {name!r} error_ns"
    return view.num_frames


def json_fields(text: str) -> list[object]:
    """The space-separated JSON values of a progress line's tail."""
    decoder = json.JSONDecoder()
    values, at = [], 0
    while at < len(text):
        value, at = decoder.raw_decode(text, at)
        values.append(value)
        while at < len(text) and text[at] == " ":
            at += 1
    return values


class RecordingChild:
    """This script in a subprocess: its progress lines parsed as they arrive (a reader thread)."""

    def __init__(self, args: list[str], *, log_dir: Path, name: str = "child") -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
        env["PYTHONUNBUFFERED"] = "1"
        self.name = name
        self.stderr_path = log_dir / f"{name}.stderr"
        self._stderr = self.stderr_path.open("wb")
        self.lines: list[str] = []
        self.episodes: list[ChildEpisode] = []
        self.killed_at: float | None = None
        self._cond = threading.Condition()
        self._eof = False
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), *args],
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            stdin=subprocess.DEVNULL,
            env=env,
            text=True,
            bufsize=1,
        )
        self._thread = threading.Thread(target=self._read, name=f"read-{name}", daemon=True)
        self._thread.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                self._parse(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    def _parse(self, line: str) -> None:
        self.lines.append(line)
        word, _, rest = line.partition(" ")
        parts = rest.split(" ")
        if word == "opened":
            self.episodes.append(ChildEpisode(partial=Path(rest)))
        elif word == "appended":
            ep = self.episodes[-1]
            stream, count, at = parts[0], int(parts[1]), float(parts[2])
            ep.counts[stream] = count
            ep.timeline.append((at, stream, count))
        elif word == "closing":
            self.episodes[-1].closing_at = float(parts[-1])
        elif word == "closed":
            self.episodes[-1].final = Path(" ".join(parts[:-1]))
        elif word == "idle":
            self.episodes[-1].idle_at = float(parts[0])

    def said(self, word: str) -> list[str]:
        """The rest of every line that started with ``word``."""
        with self._cond:
            return [line[len(word) + 1 :] for line in self.lines if line.split(" ", 1)[0] == word]

    def wait_for(
        self, what: str, predicate: Callable[[RecordingChild], object], timeout: float = 30.0
    ) -> None:
        """Block until ``predicate(self)`` holds; fail with the child's output if it never does."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self):
                left = deadline - time.monotonic()
                if self._eof or left <= 0:
                    self.proc.poll()
                    why = f"child exited with {self.proc.returncode}" if self._eof else "timed out"
                    raise AssertionError(
                        f"{self.name}: gave up waiting for {what} after "
                        f"{timeout - max(0.0, left):.1f} s ({why})\n" + self.describe()
                    )
                self._cond.wait(min(left, 0.5))

    def kill(self) -> float:
        """SIGKILL the child now; returns the monotonic time just before the signal."""
        self.killed_at = time.monotonic()
        self.proc.send_signal(signal.SIGKILL)
        self.finish(timeout=30)
        return self.killed_at

    def finish(self, timeout: float = 60.0) -> int:
        """Wait for the child to exit (and reap it: a zombie still looks alive to recover())."""
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"{self.name}: did not exit within {timeout} s\n{self.describe()}") from None
        self._thread.join(10)
        self._stderr.close()
        return rc

    def stderr(self) -> str:
        if not self._stderr.closed:
            self._stderr.flush()
        return self.stderr_path.read_text(errors="replace")

    def describe(self, tail: int = 12) -> str:
        shown = [line for line in self.lines if not line.startswith("appended")][-tail:]
        return (
            f"  last lines (appended omitted): {shown}\n"
            f"  last appended: {[line for line in self.lines if line.startswith('appended')][-2:]}\n"
            f"  stderr: {self.stderr()[-3000:]!r}"
        )

    def __enter__(self) -> RecordingChild:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._thread.join(10)
        self._stderr.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
