"""`tg replay`: drive the simulated robot with an episode's recorded actions and compare."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

import sim_envs
from tg_base import TgError
from training_ground.cli._console import console, heading
from training_ground.cli._episodes import _report_failures as report_failures
from training_ground.cli._paths import episode_files

__all__ = ["replay"]

_SHOWN_JOINTS = 6


def replay(
    paths: Annotated[list[Path], typer.Argument(help="Episode files (.h5) or dataset directories.")],
    speed: Annotated[
        float,
        typer.Option(
            "--speed", min=0.0, help="Replay at most this many times real time (0: as fast as it goes)."
        ),
    ] = 0.0,
    report_file: Annotated[
        Path | None,
        typer.Option("--report", metavar="FILE", help="Write every replay's figures to FILE as JSON."),
    ] = None,
) -> None:
    """Replay the recorded actions in the simulation and compare the joints with the recorded ones.

    Drives the simulated robot of the episode's profile (a real kuavo4pro episode replays
    on the Kuavo-class model) with each action sample at its recorded time, and reports
    the per-joint tracking error (RMS and max), the time lag that best aligns replay and
    recording, and the worst moments. A simulated episode recorded with --no-ros replays
    exactly; wrong units, swapped joints or actions offset in time show as large errors
    (tg validate --replay fails such episodes).

    Example: tg replay datasets/demo --report replay.json
    """
    files = episode_files(paths)
    reports, failed = [], []
    for path in files:
        try:
            report = sim_envs.replay_episode(path, sim_envs.ReplayOptions(speed=speed))
        except TgError as exc:
            if len(files) == 1:
                raise
            failed.append(str(exc))  # one episode that cannot replay never hides the others
            continue
        _print(report)
        _notes(report)
        reports.append(report)
    if report_file is not None:
        payload = {"episodes": [r.to_json() for r in reports], "errors": failed}
        report_file.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
        console.print(f"report: {report_file}")
    report_failures(failed, "not replayed")


def _print(report: sim_envs.ReplayReport) -> None:
    tracking = report.tracking
    heading(f"{report.episode_id} on {report.robot}")
    console.print(
        f"{report.duration_s:.2f} s replayed in {report.wall_s:.2f} s "
        f"({report.real_time_factor:.1f}x real time, physics {report.physics_hz:g} Hz); "
        f"{len(tracking.joints)} joints of {report.stream!r} compared",
        highlight=False,
    )
    console.print(
        f"tracking error: RMS {tracking.rms:.4f} rad, max {tracking.max:.4f} rad; best-aligning lag "
        f"{tracking.lag_s * 1000:+.0f} ms (RMS there {tracking.rms_at_lag:.4f} rad)",
        highlight=False,
    )
    joints = Table(title="joints, worst first", title_justify="left")
    for column in ("joint", "RMS rad", "max rad", "max at s"):
        joints.add_column(column, justify="left" if column == "joint" else "right")
    for j in sorted(tracking.joints, key=lambda j: -j.rms)[:_SHOWN_JOINTS]:
        joints.add_row(j.joint, f"{j.rms:.4f}", f"{j.max:.4f}", f"{j.worst_s:.2f}")
    console.print(joints)
    if not tracking.worst:
        console.print("the replay reproduces the recording exactly")
        return
    moments = Table(title="worst moments", title_justify="left")
    for column in ("at s", "joint", "error rad", "recorded", "replayed"):
        moments.add_column(column, justify="left" if column == "joint" else "right")
    for m in tracking.worst:
        moments.add_row(
            f"{m.time_s:.2f}", m.joint, f"{m.error:.4f}", f"{m.recorded:.4f}", f"{m.replayed:.4f}"
        )
    console.print(moments)


def _notes(report: sim_envs.ReplayReport) -> None:
    for hint in report.hints:
        console.print(f"hint: {hint}", highlight=False)
    for note in report.notes:
        console.print(f"note: {note}", highlight=False)
