"""What every exporter takes besides its source and target, and the shape of an exporter."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from episodes._export._errors import ExportError
from episodes._export._target import ExportResult
from episodes._training import EpisodeFilter, OnMixed, Selection, StreamSelection
from tg_exec import Executor

__all__ = ["MAX_IMAGE_SIDE", "ExportOptions", "Exporter"]

MAX_IMAGE_SIDE = 8192
"""The largest ``image_size`` side (8K is 7680x4320): 100000x100000 failed deep inside PyAV."""


@dataclass(frozen=True, kw_only=True)
class ExportOptions:
    """Which episodes, cameras and ticks an exporter writes; the defaults export everything.

    ``filter`` and ``on_mixed`` select episodes as :func:`select_episodes` does (a
    :class:`Selection` passed as the source is taken as it is); ``state`` and
    ``action`` choose the columns of ``observation.state`` and ``action`` as
    ``EpisodeDataset(state_streams=..., action_streams=...)`` does (``"stream"`` or
    ``"stream:col,col"``; None: the loader's defaults); ``cameras`` names the RGB
    cameras to export (None: all of them); ``image_size`` ``(height, width)`` resizes
    their frames; ``active_range`` keeps the annotated active range of each episode
    only; ``on_episode`` is called with each exported episode's id. ``workers`` is how many
    local processes a LeRobot export encodes episodes on when no executor is given (None: all
    cores, for an export large enough to pay for starting them; a robomimic export runs in the
    calling process).

    >>> import episodes
    >>> options = episodes.ExportOptions(filter=episodes.EpisodeFilter(success=True), cameras=["head"])
    >>> options.cameras, options.filter.success, options.image_size
    (('head',), True, None)
    >>> episodes.export_lerobot("datasets/demo", "exports/demo_lerobot", options)  # doctest: +SKIP
    ExportResult(out=PosixPath('exports/demo_lerobot'), format='lerobot', episodes=4, ...)
    """

    filter: EpisodeFilter = field(default_factory=EpisodeFilter)
    on_mixed: OnMixed = "error"
    state: StreamSelection | None = None
    action: StreamSelection | None = None
    cameras: Sequence[str] | None = None
    image_size: tuple[int, int] | None = None
    active_range: bool = False
    on_episode: Callable[[str], None] | None = None
    workers: int | None = None

    def __post_init__(self) -> None:
        if self.workers is not None and self.workers < 1:
            raise ExportError(f"workers must be at least 1, got {self.workers}")
        if self.image_size is not None and max(self.image_size) > MAX_IMAGE_SIDE:
            raise ExportError(
                f"image_size {self.image_size}: each side must be at most {MAX_IMAGE_SIDE} pixels, "
                "e.g. (240, 320)"
            )
        for name in ("cameras", "state", "action"):  # a list would leave the options mutable and unhashable
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, tuple(value))


class Exporter(Protocol):
    """An exporter: ``(source, out, options, executor)``, as every entry of :data:`EXPORTERS` is.

    ``executor`` runs the per-episode work of a format that splits into some (LeRobot's);
    a format written as one file (robomimic) runs in the calling process and leaves it unused.
    """

    def __call__(
        self,
        source: str | os.PathLike[str] | Selection,
        out: str | os.PathLike[str],
        options: ExportOptions | None = None,
        executor: Executor | None = None,
    ) -> ExportResult: ...
