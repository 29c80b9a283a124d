"""Every invalid file fails with a ConfigError that names the file and the field."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tg_base import TgError
from tg_config import ConfigError, UnknownProfileError, load_profile, load_session


def _profile(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "tiny",
        "joints": [
            {"name": "l_shoulder", "lower": -1.0, "upper": 1.0, "velocity": 2.0},
            {"name": "l_wrist", "lower": -1.0, "upper": 1.0, "velocity": 2.0},
        ],
        "cameras": [{"name": "head", "width": 64, "height": 48, "rate_hz": 30}],
        "streams": [
            {"name": "joint_position", "kind": "joint_position", "joints": ["l_shoulder"]},
            {"name": "gripper", "kind": "gripper", "names": ["left"]},
            {"name": "action", "kind": "joint_position", "joints": ["l_wrist"]},
        ],
    }
    data.update(changes)
    return data


def _write(tmp_path: Path, data: Any, name: str = "tiny.yaml") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data), encoding="utf-8")
    return path


def _fails(path: Path, pattern: str) -> ConfigError:
    with pytest.raises(ConfigError, match=pattern) as info:
        load_profile(path)
    return info.value


def test_valid_minimal_profile_loads(tmp_path: Path) -> None:
    profile = load_profile(_write(tmp_path, _profile()))
    assert profile.master == "head"


def test_config_errors_are_tg_errors() -> None:
    assert issubclass(ConfigError, TgError)
    assert issubclass(UnknownProfileError, ConfigError)


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: tiny\njoints: [\n  {name: a\n")
    _fails(path, rf"^{re.escape(str(path))}:\d+:\d+: invalid YAML")


def test_duplicate_yaml_key_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: tiny\nname: other\n")
    _fails(path, r"tiny\.yaml:2:1: invalid YAML: duplicate key 'name'")


def test_missing_and_empty_and_non_mapping_files(tmp_path: Path) -> None:
    _fails(tmp_path / "absent.yaml", r"absent\.yaml: no such file")
    _fails(_write(tmp_path, ""), r"tiny\.yaml: the file is empty")
    _fails(_write(tmp_path, "- a\n- b\n"), r"tiny\.yaml: expected a mapping")


def test_unknown_field_names_the_field(tmp_path: Path) -> None:
    data = _profile()
    data["streams"][1]["topc"] = "/x"
    error = _fails(_write(tmp_path, data), r"tiny\.yaml: streams\[1\]\.topc: unknown field 'topc'")
    assert "allowed here: name, kind" in str(error)
    _fails(_write(tmp_path, _profile(colour="red")), r"tiny\.yaml: colour: unknown field")


def test_wrong_type_names_the_field(tmp_path: Path) -> None:
    data = _profile()
    data["cameras"][0]["width"] = "wide"
    _fails(_write(tmp_path, data), r"cameras\[0\]\.width: Input should be a valid integer")


def test_stream_referencing_unknown_joint(tmp_path: Path) -> None:
    data = _profile()
    data["streams"][2]["joints"] = ["l_elbow"]
    _fails(_write(tmp_path, data), r"tiny\.yaml: streams\[2\]\.joints\[0\]: unknown joint 'l_elbow'")


def test_lower_above_upper(tmp_path: Path) -> None:
    data = _profile()
    data["joints"][1].update(lower=2.0, upper=1.0)
    _fails(
        _write(tmp_path, data),
        r"joints\[1\]: joint 'l_wrist': lower \(2\.0\) is greater than upper",
    )


def test_unknown_master_stream(tmp_path: Path) -> None:
    path = _write(tmp_path, _profile(master_stream="chest"))
    error = _fails(path, r"tiny\.yaml: master_stream: unknown stream 'chest'")
    assert "head" in str(error)


def test_bad_field_expression(tmp_path: Path) -> None:
    for bad in ("joint_data..joint_q", "joint_q[1:2", "joint q", "a[x]", ".a"):
        data = _profile()
        data["streams"][0]["field"] = bad
        _fails(_write(tmp_path, data), r"streams\[0\]\.field: field .* must be dotted identifiers")
    for good in ("position", "joint_data.joint_q[12:26]", "a[0].b[:3]", "a[-1]"):
        data = _profile()
        data["streams"][0]["field"] = good
        load_profile(_write(tmp_path, data))


def test_bad_stream_name(tmp_path: Path) -> None:
    data = _profile()
    data["streams"][1]["name"] = "Gripper-State"
    _fails(_write(tmp_path, data), r"streams\[1\]\.name: name 'Gripper-State' must match")


def test_duplicate_names(tmp_path: Path) -> None:
    data = _profile()
    data["joints"][1]["name"] = "l_shoulder"
    data["streams"][2]["joints"] = ["l_shoulder"]
    _fails(_write(tmp_path, data), r"joints\[1\]\.name: duplicate joint name 'l_shoulder'")
    data = _profile()
    data["streams"][1]["name"] = "head"
    _fails(_write(tmp_path, data), r"streams\[1\]\.name: duplicate stream name 'head'")
    data = _profile()
    data["streams"][2]["name"] = "joint_position"
    _fails(_write(tmp_path, data), r"streams\[2\]\.name: duplicate stream name 'joint_position'")


def test_stream_shape_mistakes(tmp_path: Path) -> None:
    data = _profile()
    data["streams"][0] = {"name": "q", "kind": "joint_position", "names": ["x"]}
    _fails(_write(tmp_path, data), r"streams\[0\]\.joints: a joint_position stream must list")
    data = _profile()
    data["streams"][1] = {"name": "g", "kind": "gripper"}
    _fails(_write(tmp_path, data), r"streams\[1\]\.names: a gripper stream must list its names")
    data = _profile()
    data["streams"][1] = {"name": "g", "kind": "generic", "names": ["a", "b"]}
    _fails(_write(tmp_path, data), r"streams\[1\]\.units: a generic stream .* must give units")
    data = _profile()
    data["streams"][1] = {"name": "g", "kind": "generic", "names": ["a", "b"], "units": [1, 2, 3]}
    _fails(_write(tmp_path, data), r"streams\[1\]\.units\[0\]: Input should be a valid string")
    data["streams"][1]["units"] = ["m", "m", "m"]
    _fails(_write(tmp_path, data), r"streams\[1\]\.units: give one unit or one per dimension")
    data = _profile()
    data["streams"][1]["scale"] = 2.0
    _fails(_write(tmp_path, data), r"streams\[1\]\.scale: scale is used only with convert: scale")
    data = _profile()
    data["streams"][1]["kind"] = "camera"
    _fails(_write(tmp_path, data), r"streams\[1\]\.kind: Input should be 'joint_position'")


def test_bad_ros_names(tmp_path: Path) -> None:
    data = _profile()
    data["streams"][0]["topic"] = "joint states"
    _fails(_write(tmp_path, data), r"streams\[0\]\.topic: topic 'joint states' is not a valid")
    data = _profile()
    data["streams"][0]["msg_type"] = "JointState"
    _fails(_write(tmp_path, data), r"streams\[0\]\.msg_type: message type 'JointState' must")


def test_several_problems_one_line_each(tmp_path: Path) -> None:
    data = _profile(aligned_rate_hz=-1)
    data["cameras"][0]["height"] = 0
    error = _fails(_write(tmp_path, data), "aligned_rate_hz")
    lines = str(error).splitlines()
    assert len(lines) == 2
    assert all(line.startswith(f"{tmp_path / 'tiny.yaml'}: ") for line in lines)
    assert any("cameras[0].height: Input should be greater than 0" in line for line in lines)


def test_unknown_profile_lists_known_names() -> None:
    with pytest.raises(UnknownProfileError, match="unknown robot profile 'kuavo_9'") as info:
        load_profile("kuavo_9")
    assert "generic_ros2_arm" in str(info.value)
    assert "sim_humanoid" in info.value.known


def test_session_errors_name_the_file_and_field(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        {"profile": "sim_humanoid", "task": {"name": "t"}, "cameras": {"head": {"width": "x"}}},
        "session.yaml",
    )
    with pytest.raises(ConfigError, match=r"session\.yaml: cameras\.head\.width: Input should be"):
        load_session(path)
    path = _write(tmp_path, {"profile": "sim_humanoid"}, "session.yaml")
    with pytest.raises(ConfigError, match=r"session\.yaml: task: Field required"):
        load_session(path)
    path = _write(tmp_path, {"profile": "sim_humanoid", "task": {"name": "t"}, "seed": -1}, "s.yaml")
    with pytest.raises(ConfigError, match=r"s\.yaml: seed: Input should be greater than or equal"):
        load_session(path)
    bad = {
        "profile": "x",
        "task": {"name": "t"},
        "episode": {"min_duration_s": 9, "max_duration_s": 5},
    }
    with pytest.raises(ConfigError, match=r"episode: min_duration_s \(9\.0\) is greater than"):
        load_session(_write(tmp_path, bad, "s.yaml"))


def test_a_missing_session_config_lists_the_configs_beside_it():
    repo = Path(__file__).resolve().parents[2]
    with pytest.raises(
        ConfigError, match=r"nope\.yaml: no such file; session configs in .*launch/: .*sim_pick_place\.yaml"
    ):
        load_session(repo / "launch" / "nope.yaml")


def test_an_unknown_profile_of_a_session_made_in_code_has_no_placeholder():
    from tg_config import SessionConfig

    with pytest.raises(
        UnknownProfileError, match=r"^unknown robot profile 'nope'; known profiles: .*sim_humanoid"
    ):
        SessionConfig.for_profile("nope").resolve()
