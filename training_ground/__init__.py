"""Training Ground: record, validate and load humanoid teleoperation episodes.

The libraries live in their own packages: :mod:`episodes` (the on-disk format,
its writer and reader), :mod:`collectors` (robot profiles, session configs,
recording). This package holds what they share: the version and the base error.
"""

from training_ground.errors import TgError

__version__ = "0.1.0"

__all__ = ["TgError", "__version__"]
