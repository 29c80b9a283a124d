"""Errors of a station's node graph: a node missing, refusing or exiting. All derive from :class:`TgError`."""

from __future__ import annotations

from pathlib import Path

from tg_base import TgError

__all__ = [
    "NodeExitedError",
    "SessionError",
]


class SessionError(TgError):
    """A recording session could not go on: a node is missing, refused a request or did not answer."""


class NodeExitedError(SessionError):
    """A node of the session exited; the message names it, its exit code and its log file."""

    def __init__(self, node: str, code: int, log_path: Path, tail: str = "") -> None:
        self.node, self.code, self.log_path = node, code, log_path
        how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
        last = f"; its last lines:\n{tail}" if tail else ""
        super().__init__(f"node {node!r} {how}; its log: {log_path}{last}")
