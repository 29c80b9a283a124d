"""The executor layer's errors, under :class:`tg_base.TgError`."""

from __future__ import annotations

from tg_base import TgError

__all__ = ["ExecutorError", "WorkerDiedError"]


class ExecutorError(TgError):
    """An executor cannot be made or reached (a bad option, Ray missing, a cluster not running)."""


class WorkerDiedError(ExecutorError):
    """A task's worker process (or its node) died, as many times as the executor retries."""
