"""Errors of the quality gate and the annotator."""

from __future__ import annotations

from episodes._errors import EpisodeError

__all__ = ["QaConfigError", "StaleStatisticsError"]


class QaConfigError(EpisodeError, ValueError):
    """A threshold or expectation of :class:`episodes.QaConfig` is out of range."""


class StaleStatisticsError(EpisodeError):
    """A dataset's statistics file does not cover the episodes now in the directory."""
