"""The console's languages: English (the message ids) and Simplified Chinese, from gettext catalogues.

The ``.po`` files ship as package data and are read with Babel when the server
starts, so no compile step runs outside pip. Each user's choice is kept in the
store (``console-preferences.json``), so it follows them from browser to browser.

>>> books = Translations.load()
>>> books.gettext("zh_Hans")("Episodes")
'片段'
>>> books.gettext("en")("Episodes")
'Episodes'
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path

from babel.messages.pofile import read_po

from tg_site.console._errors import ConsoleError

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "Preferences", "Translations"]

LANGUAGES: Mapping[str, str] = {"en": "English", "zh_Hans": "简体中文"}
DEFAULT_LANGUAGE = "en"


class Translations:
    """msgid → text per language; an untranslated message shows in English."""

    def __init__(self, books: Mapping[str, Mapping[str, str]]) -> None:
        self._books = books

    @classmethod
    def load(cls) -> Translations:
        books: dict[str, dict[str, str]] = {}
        for language in LANGUAGES:
            po = resources.files("tg_site.console").joinpath(f"locale/{language}/LC_MESSAGES/console.po")
            if not po.is_file():
                books[language] = {}
                continue
            with po.open("rb") as handle:
                catalog = read_po(handle, locale=language.replace("_Hans", ""))
            books[language] = {str(m.id): str(m.string) for m in catalog if m.id and m.string}
        return cls(books)

    def gettext(self, language: str) -> Callable[[str], str]:
        book = self._books.get(language, {})
        return lambda message: book.get(message, message)

    def messages(self, language: str) -> Mapping[str, str]:
        return self._books.get(language, {})


class Preferences:
    """Each user's console language, by token name, in a small JSON file of the store."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            loaded = {}
        self._languages: dict[str, str] = {
            k: v for k, v in loaded.get("languages", {}).items() if v in LANGUAGES
        }

    def language(self, user: str, accept_language: str = "") -> str:
        """The user's saved choice, else Chinese when the browser asks for it first, else English."""
        saved = self._languages.get(user)
        if saved is not None:
            return saved
        first = accept_language.split(",")[0].strip().lower()
        return "zh_Hans" if first.startswith("zh") else DEFAULT_LANGUAGE

    def set_language(self, user: str, language: str) -> None:
        if language not in LANGUAGES:
            raise ConsoleError(f"language {language!r}: choose one of {', '.join(LANGUAGES)}")
        with self._lock:
            self._languages[user] = language
            temp = self._path.with_suffix(".tmp")
            temp.write_text(json.dumps({"languages": self._languages}, ensure_ascii=False), encoding="utf-8")
            os.replace(temp, self._path)
