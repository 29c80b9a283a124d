"""The one base exception every Training Ground error derives from."""

__all__ = ["TgError"]


class TgError(Exception):
    """Base class of every error Training Ground raises on purpose.

    Catch this to handle any expected failure (bad input, a corrupt file, a full
    disk) without also swallowing programming errors.
    """
