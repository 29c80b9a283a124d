"""The ``replay.divergence`` quality check: a simulated episode's actions must reproduce its states.

Registered into the format layer's check registry when this module is imported
(the format layer never imports the simulator); ``tg validate --replay`` passes a
:class:`DivergenceCheck` to ``episodes.validate_episodes``. It checks simulated
episodes only (their ``extra_json`` names the simulated robot); others pass it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from episodes import CheckInfo, EpisodeReader, Finding, QaConfig, Severity, register_check
from sim_envs._errors import SimError
from sim_envs._replay import ReplayOptions, replay_reader, simulated_robot
from sim_envs._replay_report import ReplayReport

__all__ = ["DIVERGENCE", "DivergenceCheck", "divergence_findings"]

DIVERGENCE = CheckInfo(
    "replay.divergence",
    Severity.ERROR,
    "replaying the recorded actions in the simulation does not reproduce the recorded joint positions "
    "(wrong units, swapped joints, actions offset in time from the states)",
)
register_check(DIVERGENCE)


@dataclass(frozen=True)
class DivergenceCheck:
    """Replay a simulated episode; a finding when a joint's RMS error exceeds ``rms_threshold_rad``
    or when the actions are offset from the states by ``lag_threshold_s`` or more.

    The defaults leave room for episodes recorded through the ROS graph (commands
    reach the simulator a few milliseconds after their stamp); a ``--no-ros``
    episode replays exactly.
    """

    rms_threshold_rad: float = 0.05
    lag_threshold_s: float = 0.05
    options: ReplayOptions = field(default_factory=ReplayOptions)

    def __call__(self, reader: EpisodeReader, config: QaConfig) -> list[Finding]:
        if simulated_robot(reader) is None:
            return []
        try:
            report = replay_reader(reader, self.options)
        except SimError as exc:
            return [Finding.of(DIVERGENCE.id, f"cannot replay: {exc}")]
        return divergence_findings(report, self.rms_threshold_rad, self.lag_threshold_s)


def divergence_findings(report: ReplayReport, rms_threshold: float, lag_threshold_s: float) -> list[Finding]:
    """The ``replay.divergence`` finding of a replay (none when it tracks the recording).

    It names the joint with the largest RMS error and the time of its largest
    error; when shifting the replay in time explains most of the error, it
    names that lag too (a constant offset between commands and states).
    """
    tracking = report.tracking
    worst = tracking.worst_joint
    lagged = (
        abs(tracking.lag_s) >= lag_threshold_s
        and tracking.rms > rms_threshold / 5
        and tracking.rms_at_lag < tracking.rms / 2
    )
    if worst.rms <= rms_threshold and not lagged:
        return []
    above = sum(1 for j in tracking.joints if j.rms > rms_threshold)
    message = (
        f"{report.episode}: replaying the actions does not reproduce the recorded joints: "
        f"{worst.joint} RMS {worst.rms:.3f} rad (max {worst.max:.3f} rad at {worst.worst_s:.2f} s), "
        f"{above} of {len(tracking.joints)} joint(s) above {rms_threshold:g} rad"
    )
    if lagged:
        message += (
            f"; the replay matches best shifted by {tracking.lag_s * 1000:+.0f} ms "
            f"(RMS {tracking.rms_at_lag:.3f} rad): the actions are offset in time from the states"
        )
    for hint in report.hints:
        message += f"; {hint}"
    at_ns = report.origin_ns + round(worst.worst_s * 1e9)
    return [
        Finding.of(
            DIVERGENCE.id,
            message + "; check the action stream's units, joint order and stamps (tg replay shows details)",
            stream=report.stream,
            start_ns=at_ns,
            stop_ns=at_ns + 1,
            columns=(worst.joint,),
            count=1,
        )
    ]
