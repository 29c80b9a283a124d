"""The `tg` command line: the top layer, which may import every other package.

The libraries live in their own packages (see the README's Layout section);
the version and the base error live in :mod:`tg_base` and are re-exported here
for scripts that used to import them from this package.
"""

from tg_base import TgError, __version__

__all__ = ["TgError", "__version__"]
