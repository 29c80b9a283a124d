"""Message classes by type name: a type whose package is missing is a clear ConfigError."""

from __future__ import annotations

import pytest

pytest.importorskip("sensor_msgs.msg")

from tg_recorder._messages import message_class, schemas_for

from tg_config import ConfigError


def test_schemas_cover_nested_message_types():
    schemas = schemas_for(["sensor_msgs/msg/Imu"])
    assert [name for name, _ in schemas["geometry_msgs/msg/Quaternion"]] == ["x", "y", "z", "w"]
    assert "std_msgs/msg/Header" in schemas


def test_a_message_type_that_is_not_installed_names_the_module():
    with pytest.raises(
        ConfigError, match=r"message type nope_msgs/msg/Thing: cannot import nope_msgs\.msg\.Thing"
    ):
        message_class("nope_msgs/msg/Thing")
