"""Run a site server in this process: uvicorn on one socket, JSON logs on stderr.

The socket is bound before uvicorn starts, so ``--port 0`` works: the line
``tg site: serving <store> at <url>`` on stdout names the port the system gave.
"""

from __future__ import annotations

import json
import logging
import socket
import sys
import time
from dataclasses import replace
from typing import Any

import uvicorn

from tg_site._app import create_app
from tg_site._errors import SiteError
from tg_site._settings import SiteSettings

__all__ = ["JsonFormatter", "bind", "serve"]


class JsonFormatter(logging.Formatter):
    """One JSON object per log line: time (UTC), level, logger, message (and the traceback, if any)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


_LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": JsonFormatter}},
    "handlers": {
        "stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    },
    "loggers": {
        "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "uvicorn.access": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
        "tg_site": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
    },
}


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (0: any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named, not 0: asyncio turns Nagle off (TCP_NODELAY) only on connections of a
    # socket whose proto says TCP. Without it every keep-alive request waited ~40 ms for the
    # client's delayed ACK between the response's header and body writes.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise SiteError(
            f"cannot listen on {host}:{port} ({exc.strerror}); another server there? pick another --port"
        ) from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve(settings: SiteSettings) -> None:
    """Serve ``settings.store`` until SIGINT or SIGTERM (store and catalogue made on first start)."""
    for path in () if settings.tls is None else (settings.tls.cert, settings.tls.key):
        if not path.is_file():
            raise SiteError(f"{path}: no such TLS file; give --tls-cert and --tls-key as PEM files")
    sock = bind(settings.host, settings.port)
    bound = replace(settings, port=sock.getsockname()[1])
    config = uvicorn.Config(
        create_app(bound),
        log_config=_LOGGING,
        ssl_certfile=None if bound.tls is None else str(bound.tls.cert),
        ssl_keyfile=None if bound.tls is None else str(bound.tls.key),
        timeout_graceful_shutdown=10,
    )
    print(f"tg site: serving {bound.store} at {bound.url}", flush=True)
    uvicorn.Server(config).run(sockets=[sock])
    sys.stdout.flush()
