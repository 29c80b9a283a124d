"""From a robot profile and a session config to the quality gate's expectations."""

from __future__ import annotations

import pickle
import typing
from pathlib import Path

import pytest
from pydantic import ValidationError

from episodes import SEGMENT_KINDS, QaConfig, QaConfigError, threshold_kinds
from tg_config import (
    ConfigError,
    EpisodeLimits,
    EpisodeQaConfigs,
    QaSettings,
    UnknownProfileError,
    load_profile,
    load_session,
    qa_config,
)
from tg_config._qa_settings import SegmentKind

REPO = Path(__file__).resolve().parents[2]
SESSION = REPO / "launch/sim_pick_place.yaml"


def test_profile_alone_gives_limits_motion_and_its_low_dimensional_streams():
    profile = load_profile("sim_humanoid")
    qa = qa_config(profile)
    assert set(qa.joint_limits) == set(profile.joint_names)
    limit = qa.joint_limits["l_arm_pitch"]
    assert (limit.lower, limit.upper, limit.velocity) == (-3.1, 1.6, 5.0)
    assert qa.moving_joints == frozenset(profile.moving_joints) and "l_knee" not in qa.moving_joints
    # A session may switch cameras off: without one, only the profile's other streams are required.
    assert set(qa.required_streams) == {s.name for s in profile.streams if s.required}
    assert qa.expected_rates_hz == {}  # each file's declared rates are expected
    assert (qa.min_duration_s, qa.max_duration_s) == (
        EpisodeLimits().min_duration_s,
        EpisodeLimits().max_duration_s,
    )


def test_session_adds_its_streams_rates_bounds_and_task():
    session = load_session(SESSION)
    qa = qa_config(load_profile("sim_humanoid"), session)
    assert {"head", "wrist_left", "joint_position"} <= set(qa.required_streams)
    assert qa.expected_rates_hz["joint_position"] == 200.0 and qa.expected_rates_hz["head"] == 15.0
    assert qa.expected_rates_hz["action_arm"] == 100.0
    assert (qa.min_duration_s, qa.max_duration_s) == (1.0, 60.0)
    template = qa.template("pick_place")
    assert template.instruction == "put the red cube in the blue bin" and template.label("grasp") == "grasp"
    run = session.resolve()  # a ResolvedSession is accepted too
    assert qa_config(run.profile, run) == qa


def test_qa_sections_set_thresholds_and_the_session_wins():
    session = load_session(SESSION)
    profile = load_profile("sim_humanoid")
    # The `qa:` field of profiles and sessions holds a QaSettings (see tg_config/_qa_config.py).
    profile = profile.model_copy(
        update={"qa": QaSettings(gap_factor=8, stuck_window_s=9, moving_streams=("gripper_state",))}
    )
    session = session.model_copy(
        update={
            "qa": QaSettings(
                gap_factor=12, moving_joints=("r_arm_pitch",), segment_labels={"transport": "carry"}
            )
        }
    )
    qa = qa_config(profile, session)
    assert (qa.gap_factor, qa.stuck_window_s) == (12.0, 9.0)
    assert qa.moving_joints == frozenset({"r_arm_pitch"}) and qa.moving_streams == frozenset(
        {"gripper_state"}
    )
    assert qa.template("pick_place").label("transport") == "carry"
    assert qa.template("pick_place").label("grasp") == "grasp"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"moving_joints": ("l_elbow",)}, r"qa\.moving_joints: unknown joint\(s\) l_elbow"),
        ({"moving_streams": ("nope",)}, r"qa\.moving_streams: unknown stream\(s\) nope"),
        ({"expected_rates_hz": {"nope": 3.0}}, r"qa\.expected_rates_hz: unknown stream\(s\) nope"),
        ({"dark_level": 200, "bright_level": 100}, r"qa: QaConfig: need 0 <= dark_level \(200\)"),
    ],
)
def test_qa_section_problems_name_the_files(settings, message):
    session = load_session(SESSION).model_copy(update={"qa": QaSettings(**settings)})
    with pytest.raises(ConfigError, match=message) as raised:
        qa_config(load_profile("sim_humanoid"), session)
    assert "sim_humanoid.yaml / " in str(raised.value) and "sim_pick_place.yaml" in str(raised.value)


def test_qa_settings_are_checked_like_every_config():
    with pytest.raises(ValidationError, match="rate_tolerance"):
        QaSettings(rate_tolerance=1.5)
    with pytest.raises(ValidationError, match="gap_fator"):
        QaSettings.model_validate({"gap_fator": 3})
    with pytest.raises(ValidationError, match="segment_labels"):
        QaSettings.model_validate({"segment_labels": {"carry": "x"}})


def test_episode_configs_pick_each_episode_profile_and_pickle():
    configs = EpisodeQaConfigs()
    assert configs.for_profile("sim_humanoid").joint_limits["head_yaw"].velocity == 3.0
    assert pickle.loads(pickle.dumps(configs)) == configs
    with pytest.raises(UnknownProfileError, match="no_such_robot"):
        configs.for_profile("no_such_robot")
    with pytest.raises(ConfigError, match="the episode names no robot profile"):
        configs.for_profile("")
    fixed = EpisodeQaConfigs(profile="generic_ros2_arm")
    assert "joint1" in fixed.for_profile("sim_humanoid").joint_limits
    with_session = EpisodeQaConfigs(session=str(SESSION))
    assert with_session.for_profile("anything").expected_rates_hz["head"] == 15.0


def test_qa_section_in_yaml_files(tmp_path):
    text = SESSION.read_text(encoding="utf-8") + "\nqa:\n  gap_factor: 7\n  stuck_window_s: 4\n"
    session_file = tmp_path / "session.yaml"
    session_file.write_text(text, encoding="utf-8")
    qa = qa_config(load_profile("sim_humanoid"), load_session(session_file))
    assert (qa.gap_factor, qa.stuck_window_s) == (7, 4)
    session_file.write_text(SESSION.read_text(encoding="utf-8") + "\nqa:\n  gap_factr: 7\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"session\.yaml: qa\.gap_factr: "):
        load_session(session_file)


# A value outside each kind's range, and one inside it that differs from every default.
_OUT_OF_RANGE = {"positive": -1.0, "share": 1.0, "level": 300, "count": 0}
_IN_RANGE = {"positive": 0.75, "share": 0.25, "level": 100, "count": 3}


@pytest.mark.parametrize(("name", "kind"), sorted(threshold_kinds().items()))
def test_every_threshold_of_the_quality_gate_is_a_yaml_key_with_its_range(tmp_path, name, kind):
    # Declared once, in episodes.QaConfig: the YAML `qa:` section takes each with the same range.
    session_file = tmp_path / "session.yaml"
    base = SESSION.read_text(encoding="utf-8")
    session_file.write_text(f"{base}\nqa:\n  {name}: {_OUT_OF_RANGE[kind]}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"session\.yaml: qa\.{name}: "):
        load_session(session_file)
    with pytest.raises(QaConfigError, match=rf"QaConfig\.{name} must be "):
        QaConfig(**{name: _OUT_OF_RANGE[kind]})
    value = _IN_RANGE[kind] if name != "bright_level" else 250
    session_file.write_text(f"{base}\nqa:\n  {name}: {value}\n", encoding="utf-8")
    assert getattr(qa_config(load_profile("sim_humanoid"), load_session(session_file)), name) == value


def test_segment_kinds_of_the_yaml_section_are_the_quality_gates():
    assert typing.get_args(SegmentKind) == SEGMENT_KINDS
