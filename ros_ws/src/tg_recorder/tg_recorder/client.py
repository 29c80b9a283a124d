"""Service clients and a status subscriber for driving a recorder node from another node.

The session runner (``tg collect``) and ``tg record`` use these; each call
returns a typed result or raises :class:`collectors.RecorderServiceError`
naming the service (no answer in time, or the recorder refused). A client
names the one recorder it drives (``/recorder_<station>``, see
:func:`tg_station.recorder_name`): there is no default, so no client drives
another station's recorder by accident.

>>> client = RecorderClient(node, recorder="/recorder_lab1")  # doctest: +SKIP
>>> episode_id = client.start()  # doctest: +SKIP
>>> path = client.stop()  # doctest: +SKIP
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import QoSProfile
from std_msgs.msg import String
from std_srvs.srv import SetBool, Trigger

from collectors import RecorderError, RecorderServiceError, RecorderStatus

__all__ = ["RecorderClient", "StatusListener"]


class RecorderClient:
    """Calls ``<recorder>/start|stop|discard|mark_success`` through ``node``.

    ``spun_elsewhere``: ``node`` is spun by an executor in another thread, so a
    call only waits for its answer; otherwise the call spins ``node`` itself.
    """

    def __init__(
        self,
        node: Node,
        *,
        recorder: str,
        timeout_s: float = 10.0,
        stop_timeout_s: float = 30.0,
        spun_elsewhere: bool = False,
    ) -> None:
        self._node = node
        self._timeout_s = timeout_s
        self._stop_timeout_s = stop_timeout_s
        self._spun_elsewhere = spun_elsewhere
        base = recorder.rstrip("/")
        self._start: Any = node.create_client(Trigger, f"{base}/start")
        self._stop: Any = node.create_client(Trigger, f"{base}/stop")
        self._discard: Any = node.create_client(Trigger, f"{base}/discard")
        self._mark: Any = node.create_client(SetBool, f"{base}/mark_success")

    def wait_ready(self, timeout_s: float = 10.0) -> None:
        """Wait until the recorder's services are up; RecorderServiceError otherwise."""
        for client in (self._start, self._stop, self._discard, self._mark):
            if not client.wait_for_service(timeout_sec=timeout_s):
                raise RecorderServiceError(client.srv_name, f"not available after {timeout_s:g} s")

    def start(self) -> str:
        """Start an episode; return its id."""
        return self._call(self._start, Trigger.Request(), self._timeout_s)

    def stop(self) -> Path:
        """Stop and close the episode; return its final ``.h5`` path."""
        return Path(self._call(self._stop, Trigger.Request(), self._stop_timeout_s))

    def discard(self) -> str:
        """Abort and remove the current episode; return its id."""
        return self._call(self._discard, Trigger.Request(), self._timeout_s)

    def mark_success(self, success: bool) -> str:
        """Label the current (or, when idle, the last) episode; return the recorder's message."""
        return self._call(self._mark, SetBool.Request(data=bool(success)), self._timeout_s)

    def _call(self, client: Any, request: Any, timeout_s: float) -> str:
        name = client.srv_name
        if not client.service_is_ready() and not client.wait_for_service(timeout_sec=timeout_s):
            raise RecorderServiceError(
                name, f"not available after {timeout_s:g} s (is the recorder running?)"
            )
        future = client.call_async(request)
        if self._spun_elsewhere:
            done = threading.Event()
            future.add_done_callback(lambda _: done.set())
            done.wait(timeout_s)
        else:
            # An executor of the node's own context: the global one serves only the default context.
            executor = SingleThreadedExecutor(context=self._node.context)
            try:
                rclpy.spin_until_future_complete(self._node, future, executor=executor, timeout_sec=timeout_s)
            finally:
                executor.shutdown()
        if not future.done():
            future.cancel()
            raise RecorderServiceError(name, f"no answer within {timeout_s:g} s")
        response = future.result()
        if response is None:
            raise RecorderServiceError(name, f"call failed: {future.exception()}")
        if not response.success:
            raise RecorderServiceError(name, f"refused: {response.message}")
        return str(response.message)


class StatusListener:
    """Keeps the latest :class:`RecorderStatus` from ``<recorder>/status``; ``callback`` gets each one."""

    def __init__(
        self,
        node: Node,
        *,
        recorder: str,
        callback: Callable[[RecorderStatus], None] | None = None,
    ) -> None:
        self.latest: RecorderStatus | None = None
        self.error = ""  # why the last message could not be read, if it could not
        self._callback = callback
        self._changed = threading.Condition()
        node.create_subscription(
            String, f"{recorder.rstrip('/')}/status", self._on_status, QoSProfile(depth=10)
        )

    def _on_status(self, msg: Any) -> None:
        try:
            status = RecorderStatus.from_json(msg.data)
        except RecorderError as exc:
            self.error = str(exc)
            return
        with self._changed:
            self.latest = status
            self._changed.notify_all()
        if self._callback is not None:
            self._callback(status)

    def wait_for(
        self, predicate: Callable[[RecorderStatus], bool], timeout_s: float
    ) -> RecorderStatus | None:
        """The first status satisfying ``predicate`` within ``timeout_s`` (node spun elsewhere), else None."""
        with self._changed:
            ok = self._changed.wait_for(
                lambda: self.latest is not None and predicate(self.latest), timeout=timeout_s
            )
            return self.latest if ok else None
