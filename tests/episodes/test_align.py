"""The aligned view's rule on hand-built streams with known stamps."""

from __future__ import annotations

import numpy as np
import pytest

import episodes
from episodes import compute_alignment

MS = 1_000_000


def stamps(*values_ms: float) -> np.ndarray:
    return (np.array(values_ms) * MS).astype(np.int64)


def test_latest_sample_at_or_before_each_tick_never_from_the_future():
    a = compute_alignment(
        {
            "camera": stamps(10, 43, 77, 110, 143),  # ~30 Hz, starts last
            "joints": stamps(*range(0, 160, 2)),  # 500 Hz
            "action": stamps(5, 15, 25, 95, 105),  # pauses between 25 and 95 ms
        },
        rate_hz=100,
        required=["camera", "joints", "action"],
    )
    assert a.t0_ns == 10 * MS  # when the last required stream (camera) starts
    assert a.time_ns.tolist() == [t * MS for t in range(10, 110, 10)]  # ends with action at 105 ms
    assert a.index["camera"].tolist() == [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert a.error_ns["camera"].tolist() == [t * MS for t in [0, 10, 20, 30, 7, 17, 27, 3, 13, 23]]
    assert a.index["joints"].tolist() == [5, 10, 15, 20, 25, 30, 35, 40, 45, 50]
    assert set(a.error_ns["joints"].tolist()) == {0}
    # 25 ms stays in use until 95 ms arrives; a sample stamped exactly on a tick counts (joints).
    assert a.index["action"].tolist() == [0, 1, 2, 2, 2, 2, 2, 2, 2, 3]
    assert a.error_ns["action"].tolist()[-1] == 5 * MS


def test_optional_stream_without_data_yet_gets_minus_one():
    a = compute_alignment(
        {"joints": stamps(0, 10, 20, 30), "gripper": stamps(15, 25)},
        rate_hz=100,
        required=["joints"],
    )
    assert a.time_ns.tolist() == stamps(0, 10, 20, 30).tolist()
    assert a.index["gripper"].tolist() == [-1, -1, 0, 1]
    assert a.error_ns["gripper"].tolist() == [-1, -1, 5 * MS, 5 * MS]


def test_grid_is_even_at_fractional_rates():
    a = compute_alignment({"s": np.arange(0, 10**9, 10**6, dtype=np.int64)}, rate_hz=29.97, required=["s"])
    expected = np.round(np.arange(a.num_frames) * 1e9 / 29.97).astype(np.int64)
    np.testing.assert_array_equal(a.time_ns, expected)
    assert a.num_frames == 30  # ticks at 0 .. 967.6 ms, the last sample is at 999 ms


def test_no_overlap_and_empty_required_stream_give_an_empty_grid_with_a_reason():
    a = compute_alignment({"a": stamps(0, 10), "b": stamps(20, 30)}, rate_hz=100, required=["a", "b"])
    assert a.num_frames == 0 and a.reason == "required streams do not overlap in time"
    b = compute_alignment({"a": stamps(0, 10), "b": stamps()}, rate_hz=100, required=["a", "b"])
    assert b.num_frames == 0 and b.reason == "required streams without samples: b"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rate_hz": 0, "required": ["a"]}, "aligned rate must be a positive number"),
        ({"rate_hz": 10, "required": ["z"]}, r"required streams \['z'\] are not among \['a'\]"),
        ({"rate_hz": 10, "required": []}, "needs at least one required stream"),
    ],
)
def test_bad_alignment_requests(kwargs, message):
    with pytest.raises(episodes.StreamSpecError, match=message):
        compute_alignment({"a": stamps(0, 1)}, **kwargs)
