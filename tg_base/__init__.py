"""The bottom layer: what every Training Ground package shares, and nothing else.

It holds the version and :class:`TgError`, the root of every error we raise on
purpose. It imports nothing of ours, so any package may import it.

>>> from tg_base import TgError, __version__
>>> issubclass(TgError, Exception), __version__.count(".")
(True, 2)
"""

from tg_base._errors import TgError
from tg_base._lazy import lazy_names
from tg_base._version import __version__

__all__ = ["TgError", "__version__", "lazy_names"]
