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

Besides the format it holds what works on episodes alone: the quality gate
(``validate_episodes``, ``annotate_episodes``), the training loader
(:class:`EpisodeDataset`) and the exporters (LeRobot, robomimic).

Layer: episodes. It imports only ``tg_base``; robot profiles and sessions are
above it (``tg_config`` fills in a :class:`QaConfig`, never the other way).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from episodes._align import Alignment, compute_alignment
from episodes._cache import CACHE_DIRNAME, CacheReport, prepare_cache
from episodes._columns import StreamColumns
from episodes._dataset import EpisodeDataset, Sample
from episodes._dataset_ops import (
    SPLIT_KEYS,
    TRASH_DIR,
    DatasetListing,
    MergeOptions,
    MergeResult,
    SplitOptions,
    SplitResult,
    TrashRecord,
    episode_paths,
    list_dataset,
    merge_datasets,
    remove_episodes,
    restore_episodes,
    split_dataset,
    trashed_episodes,
)
from episodes._errors import (
    CorruptEpisodeError,
    DatasetError,
    EpisodeBusyError,
    EpisodeError,
    EpisodeExistsError,
    EpisodeSkippedWarning,
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
from episodes._image_transform import ImageTransform
from episodes._layout import FORMAT_VERSION, fsync_path
from episodes._maintenance import (
    atomic_update,
    has_pending_update,
    list_episodes,
    realign,
    recover,
    update_in_place,
    update_leftovers,
)
from episodes._normalize import ColumnStats, Normalizer, SampleNormalizer
from episodes._qa._annotate import (
    AnnotationResult,
    EpisodeAnnotations,
    annotate_episode,
    annotate_episodes,
    read_annotations,
)
from episodes._qa._config import (
    DEFAULT_TASK_TEMPLATES,
    SEGMENT_KINDS,
    THRESHOLD_KINDS,
    JointLimit,
    QaConfig,
    TaskTemplate,
    threshold_kinds,
)
from episodes._qa._errors import QaConfigError, StaleStatisticsError
from episodes._qa._findings import CHECKS, CheckInfo, EpisodeReport, Finding, Severity, register_check
from episodes._qa._motion import GripperEvent, Segment
from episodes._qa._report import render_html_report
from episodes._qa._stats import (
    DATASET_STATS_FILE,
    DatasetStats,
    StreamStats,
    load_dataset_stats,
    write_dataset_stats,
)
from episodes._qa._validate import Configure, EpisodeCheck, read_qa, validate_episode, validate_episodes
from episodes._reader import (
    AlignedFrame,
    AlignedInfo,
    AlignedView,
    AnnotationGroup,
    ArraySamples,
    EncodedImage,
    EpisodeMetadata,
    EpisodeReader,
    FrameBytes,
    FrameIndex,
    ImageSamples,
    Provenance,
    StreamInfo,
)
from episodes._reader import open_episode as open
from episodes._sample_index import SampleIndex
from episodes._schema_digest import content_digest
from episodes._spec import (
    REVIEW_STATES,
    ArrayStreamSpec,
    CameraCalibration,
    EpisodeInfo,
    ImageEncoding,
    ImageStreamSpec,
    ImportOrigin,
    JsonValue,
    LabelChange,
    ReviewState,
    RobotInfo,
    Role,
    StreamKind,
    StreamSpec,
)
from episodes._splits import SPLITS_FILE, Splits, load_splits, split_of, update_splits
from episodes._storage import free_bytes, write_error
from episodes._summary import EpisodeSummary, StreamSummary, summarize
from episodes._training import (
    QA_RULES,
    AlignedEpisode,
    EpisodeEntry,
    EpisodeFilter,
    QaRule,
    SampleLayout,
    Selection,
    StreamSelection,
    describe_left_out,
    load_aligned,
    sample_layout,
    scan_episode,
    select_episodes,
    usable_range,
)
from episodes._writer import EpisodeWriter, WriterOptions
from episodes._writer_labels import Relabel, set_labels, set_review
from tg_base import lazy_names

# The exporters and importers need pyarrow and PyAV (about 20 MB of memory and 0.1 s to import):
# loaded at their first use, so a training loader's processes and the QA workers never pay for
# them. The block below says the same to type checkers (tests/episodes/test_facade.py checks it).
if TYPE_CHECKING:
    from episodes._export import (
        EXPORTERS,
        MAX_IMAGE_SIDE,
        Exporter,
        ExportError,
        ExportOptions,
        ExportResult,
        export_lerobot,
        export_robomimic,
    )
    from episodes._import import (
        LEROBOT_NOT_RECONSTRUCTED,
        FramedEpisode,
        Frames,
        frame_stamps,
        import_lerobot,
        write_framed,
    )

_LAZY: dict[str, tuple[str, ...]] = {
    "episodes._export": (
        "EXPORTERS",
        "MAX_IMAGE_SIDE",
        "Exporter",
        "ExportError",
        "ExportOptions",
        "ExportResult",
        "export_lerobot",
        "export_robomimic",
    ),
    "episodes._import": (
        "LEROBOT_NOT_RECONSTRUCTED",
        "FramedEpisode",
        "Frames",
        "frame_stamps",
        "import_lerobot",
        "write_framed",
    ),
}
__getattr__ = lazy_names("episodes", _LAZY, globals())


__all__ = [
    "CACHE_DIRNAME",
    "CHECKS",
    "DATASET_STATS_FILE",
    "DEFAULT_TASK_TEMPLATES",
    "EXPORTERS",
    "FORMAT_VERSION",
    "LEROBOT_NOT_RECONSTRUCTED",
    "MAX_IMAGE_SIDE",
    "QA_RULES",
    "REVIEW_STATES",
    "SEGMENT_KINDS",
    "SPLITS_FILE",
    "SPLIT_KEYS",
    "THRESHOLD_KINDS",
    "TRASH_DIR",
    "AlignedEpisode",
    "AlignedFrame",
    "AlignedInfo",
    "AlignedView",
    "Alignment",
    "AnnotationGroup",
    "AnnotationResult",
    "ArraySamples",
    "ArrayStreamSpec",
    "CacheReport",
    "CameraCalibration",
    "CheckInfo",
    "ColumnStats",
    "Configure",
    "CorruptEpisodeError",
    "DatasetError",
    "DatasetListing",
    "DatasetStats",
    "EncodedImage",
    "EpisodeAnnotations",
    "EpisodeBusyError",
    "EpisodeCheck",
    "EpisodeDataset",
    "EpisodeEntry",
    "EpisodeError",
    "EpisodeExistsError",
    "EpisodeFilter",
    "EpisodeInfo",
    "EpisodeMetadata",
    "EpisodeReader",
    "EpisodeReport",
    "EpisodeSkippedWarning",
    "EpisodeSummary",
    "EpisodeWriteError",
    "EpisodeWriter",
    "ExportError",
    "ExportOptions",
    "ExportResult",
    "Exporter",
    "Finding",
    "FrameBytes",
    "FrameIndex",
    "FramedEpisode",
    "Frames",
    "GripperEvent",
    "ImageEncoding",
    "ImageSamples",
    "ImageStreamSpec",
    "ImageTransform",
    "ImportOrigin",
    "JointLimit",
    "JsonValue",
    "LabelChange",
    "MergeOptions",
    "MergeResult",
    "Normalizer",
    "NotAnEpisodeError",
    "Provenance",
    "QaConfig",
    "QaConfigError",
    "QaRule",
    "Relabel",
    "ReviewState",
    "RobotInfo",
    "Role",
    "Sample",
    "SampleError",
    "SampleIndex",
    "SampleLayout",
    "SampleNormalizer",
    "Segment",
    "Selection",
    "Severity",
    "SplitOptions",
    "SplitResult",
    "Splits",
    "StaleStatisticsError",
    "StorageFullError",
    "StreamColumns",
    "StreamInfo",
    "StreamKind",
    "StreamSelection",
    "StreamSpec",
    "StreamSpecError",
    "StreamStats",
    "StreamSummary",
    "TaskTemplate",
    "TimestampOrderError",
    "TrashRecord",
    "UnknownStreamError",
    "UnsupportedFormatVersionError",
    "WriterClosedError",
    "WriterOptions",
    "annotate_episode",
    "annotate_episodes",
    "atomic_update",
    "compute_alignment",
    "content_digest",
    "describe_left_out",
    "episode_paths",
    "export_lerobot",
    "export_robomimic",
    "frame_stamps",
    "free_bytes",
    "fsync_path",
    "has_pending_update",
    "import_lerobot",
    "is_episode_id",
    "list_dataset",
    "list_episodes",
    "load_aligned",
    "load_dataset_stats",
    "load_splits",
    "merge_datasets",
    "new_episode_id",
    "open",
    "prepare_cache",
    "read_annotations",
    "read_qa",
    "realign",
    "recover",
    "register_check",
    "remove_episodes",
    "render_html_report",
    "restore_episodes",
    "sample_layout",
    "scan_episode",
    "select_episodes",
    "set_labels",
    "set_review",
    "split_dataset",
    "split_of",
    "summarize",
    "threshold_kinds",
    "trashed_episodes",
    "update_in_place",
    "update_leftovers",
    "update_splits",
    "usable_range",
    "validate_episode",
    "validate_episodes",
    "write_dataset_stats",
    "write_error",
    "write_framed",
]
