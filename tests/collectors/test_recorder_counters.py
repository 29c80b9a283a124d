"""Per-topic counters of the live recorder: rate, gaps and rejections, without a recorder."""

from __future__ import annotations

from collectors._recorder_counters import TopicCounters, gap_ns_for

S = 1_000_000_000


def counters(rate_hz: float | None = 100.0) -> TopicCounters:
    return TopicCounters("/imu", "sensor_msgs/msg/Imu", ("imu",), rate_hz, gap_ns_for(rate_hz))


def test_the_gap_threshold_is_five_periods_and_at_least_half_a_second():
    assert gap_ns_for(100.0) == S // 2
    assert gap_ns_for(2.0) == int(2.5 * S)
    assert gap_ns_for(None) == S


def test_a_silence_opens_a_gap_that_the_next_message_closes():
    c = counters()
    start = 10 * S
    c.arrived(start + S // 10, start)
    c.check_silence(start + S // 2, start)  # 0.4 s: not yet
    assert c.gap_count == 0
    c.check_silence(start + S, start)
    c.check_silence(start + 2 * S, start)  # the same gap, still open
    assert (c.gap_count, c.in_gap, c.last_error) == (1, True, "/imu: no message for 0.90 s (gap 1)")
    c.arrived(start + 3 * S, start)
    assert c.gaps == [[start + S // 10, start + 3 * S]] and not c.in_gap
    c.arrived(start + 4 * S, start)  # silent again, found on arrival: a closed gap at once
    assert c.gaps[-1] == [start + 3 * S, start + 4 * S] and c.gap_count == 2
    assert c.received == 3 and c.diagnostics()["gap_count"] == 2


def test_the_rate_is_measured_over_half_a_second_idle_or_not():
    c = counters()
    c.measure_rate(0)
    for k in range(50):
        c.seen(k * S // 100)
    c.measure_rate(S // 4)
    assert c.rate_hz == 0.0  # under half a second: no measurement yet
    c.measure_rate(S // 2)
    assert c.status().rate_hz == 100.0
    assert c.received == 0  # idle messages are not the episode's


def test_rejections_count_by_reason_and_keep_distinct_messages():
    c = counters()
    c.reject("mismatch", "a")
    c.reject("mismatch", "a")
    c.reject("not_finite", "b", 3, counted=False)  # the caller counts the messages
    for k in range(20):
        c.reject("zero_stamp", f"z{k}")
    assert c.rejected == 22
    assert c.rejected_by == {"mismatch": 2, "not_finite": 3, "zero_stamp": 20}
    assert c.errors[:3] == ["a", "b", "z0"] and len(c.errors) == 10
    assert c.status().last_error == "z19"
    c.total = 7
    c.reset()
    assert (c.rejected, c.rejected_by, c.errors, c.last_error, c.total) == (0, {}, [], "", 7)
