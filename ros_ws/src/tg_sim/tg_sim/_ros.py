"""Small conversions the tg_sim nodes share: stamps, topic names, the node entry point."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Sequence

import rclpy
from builtin_interfaces.msg import Time
from rclpy.executors import Executor, ExternalShutdownException

from training_ground import TgError

__all__ = ["camera_info_topic", "nanoseconds", "run_node", "spin_quietly", "stamp_msg"]


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


def run_node(body: Callable[[], None], args: Sequence[str] | None, name: str) -> None:
    """Init rclpy, run ``body``, shut down; a configuration error is one line on stderr and exit 1."""
    rclpy.init(args=None if args is None else list(args))
    try:
        body()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except TgError as exc:
        print(f"{name}: error: {exc}", file=sys.stderr, flush=True)
        sys.exit(1)
    finally:
        if rclpy.ok():
            rclpy.shutdown()


def spin_quietly(executor: Executor) -> None:
    """Spin ``executor`` until ROS shuts down (the target of a node's executor thread)."""
    with contextlib.suppress(ExternalShutdownException):
        executor.spin()
