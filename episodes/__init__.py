"""Training Ground episodes: the on-disk format, its one writer and its one reader.

One HDF5 file per episode (``<ULID>.h5``) in a dataset directory; the layout is
specified in ``datasets/FORMAT.md``.

>>> import numpy as np, tempfile, episodes
>>> spec = episodes.ArrayStreamSpec(
...     "joint_position", episodes.StreamKind.JOINT_POSITION, ("j1", "j2"), ("rad",), rate_hz=100
... )
>>> info = episodes.EpisodeInfo(robot=episodes.RobotInfo("demo"), source="synthetic", task="wave")
>>> root = tempfile.mkdtemp()
>>> with episodes.EpisodeWriter(root, streams=[spec], info=info, aligned_rate_hz=10) as writer:
...     for k in range(100):
...         writer.append("joint_position", k * 10_000_000, [0.01 * k, 0.0])
>>> with episodes.open(writer.final_path) as ep:
...     ep.metadata.status, ep.stream("joint_position").count, ep.aligned.num_frames
('complete', 100, 10)
"""

from episodes._align import Alignment, compute_alignment
from episodes._errors import (
    CorruptEpisodeError,
    EpisodeBusyError,
    EpisodeError,
    EpisodeExistsError,
    EpisodeWriteError,
    NotAnEpisodeError,
    SampleError,
    StorageFullError,
    StreamSpecError,
    TimestampOrderError,
    UnknownStreamError,
    UnsupportedFormatVersionError,
    WriterClosedError,
)
from episodes._ids import is_episode_id, new_episode_id
from episodes._layout import FORMAT_VERSION
from episodes._maintenance import atomic_update, list_episodes, realign, recover
from episodes._reader import (
    AlignedFrame,
    AlignedView,
    ArraySamples,
    EncodedImage,
    EpisodeMetadata,
    EpisodeReader,
    ImageSamples,
    StreamInfo,
)
from episodes._reader import open_episode as open
from episodes._spec import (
    ArrayStreamSpec,
    CameraCalibration,
    EpisodeInfo,
    ImageEncoding,
    ImageStreamSpec,
    JsonValue,
    RobotInfo,
    Role,
    StreamKind,
    StreamSpec,
)
from episodes._summary import EpisodeSummary, StreamSummary, summarize
from episodes._writer import EpisodeWriter

__all__ = [
    "FORMAT_VERSION",
    "AlignedFrame",
    "AlignedView",
    "Alignment",
    "ArraySamples",
    "ArrayStreamSpec",
    "CameraCalibration",
    "CorruptEpisodeError",
    "EncodedImage",
    "EpisodeBusyError",
    "EpisodeError",
    "EpisodeExistsError",
    "EpisodeInfo",
    "EpisodeMetadata",
    "EpisodeReader",
    "EpisodeSummary",
    "EpisodeWriteError",
    "EpisodeWriter",
    "ImageEncoding",
    "ImageSamples",
    "ImageStreamSpec",
    "JsonValue",
    "NotAnEpisodeError",
    "RobotInfo",
    "Role",
    "SampleError",
    "StorageFullError",
    "StreamInfo",
    "StreamKind",
    "StreamSpec",
    "StreamSpecError",
    "StreamSummary",
    "TimestampOrderError",
    "UnknownStreamError",
    "UnsupportedFormatVersionError",
    "WriterClosedError",
    "atomic_update",
    "compute_alignment",
    "is_episode_id",
    "list_episodes",
    "new_episode_id",
    "open",
    "realign",
    "recover",
    "summarize",
]
