"""The DDS settings every process of a recording session runs with.

Fast DDS's default shared-memory segment is smaller than one VGA frame, so
large images fall back to fragmented UDP, and under best-effort QoS (what
camera drivers use) a lost fragment loses the frame: 93% of 640x480 frames
were lost that way on this project's machines. A participant profile whose
segment holds several of the session's largest messages, plus UDPv4 for
everything that leaves the machine, received every frame. Each process a
session starts gets that profile through ``FASTDDS_DEFAULT_PROFILES_FILE``;
``launch/fastdds_station.xml`` is the same profile for a robot PC.

>>> env = ros_environment(domain_id=7, profile_file=Path("/tmp/p.xml"), localhost_only=True, base={})
>>> env["ROS_DOMAIN_ID"], env["ROS_AUTOMATIC_DISCOVERY_RANGE"], env["FASTDDS_DEFAULT_PROFILES_FILE"]
('7', 'LOCALHOST', '/tmp/p.xml')
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from episodes import ImageStreamSpec, StreamKind, StreamSpec
from tg_config._errors import ConfigError

__all__ = [
    "DEFAULT_SEGMENT_BYTES",
    "fastdds_profile_xml",
    "ros_environment",
    "segment_bytes_for",
    "write_fastdds_profile",
]

# 32 MiB: what was measured to deliver three VGA cameras at 30 Hz without a loss.
DEFAULT_SEGMENT_BYTES = 32 * 1024 * 1024
# Frames in flight per camera that the segment must hold at once (publisher and
# subscriber histories overlap while a slow subscriber catches up).
_FRAMES_IN_FLIGHT = 8
_MAX_DOMAIN_ID = 232  # Fast DDS maps domain ids above this to ports outside the valid range.


def segment_bytes_for(streams: Iterable[StreamSpec]) -> int:
    """A shared-memory segment size that holds several raw frames of the largest camera.

    >>> from episodes import ImageStreamSpec
    >>> segment_bytes_for([ImageStreamSpec("head", width=1920, height=1080)]) // 2**20
    48
    """
    largest = max(
        (
            s.width * s.height * s.channels * (2 if s.kind is StreamKind.DEPTH else 1)
            for s in streams
            if isinstance(s, ImageStreamSpec)
        ),
        default=0,
    )
    needed = largest * _FRAMES_IN_FLIGHT
    mib = 1024 * 1024
    return max(DEFAULT_SEGMENT_BYTES, -(-needed // mib) * mib)


def fastdds_profile_xml(*, segment_bytes: int = DEFAULT_SEGMENT_BYTES) -> str:
    """A Fast DDS participant profile: a shared-memory transport of ``segment_bytes``, then UDPv4."""
    if segment_bytes <= 0:
        raise ConfigError(f"shared-memory segment size must be positive, got {segment_bytes}")
    return f"""<?xml version="1.0" encoding="UTF-8" ?>
<!-- Training Ground station profile: a shared-memory segment larger than the largest
     image, so best-effort camera topics are not lost as fragmented UDP, plus UDPv4 for
     peers on other machines. Point FASTDDS_DEFAULT_PROFILES_FILE at this file in
     every process of a station (recorder, drivers, teleoperation). -->
<dds xmlns="http://www.eprosima.com">
  <profiles>
    <transport_descriptors>
      <transport_descriptor>
        <transport_id>tg_shm</transport_id>
        <type>SHM</type>
        <segment_size>{segment_bytes}</segment_size>
      </transport_descriptor>
      <transport_descriptor>
        <transport_id>tg_udp</transport_id>
        <type>UDPv4</type>
      </transport_descriptor>
    </transport_descriptors>
    <participant profile_name="tg_station" is_default_profile="true">
      <rtps>
        <userTransports>
          <transport_id>tg_shm</transport_id>
          <transport_id>tg_udp</transport_id>
        </userTransports>
        <useBuiltinTransports>false</useBuiltinTransports>
      </rtps>
    </participant>
  </profiles>
</dds>
"""


def write_fastdds_profile(directory: Path, *, segment_bytes: int = DEFAULT_SEGMENT_BYTES) -> Path:
    """Write the profile into ``directory`` (created if needed) and return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"fastdds_station_{segment_bytes}.xml"
    path.write_text(fastdds_profile_xml(segment_bytes=segment_bytes), encoding="utf-8")
    return path


def ros_environment(
    *,
    domain_id: int,
    profile_file: Path,
    localhost_only: bool,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment for a session's ROS 2 processes: ``base`` (default ``os.environ``) plus DDS settings.

    Each station of a site gets its own ``domain_id`` so stations cannot hear
    each other; tests restrict discovery to this machine as well.
    """
    if not 0 <= domain_id <= _MAX_DOMAIN_ID:
        raise ConfigError(f"ROS_DOMAIN_ID must be in 0..{_MAX_DOMAIN_ID}, got {domain_id}")
    env = dict(os.environ if base is None else base)
    env["ROS_DOMAIN_ID"] = str(domain_id)
    env["RMW_IMPLEMENTATION"] = "rmw_fastrtps_cpp"
    env["FASTDDS_DEFAULT_PROFILES_FILE"] = str(profile_file)
    # Jazzy and later read the discovery range (Humble's ROS_LOCALHOST_ONLY is deprecated there).
    env["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST" if localhost_only else "SUBNET"
    return env
