"""Recording: robot bags and live ROS 2 topics into episodes, driven by a robot profile.

Bags recorded on a robot become episodes with :func:`ingest_bag` (one bag) or
:func:`ingest_bags` (many, on local processes or a Ray cluster: :mod:`tg_exec`), driven by the profile
(``tg ingest``). The profile's field expressions are compiled against message
schemas by :func:`compile_fields`, which reads plain message objects and so
serves the live recorder as well: :class:`LiveRecorder` is the ROS-free core of
the ``tg_recorder`` node (a profile's topics into episodes, bad-input
diagnostics, the :class:`RecorderStatus` it publishes).

Profiles and sessions are :mod:`tg_config`'s; their names are re-exported here
because every recording starts from them (``collectors.load_session`` in the README):

>>> from collectors import load_profile, load_session
>>> load_session("launch/sim_pick_place.yaml").resolve(load_profile("sim_humanoid")).aligned_rate_hz
15.0

Layer: recording. It may import ``tg_base``, ``episodes`` and ``tg_config``; it never
imports ``sim_envs`` (simulation), ``tg_station``, the ROS nodes or the CLI, and
rclpy never: the ROS layer hands it plain message objects.
"""

from collectors._aloha import AlohaOptions, find_aloha_files, import_aloha
from collectors._errors import (
    BagError,
    BagReadError,
    FieldError,
    ImportFormatError,
    MessageDefinitionError,
    RecorderError,
    RecorderServiceError,
    RecorderStateError,
    TopicError,
)
from collectors._fields import (
    FieldReader,
    FieldType,
    Schemas,
    StampReader,
    compile_fields,
    header_stamp_reader,
    ros2_field_type,
)
from collectors._find import BagSearch, SkippedBag, find_bags
from collectors._frames import compressed_frame, raw_frame
from collectors._ingest import (
    BagFailure,
    IngestOptions,
    IngestResult,
    IngestSummary,
    bag_sizes,
    ingest_bag,
    ingest_bags,
)
from collectors._live import (
    STATE_IDLE,
    STATE_RECORDING,
    CameraIntrinsics,
    EpisodeLabels,
    LiveRecorder,
    Publisher,
    RecorderStatus,
    TopicPlan,
    TopicStatus,
    topic_types,
)
from collectors._live_health import HealthOptions
from collectors._resume import InterruptedIngest, interrupted_ingests, remove_interrupted
from tg_config import (
    PROFILE_PATH_ENV,
    Camera,
    CameraOverride,
    ConfigError,
    EpisodeLimits,
    EpisodeQaConfigs,
    Gripper,
    Joint,
    QaSettings,
    ResolvedSession,
    RobotProfile,
    SessionConfig,
    SimSettings,
    Stream,
    TaskConfig,
    UnknownProfileError,
    list_profiles,
    load_profile,
    load_session,
    qa_config,
)

__all__ = [
    "PROFILE_PATH_ENV",
    "STATE_IDLE",
    "STATE_RECORDING",
    "AlohaOptions",
    "BagError",
    "BagFailure",
    "BagReadError",
    "BagSearch",
    "Camera",
    "CameraIntrinsics",
    "CameraOverride",
    "ConfigError",
    "EpisodeLabels",
    "EpisodeLimits",
    "EpisodeQaConfigs",
    "FieldError",
    "FieldReader",
    "FieldType",
    "Gripper",
    "HealthOptions",
    "ImportFormatError",
    "IngestOptions",
    "IngestResult",
    "IngestSummary",
    "InterruptedIngest",
    "Joint",
    "LiveRecorder",
    "MessageDefinitionError",
    "Publisher",
    "QaSettings",
    "RecorderError",
    "RecorderServiceError",
    "RecorderStateError",
    "RecorderStatus",
    "ResolvedSession",
    "RobotProfile",
    "Schemas",
    "SessionConfig",
    "SimSettings",
    "SkippedBag",
    "StampReader",
    "Stream",
    "TaskConfig",
    "TopicError",
    "TopicPlan",
    "TopicStatus",
    "UnknownProfileError",
    "bag_sizes",
    "compile_fields",
    "compressed_frame",
    "find_aloha_files",
    "find_bags",
    "header_stamp_reader",
    "import_aloha",
    "ingest_bag",
    "ingest_bags",
    "interrupted_ingests",
    "list_profiles",
    "load_profile",
    "load_session",
    "qa_config",
    "raw_frame",
    "remove_interrupted",
    "ros2_field_type",
    "topic_types",
]
