"""Small conversions the tg_sim nodes share: stamps, topic names, the node entry point."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from types import FrameType

import rclpy
from builtin_interfaces.msg import Time
from rclpy.executors import Executor, ExternalShutdownException
from rclpy.signals import SignalHandlerOptions

from tg_base import TgError

__all__ = ["camera_info_topic", "nanoseconds", "run_node", "spin_until", "stamp_msg"]


def stamp_msg(ns: int) -> Time:
    """A ``builtin_interfaces/Time`` from int64 nanoseconds."""
    sec, nanosec = divmod(int(ns), 1_000_000_000)
    return Time(sec=sec, nanosec=nanosec)


def nanoseconds(stamp: Time) -> int:
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def camera_info_topic(image_topic: str) -> str:
    """The image_transport convention: ``camera_info`` next to the image (the recorder reads it there).

    >>> camera_info_topic("/cam_h/color/image_raw/compressed")
    '/cam_h/color/camera_info'
    """
    base = image_topic.rstrip("/")
    for transport in ("/compressed", "/compressedDepth"):
        base = base.removesuffix(transport)
    return f"{base.rsplit('/', 1)[0]}/camera_info"


def run_node(body: Callable[[threading.Event], None], args: Sequence[str] | None, name: str) -> None:
    """Init rclpy, run ``body(stop)`` until SIGINT/SIGTERM sets ``stop``, shut down in order.

    The node's own handlers only set ``stop``: rclpy's would shut the context
    down (or raise KeyboardInterrupt) under a publish in progress, and a node
    torn down that way can abort the process. A configuration error is one line
    on stderr and exit code 1.
    """
    rclpy.init(args=None if args is None else list(args), signal_handler_options=SignalHandlerOptions.NO)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        body(stop)
    except TgError as exc:
        print(f"{name}: error: {exc}", file=sys.stderr, flush=True)
        sys.exit(1)
    finally:
        rclpy.try_shutdown()


def spin_until(executor: Executor, stop: threading.Event) -> None:
    """Spin ``executor`` until ``stop`` is set (in a node's main loop or its executor thread)."""
    with contextlib.suppress(ExternalShutdownException):
        while not stop.is_set():
            executor.spin_once(timeout_sec=0.1)
