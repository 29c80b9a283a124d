"""A station's process graph: which ROS 2 nodes run, as which processes, over which DDS setup.

:func:`session_graph` and :func:`record_graph` are the one specification of the
nodes a simulated session or a recording station starts (``launch/*.launch.yaml``
is tested equal to them); :class:`NodeProcesses` starts them as child processes
with their logs and stops them SIGINT → SIGTERM → SIGKILL; :func:`write_fastdds_profile`
gives every process the station's Fast DDS profile (shared memory sized to the
largest frame, plus UDPv4).

>>> from pathlib import Path
>>> [node.name for node in session_graph(Path("launch/sim_pick_place.yaml"), out=Path("out"), station="a")]
['sim_bridge', 'scripted_teleop', 'recorder_a']

Layer: station. It may import ``tg_base``, ``episodes`` and ``tg_config``; it
starts the ROS nodes as processes but imports neither them nor rclpy.
"""

from tg_station._dds import fastdds_profile_xml, ros_environment, segment_bytes_for, write_fastdds_profile
from tg_station._errors import NodeExitedError, SessionError
from tg_station._graph import (
    NodeSpec,
    ParameterValue,
    default_station,
    record_graph,
    recorder_name,
    session_graph,
    write_session,
)
from tg_station._processes import NodeProcess, NodeProcesses

__all__ = [
    "NodeExitedError",
    "NodeProcess",
    "NodeProcesses",
    "NodeSpec",
    "ParameterValue",
    "SessionError",
    "default_station",
    "fastdds_profile_xml",
    "record_graph",
    "recorder_name",
    "ros_environment",
    "segment_bytes_for",
    "session_graph",
    "write_fastdds_profile",
    "write_session",
]
