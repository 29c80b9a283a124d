"""Errors of the robot profile and session config formats. All derive from :class:`TgError`."""

from __future__ import annotations

from collections.abc import Sequence

from tg_base import TgError

__all__ = [
    "ConfigError",
    "UnknownProfileError",
]


class ConfigError(TgError):
    """A profile or session file cannot be read or is invalid.

    The message names the file and, for each problem, the field path within it,
    one problem per line: ``launch/x.yaml: cameras.head.width: ...``.
    """


class UnknownProfileError(ConfigError):
    """No robot profile of that name is shipped or on ``TG_PROFILE_PATH``."""

    def __init__(self, name: str, known: Sequence[str], where: str = "") -> None:
        self.name = name
        self.known = tuple(known)
        listed = ", ".join(self.known) if self.known else "(none)"
        prefix = f"{where}: " if where else ""
        super().__init__(
            f"{prefix}unknown robot profile {name!r}; known profiles: {listed} "
            "(shipped in tg_config/profiles/ or found on TG_PROFILE_PATH)"
        )
