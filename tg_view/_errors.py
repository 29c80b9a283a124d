"""Errors of the episode viewer. All derive from :class:`TgError`."""

from __future__ import annotations

from tg_base import TgError

__all__ = ["ViewError"]


class ViewError(TgError):
    """An episode cannot be shown as asked: a missing URDF file, Rerun not installed, a bad output path."""
