"""Episodes served to a browser: Rerun's gRPC server holds the recordings, its web viewer shows them.

For machines without a display (a training server): ``tg view --serve`` and open
the printed address, or forward the two ports over SSH.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import rerun as rr

import episodes
from tg_view._errors import ViewError
from tg_view._view import EpisodeView, ViewOptions, log_episode, new_recording

__all__ = ["DEFAULT_GRPC_PORT", "DEFAULT_WEB_PORT", "ServedViewer", "serve_episodes"]

DEFAULT_GRPC_PORT = 9876
DEFAULT_WEB_PORT = 9090


@dataclass
class ServedViewer:
    """The running servers and what they hold; they stop with :meth:`close` (or this process)."""

    grpc_url: str
    web_url: str
    views: list[EpisodeView]
    _recordings: list[rr.RecordingStream] = field(default_factory=list, repr=False)

    def close(self) -> None:
        """Disconnect every recording; the gRPC server goes with the first one."""
        for recording in reversed(self._recordings):
            recording.flush()
            recording.disconnect()
        self._recordings.clear()


def serve_episodes(
    paths: Sequence[Path],
    options: ViewOptions | None = None,
    *,
    grpc_port: int = DEFAULT_GRPC_PORT,
    web_port: int = DEFAULT_WEB_PORT,
) -> ServedViewer:
    """Log every episode (one recording each) into a gRPC server on ``grpc_port`` and host the
    web viewer on ``web_port``; returns at once, the servers run until ``close()`` or exit."""
    _check_free(grpc_port, "--grpc-port")
    _check_free(web_port, "--web-port")
    recordings: list[rr.RecordingStream] = []
    views: list[EpisodeView] = []
    url = ""
    for path in paths:
        with episodes.open(path) as reader:
            recording = new_recording(reader.metadata.episode_id)
        if not recordings:
            # The first recording's server buffers everything, so a browser opened later sees it all.
            url = recording.serve_grpc(grpc_port=grpc_port)
        else:
            recording.connect_grpc(url)
        recordings.append(recording)
        views.append(log_episode(path, recording, options))
        recording.flush()
    rr.serve_web_viewer(web_port=web_port, open_browser=False, connect_to=url)
    web_url = f"http://127.0.0.1:{web_port}/?url={quote(url, safe='')}"
    return ServedViewer(url, web_url, views, recordings)


def _check_free(port: int, option: str) -> None:
    """Refuse a port something already listens on: Rerun's gRPC server only logs that it could not."""
    with socket.socket() as probe:
        try:
            probe.bind(("0.0.0.0", port))  # where the servers listen: every interface
        except OSError as exc:
            raise ViewError(f"port {port} is taken ({exc.strerror}); pick another with {option}") from None
