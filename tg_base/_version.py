"""The version of every Training Ground package (one release, one number)."""

__version__ = "0.1.0"
