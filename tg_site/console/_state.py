"""What the console keeps per server (translations, templates) and how a page is rendered."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar, cast

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from tg_site.console._i18n import LANGUAGES, Preferences, Translations
from tg_site.console._session import ConsoleSession

__all__ = ["CACHE_S", "REVIEW_REASONS", "ConsoleState", "console_of", "render", "static_dir"]

T = TypeVar("T")
CACHE_S = 10.0  # the dashboard's figures are per day: ten seconds old is current enough

# The fixed reasons a reviewer picks from (code → English label; the label is a msgid).
REVIEW_REASONS: dict[str, str] = {
    "qa_failure": "QA failure",
    "wrong_task": "Wrong task",
    "operator_error": "Operator error",
    "hardware_fault": "Hardware fault",
    "scene_not_reset": "Scene not reset",
    "other": "Other",
}


def static_dir() -> Path:
    return Path(str(resources.files("tg_site.console").joinpath("static")))


class ConsoleState:
    """The translations, the users' language choices and the page templates."""

    def __init__(self, store: Path) -> None:
        self.translations = Translations.load()
        self.preferences = Preferences(store / "console-preferences.json")
        self.templates = jinja2.Environment(
            loader=jinja2.PackageLoader("tg_site.console", "templates"),
            autoescape=jinja2.select_autoescape(["html"]),
            undefined=jinja2.StrictUndefined,
        )
        self._cache: dict[Hashable, tuple[float, object]] = {}
        self._cache_lock = threading.Lock()

    def cached(self, key: Hashable, compute: Callable[[], T], max_age_s: float = CACHE_S) -> T:
        """``compute()``, or its value from less than ``max_age_s`` ago: figures every user sees alike."""
        now = time.monotonic()
        with self._cache_lock:
            found = self._cache.get(key)
            if found is not None and found[0] > now:
                return cast(T, found[1])
        value = compute()
        with self._cache_lock:
            self._cache[key] = (now + max_age_s, value)
        return value

    def language_of(self, request: Request, session: ConsoleSession | None) -> str:
        accept = request.headers.get("accept-language", "")
        if session is None:
            asked = request.query_params.get("lang", "")
            return asked if asked in LANGUAGES else self.preferences.language("", accept)
        return self.preferences.language(session.info.name, accept)


def console_of(request: Request) -> ConsoleState:
    state: ConsoleState = request.app.state.console
    return state


def render(
    request: Request, session: ConsoleSession | None, template: str, status: int = 200, **context: Any
) -> HTMLResponse:
    """The page ``template`` in the user's language, with who is signed in and the form CSRF token."""
    console = console_of(request)
    language = console.language_of(request, session)
    page = console.templates.get_template(template).render(
        _=console.translations.gettext(language),
        lang=language,
        languages=LANGUAGES,
        session=session,
        csrf=session.csrf if session is not None else context.pop("csrf", ""),
        path=request.url.path,
        reasons=REVIEW_REASONS,
        **context,
    )
    return HTMLResponse(page, status_code=status)
