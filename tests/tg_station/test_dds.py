"""The DDS settings a session's processes run with."""

from __future__ import annotations

from pathlib import Path

import pytest

from episodes import ArrayStreamSpec, ImageStreamSpec, StreamKind
from tg_config import ConfigError
from tg_station import fastdds_profile_xml, ros_environment, segment_bytes_for, write_fastdds_profile

ROOT = Path(__file__).resolve().parents[2]


def test_the_robot_pc_profile_in_launch_is_the_one_sessions_use():
    assert (ROOT / "launch" / "fastdds_station.xml").read_text(encoding="utf-8") == fastdds_profile_xml()


def test_the_segment_holds_several_of_the_largest_frames():
    vga = ImageStreamSpec("head", width=640, height=480)
    assert segment_bytes_for([vga]) == 32 * 2**20  # the measured default covers VGA
    full_hd = ImageStreamSpec("head", width=1920, height=1080)
    names = tuple(f"j{i}" for i in range(28))
    joints = ArrayStreamSpec("q", kind=StreamKind.JOINT_POSITION, names=names, units=("rad",) * 28)
    assert segment_bytes_for([joints, vga, full_hd]) >= 8 * 1920 * 1080 * 3
    assert segment_bytes_for([joints]) == 32 * 2**20


def test_written_profile_declares_shm_with_the_segment_then_udp(tmp_path):
    path = write_fastdds_profile(tmp_path / "dds", segment_bytes=64 * 2**20)
    text = path.read_text(encoding="utf-8")
    assert f"<segment_size>{64 * 2**20}</segment_size>" in text
    assert text.index("<type>SHM</type>") < text.index("<type>UDPv4</type>")
    assert "<useBuiltinTransports>false</useBuiltinTransports>" in text


def test_environment_sets_domain_profile_and_discovery_range(tmp_path):
    profile = tmp_path / "p.xml"
    env = ros_environment(domain_id=12, profile_file=profile, localhost_only=False, base={"A": "1"})
    assert env == {
        "A": "1",
        "ROS_DOMAIN_ID": "12",
        "RMW_IMPLEMENTATION": "rmw_fastrtps_cpp",
        "FASTDDS_DEFAULT_PROFILES_FILE": str(tmp_path / "p.xml"),
        "ROS_AUTOMATIC_DISCOVERY_RANGE": "SUBNET",
    }


@pytest.mark.parametrize("domain_id", [-1, 233])
def test_out_of_range_domain_id_is_refused(domain_id, tmp_path):
    with pytest.raises(ConfigError, match=r"ROS_DOMAIN_ID must be in 0\.\.232, got"):
        ros_environment(domain_id=domain_id, profile_file=tmp_path / "p.xml", localhost_only=True)


def test_non_positive_segment_is_refused():
    with pytest.raises(ConfigError, match="segment size must be positive, got 0"):
        fastdds_profile_xml(segment_bytes=0)
