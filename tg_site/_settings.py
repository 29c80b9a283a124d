"""How one site server runs: store, address, workers and where, limits (``tg site serve``'s options)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tg_exec import ExecutorOptions
from tg_site._errors import SiteError

__all__ = ["SiteSettings", "TlsFiles", "parse_size"]

_UNITS = {"": 1, "B": 1, "K": 1000, "KB": 1000, "M": 1000**2, "MB": 1000**2, "G": 1000**3, "GB": 1000**3}
_UNITS |= {"KIB": 1024, "MIB": 1024**2, "GIB": 1024**3, "T": 1000**4, "TB": 1000**4, "TIB": 1024**4}


def parse_size(text: str) -> int:
    """Bytes in ``text`` (``2GB``, ``500MiB``, ``0``): decimal units, binary ones with an ``i``.

    >>> parse_size("2GB"), parse_size("1.5 MiB"), parse_size("0")
    (2000000000, 1572864, 0)
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", text)
    unit = match.group(2).upper() if match else ""
    if match is None or unit not in _UNITS:
        raise SiteError(f"size {text!r}: write a number with an optional unit, e.g. 2GB, 500MiB or 0")
    return int(float(match.group(1)) * _UNITS[unit])


@dataclass(frozen=True)
class TlsFiles:
    """Certificate chain and private key (PEM) when the server speaks TLS itself."""

    cert: Path
    key: Path


@dataclass(frozen=True)
class SiteSettings:
    """Everything a site server needs to start; ``tg site serve``'s options map one to one.

    >>> SiteSettings(Path("/srv/tg")).port
    8470
    """

    store: Path
    host: str = "127.0.0.1"
    port: int = 8470
    workers: int = 2
    tls: TlsFiles | None = None
    min_free_bytes: int = 2 * 1000**3
    trash_days: float = 30.0
    max_upload_bytes: int = 16 * 1000**3
    requests_per_minute: int = 6000
    """Per token: an uploader sends a chunk per request, so this is high; it stops a runaway client."""
    logins_per_minute: int = 10
    """Per client address, for the console's sign-in (a token typed by a person)."""
    time_zone: str = "UTC"
    """The site's day for "per day" figures; files and the API keep UTC."""
    executor: ExecutorOptions = field(default_factory=ExecutorOptions)
    """Where the arrival checks run (``--executor``, ``--ray-address``); ``workers`` says how many."""

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise SiteError(f"--workers {self.workers}: at least 1 arrival worker is needed")
        if not 0 <= self.port <= 65535:
            raise SiteError(f"--port {self.port}: a TCP port is 0..65535")
        if self.trash_days < 0:
            raise SiteError(f"--trash-days {self.trash_days}: give 0 (purge at once) or more days")
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SiteError(
                f"--time-zone {self.time_zone!r} is not a time zone name; give one such as Asia/Shanghai"
            ) from None
        if self.requests_per_minute < 1 or self.logins_per_minute < 1:
            raise SiteError("rate limits must allow at least 1 request a minute")

    @property
    def url(self) -> str:
        """Where clients reach this server (the bound address; a proxy in front has its own)."""
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def arrival_executor(self) -> ExecutorOptions:
        """:attr:`executor` with :attr:`workers` workers: what the arrival checks run on.

        >>> SiteSettings(Path("/srv/tg"), workers=3).arrival_executor
        ExecutorOptions(kind='local', workers=3, address=None, max_retries=3)
        """
        return replace(self.executor, workers=self.workers)

    def to_json(self) -> dict[str, Any]:
        """A JSON object of every setting; :meth:`from_json` reads it back.

        >>> settings = SiteSettings(Path("/srv/tg"), executor=ExecutorOptions("ray", address="10.0.0.1:6379"))
        >>> SiteSettings.from_json(settings.to_json()) == settings
        True
        """
        out: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        out["store"] = str(self.store)
        out["tls"] = None if self.tls is None else {"cert": str(self.tls.cert), "key": str(self.tls.key)}
        out["executor"] = json.loads(self.executor.to_json())
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SiteSettings:
        tls = data.get("tls")
        executor = json.dumps(data["executor"]) if data.get("executor") is not None else None
        base = cls(Path(data["store"]))
        known = {f.name for f in fields(cls)} - {"store", "tls", "executor"}
        return replace(
            base,
            tls=None if tls is None else TlsFiles(Path(tls["cert"]), Path(tls["key"])),
            executor=ExecutorOptions() if executor is None else ExecutorOptions.from_json(executor),
            **{k: v for k, v in data.items() if k in known},
        )
