"""Errors of the simulated training ground. All derive from :class:`TgError`."""

from __future__ import annotations

from collections.abc import Sequence

from tg_base import TgError

__all__ = ["SimError", "UnknownNameError", "UnreachableError"]


class SimError(TgError):
    """The simulation cannot run as configured (a robot, task or stream it cannot provide)."""


class UnknownNameError(SimError):
    """No robot, task or operator of that name is registered; the message lists the known ones."""

    def __init__(self, what: str, name: str, known: Sequence[str], where: str = "") -> None:
        self.name = name
        self.known = tuple(known)
        prefix = f"{where}: " if where else ""
        super().__init__(
            f"{prefix}unknown {what} {name!r}; known {what}s: {', '.join(self.known) or '(none)'}"
        )


class UnreachableError(SimError):
    """Inverse kinematics found no posture that puts a gripper at the target pose.

    A scripted operator turns it into a failed episode (``success=false``) rather than a crash.
    """
