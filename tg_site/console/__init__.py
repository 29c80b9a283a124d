"""The web console: server-rendered pages for the site's people, served by ``tg site serve`` at ``/``.

Sign in with a token; browse, filter and play episodes; review them (one by one or
through the keyboard-driven queue); define and assign tasks; the dashboard. The
pages call the same code as the ``/api/v1`` routes, in the same process; the
browser's session is a cookie (:mod:`tg_site.console._session`).
"""

from __future__ import annotations

from tg_site.console._errors import ConsoleError, CsrfError, LoginRequiredError
from tg_site.console._mount import mount_console
from tg_site.console._state import REVIEW_REASONS, ConsoleState

__all__ = [
    "REVIEW_REASONS",
    "ConsoleError",
    "ConsoleState",
    "CsrfError",
    "LoginRequiredError",
    "mount_console",
]
