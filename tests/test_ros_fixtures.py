"""The ROS test fixtures keep concurrent tests apart."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_each_test_gets_a_domain_no_concurrent_test_can_take(ros_domain, tmp_path):
    # A second process asking for the same id must find it locked.
    probe = (
        "import fcntl, sys\n"
        f"h = open('/tmp/tg-test-ros-domains/{ros_domain}.lock', 'w')\n"
        "try:\n    fcntl.flock(h, fcntl.LOCK_EX | fcntl.LOCK_NB)\nexcept BlockingIOError:\n    sys.exit(3)\n"
    )
    assert subprocess.run([sys.executable, "-c", probe], check=False).returncode == 3
    assert 100 <= ros_domain <= 232


def test_ros_env_points_child_processes_at_the_domain_and_profile(ros_env, ros_domain):
    assert ros_env["ROS_DOMAIN_ID"] == str(ros_domain)
    assert ros_env["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "LOCALHOST"
    assert "<type>SHM</type>" in Path(ros_env["FASTDDS_DEFAULT_PROFILES_FILE"]).read_text(encoding="utf-8")
