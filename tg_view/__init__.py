"""Episodes in the Rerun viewer: cameras, time series, the robot model posed, events, metadata.

Each episode becomes one Rerun recording (its id is the episode's) on the
``time`` timeline, seconds since the episode's start on the source-stamp clock:

- ``cameras/<stream>``: every frame, still JPEG/PNG encoded (depth in millimetres);
- ``streams/<stream>``: every numeric stream as time series, one series per column,
  named with the column's unit ("l_arm_pitch [rad]");
- ``robot/<name>``: the URDF stored in the episode (or ``ViewOptions.urdf``), each
  joint moved by the recorded joint positions (``robot/joint_transforms/<joint>``);
- ``events/phases``, ``events/gripper``, ``events/qa``: annotation phases, gripper
  events and QA findings as labelled log entries at their times;
- ``metadata``: the episode's labels as a document.

>>> from pathlib import Path
>>> import tg_view
>>> views = tg_view.save_episodes([Path("datasets/demo/01J....h5")], Path("episode.rrd"))  # doctest: +SKIP
>>> views[0].samples["joint_position"], views[0].robot.posed_joints[:2]  # doctest: +SKIP
(2420, ('l_leg_roll', 'l_leg_yaw'))

Layer: viewing, beside recording and simulation. It imports ``tg_base`` and
``episodes`` (only through the reader) and Rerun (the ``[view]`` extra).
"""

from tg_view._errors import ViewError
from tg_view._events import EVENT_ENTITIES, METADATA_ENTITY, EventCounts
from tg_view._robot import ROBOT_ENTITY, RobotView, joint_entity
from tg_view._serve import ServedViewer, serve_episodes
from tg_view._streams import TIMELINE, camera_entity, stream_entity
from tg_view._view import APPLICATION_ID, EpisodeView, ViewOptions, log_episode, new_recording, save_episodes

__all__ = [
    "APPLICATION_ID",
    "EVENT_ENTITIES",
    "METADATA_ENTITY",
    "ROBOT_ENTITY",
    "TIMELINE",
    "EpisodeView",
    "EventCounts",
    "RobotView",
    "ServedViewer",
    "ViewError",
    "ViewOptions",
    "camera_entity",
    "joint_entity",
    "log_episode",
    "new_recording",
    "save_episodes",
    "serve_episodes",
    "stream_entity",
]
