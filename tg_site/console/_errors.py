"""The console's errors; each maps to an HTTP status in the site's table (``tg_site._app.STATUS``)."""

from __future__ import annotations

from tg_site._errors import SiteError

__all__ = ["ConsoleError", "CsrfError", "LoginRequiredError"]


class ConsoleError(SiteError):
    """A console request the server cannot do as asked (HTTP 400)."""


class LoginRequiredError(ConsoleError):
    """No valid session: a page answers with a redirect to the sign-in form."""


class CsrfError(ConsoleError):
    """A form without this session's CSRF token (HTTP 403)."""
