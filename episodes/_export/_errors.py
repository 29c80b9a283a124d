"""Errors of the exporters."""

from __future__ import annotations

from episodes._errors import EpisodeError

__all__ = ["ExportError"]


class ExportError(EpisodeError):
    """A dataset cannot be exported as asked (target exists, no episodes, layouts that differ...)."""
