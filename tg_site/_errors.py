"""Errors of the site server and its clients, under :class:`tg_base.TgError`."""

from __future__ import annotations

from tg_base import TgError

__all__ = ["SiteError"]


class SiteError(TgError):
    """The site server, its store, its catalogue or a site client could not do what was asked."""
