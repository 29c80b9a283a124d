"""Robot profiles and session configs: the two YAML files every recording starts from.

A *robot profile* (``collectors/profiles/<name>.yaml``, or a folder on
``TG_PROFILE_PATH``) describes a robot once: joints and limits, cameras,
grippers, and the streams a recording takes from it with their ROS sources.
A *session config* (``launch/<session>.yaml``) picks a profile and a task and
overrides what one session needs (smaller images, other rates, output folder).
``collectors/PROFILES.md`` documents every field of both.

Run from the repository root:

>>> from collectors import load_profile, load_session
>>> profile = load_profile("sim_humanoid")
>>> len(profile.joints), len(profile.moving_joints), profile.master
(28, 16, 'head')
>>> session = load_session("launch/sim_pick_place.yaml")
>>> run = session.resolve(profile)
>>> run.aligned_rate_hz, run.dataset, str(run.out)
(15.0, 'sim_pick_place', 'datasets/sim_pick_place')
>>> head = run.stream("head")
>>> head.width, head.height, head.rate_hz
(320, 240, 15.0)
>>> run.stream("joint_position").rate_hz
200.0

Every problem in a file raises :class:`ConfigError` whose message names the
file and the field, one line per problem.

Bags recorded on a robot become episodes with :func:`ingest_bag` (one bag) or
:func:`ingest_bags` (many, in parallel processes), driven by the same profile
(``tg ingest``). The profile's field expressions are compiled against message
schemas by :func:`compile_fields`, which reads plain message objects and so
serves the live recorder as well: :class:`LiveRecorder` is the ROS-free core of
the ``tg_recorder`` node (a profile's topics into episodes, bad-input
diagnostics, the :class:`RecorderStatus` it publishes).
"""

from collectors._dds import fastdds_profile_xml, ros_environment, segment_bytes_for, write_fastdds_profile
from collectors._errors import (
    BagError,
    BagReadError,
    ConfigError,
    FieldError,
    MessageDefinitionError,
    NodeExitedError,
    RecorderError,
    RecorderServiceError,
    RecorderStateError,
    SessionError,
    TopicError,
    UnknownProfileError,
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
from collectors._frames import compressed_frame, raw_frame
from collectors._graph import NodeSpec, ParameterValue, record_graph, session_graph, write_session
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
from collectors._loading import PROFILE_PATH_ENV, list_profiles, load_profile
from collectors._processes import NodeProcess, NodeProcesses
from collectors._profile import Camera, Gripper, Joint, RobotProfile, Stream
from collectors._qa_config import EpisodeQaConfigs, QaSettings, qa_config
from collectors._session import (
    CameraOverride,
    EpisodeLimits,
    ResolvedSession,
    SessionConfig,
    SimSettings,
    TaskConfig,
    load_session,
)
from collectors._sim_collect import SimEpisodeRecord, collect_sim
from collectors._synthetic import record_synthetic_episode

__all__ = [
    "PROFILE_PATH_ENV",
    "STATE_IDLE",
    "STATE_RECORDING",
    "BagError",
    "BagFailure",
    "BagReadError",
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
    "IngestOptions",
    "IngestResult",
    "IngestSummary",
    "Joint",
    "LiveRecorder",
    "MessageDefinitionError",
    "NodeExitedError",
    "NodeProcess",
    "NodeProcesses",
    "NodeSpec",
    "ParameterValue",
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
    "SessionError",
    "SimEpisodeRecord",
    "SimSettings",
    "StampReader",
    "Stream",
    "TaskConfig",
    "TopicError",
    "TopicPlan",
    "TopicStatus",
    "UnknownProfileError",
    "bag_sizes",
    "collect_sim",
    "compile_fields",
    "compressed_frame",
    "fastdds_profile_xml",
    "header_stamp_reader",
    "ingest_bag",
    "ingest_bags",
    "list_profiles",
    "load_profile",
    "load_session",
    "qa_config",
    "raw_frame",
    "record_graph",
    "record_synthetic_episode",
    "ros2_field_type",
    "ros_environment",
    "segment_bytes_for",
    "session_graph",
    "topic_types",
    "write_fastdds_profile",
    "write_session",
]
