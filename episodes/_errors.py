"""Errors of the episode format, writer and reader. All derive from :class:`TgError`."""

from __future__ import annotations

from tg_base import TgError

__all__ = [
    "CorruptEpisodeError",
    "DatasetError",
    "EpisodeBusyError",
    "EpisodeError",
    "EpisodeExistsError",
    "EpisodeSkippedWarning",
    "EpisodeWriteError",
    "NotAnEpisodeError",
    "SampleError",
    "StorageFullError",
    "StreamSpecError",
    "TimestampOrderError",
    "UnknownStreamError",
    "UnsupportedFormatVersionError",
    "WriterClosedError",
]


class EpisodeError(TgError):
    """Any problem with an episode file or with what is being written to one."""


class StreamSpecError(EpisodeError, ValueError):
    """A stream, camera or episode declaration is invalid."""


class EpisodeExistsError(EpisodeError, FileExistsError):
    """The writer would overwrite an episode; it never does."""


class NotAnEpisodeError(EpisodeError):
    """The path exists but is not a Training Ground episode."""


class CorruptEpisodeError(EpisodeError):
    """The file is truncated, damaged or missing parts the format requires."""


class UnsupportedFormatVersionError(EpisodeError):
    """The file was written by a newer version of the format than this reader knows."""


class UnknownStreamError(EpisodeError, KeyError):
    """A stream name that the episode does not declare."""

    def __str__(self) -> str:  # KeyError would print the message with quotes around it
        return str(self.args[0]) if self.args else ""


class SampleError(EpisodeError, ValueError):
    """A sample was rejected (wrong shape or type); nothing already written is affected."""


class TimestampOrderError(SampleError):
    """A sample's timestamp is earlier than the previous sample's in the same stream."""


class WriterClosedError(EpisodeError):
    """The writer was used after it was closed, aborted or discarded."""


class EpisodeWriteError(EpisodeError, OSError):
    """Writing to disk failed; the data flushed before the failure is still on disk."""


class StorageFullError(EpisodeWriteError):
    """The disk (or the file-size limit) is full."""


class EpisodeBusyError(EpisodeError):
    """The episode is still being recorded by a live process."""


class DatasetError(EpisodeError):
    """A dataset directory cannot be loaded as asked (no episodes, mixed robots, an unknown stream...)."""


class EpisodeSkippedWarning(UserWarning):
    """An episode file of a dataset was left out (unreadable); the message names it and says why."""
