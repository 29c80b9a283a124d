"""Exporters: a dataset directory as a LeRobot dataset or a robomimic file.

Each format is one function taking ``(source, out, options)``, the options one
:class:`ExportOptions`; :data:`EXPORTERS` maps a format's name to it.

>>> sorted(EXPORTERS)
['lerobot', 'robomimic']
"""

from __future__ import annotations

from episodes._export._errors import ExportError
from episodes._export._lerobot import export_lerobot
from episodes._export._options import MAX_IMAGE_SIDE, Exporter, ExportOptions
from episodes._export._robomimic import export_robomimic
from episodes._export._target import ExportResult

__all__ = [
    "EXPORTERS",
    "MAX_IMAGE_SIDE",
    "ExportError",
    "ExportOptions",
    "ExportResult",
    "Exporter",
    "export_lerobot",
    "export_robomimic",
]

EXPORTERS: dict[str, Exporter] = {
    "lerobot": export_lerobot,
    "robomimic": export_robomimic,
}
"""Format name -> exporter; every exporter takes ``(source, out, options)``."""
