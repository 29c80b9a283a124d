"""`tg view`: episodes in the Rerun viewer, saved to an .rrd file, or served to a browser."""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from tg_base import TgError
from training_ground.cli._console import console
from training_ground.cli._paths import episode_files

if TYPE_CHECKING:
    import tg_view

__all__ = ["view"]


def view(
    paths: Annotated[list[Path], typer.Argument(help="Episode files (.h5) or dataset directories.")],
    save: Annotated[
        Path | None,
        typer.Option(
            "--save",
            metavar="FILE.rrd",
            help="Write the recording to FILE.rrd (several episodes: a directory of <episode_id>.rrd).",
        ),
    ] = None,
    serve: Annotated[
        bool,
        typer.Option("--serve", help="Serve the episodes to a browser (Rerun's web viewer) until Ctrl-C."),
    ] = False,
    urdf: Annotated[
        Path | None,
        typer.Option("--urdf", metavar="FILE", help="The robot's URDF, for episodes that store none."),
    ] = None,
    web_port: Annotated[int, typer.Option("--web-port", help="The web viewer's HTTP port (--serve).")] = 9090,
    grpc_port: Annotated[int, typer.Option("--grpc-port", help="Rerun's gRPC data port (--serve).")] = 9876,
) -> None:
    """Show episodes in Rerun: cameras, time series, the robot posed by its joints, events, metadata.

    Each episode is one recording on its own timeline (seconds from its start, source
    stamps): every camera, every numeric stream with its column names and units, the
    robot from the episode's URDF (or --urdf) moved by the recorded joint positions,
    annotation phases, gripper events and QA findings at their times. Without a
    display, --save writes an .rrd file (open it with `rerun FILE.rrd`) and --serve
    starts Rerun's web viewer; with one, the native viewer opens.

    Example: tg view datasets/demo --save demo_rrd/
    """
    files = episode_files(paths)
    # Imported here: Rerun is the optional [view] extra, and slow to import for the other verbs.
    try:
        import tg_view
    except ImportError as exc:
        raise TgError(
            f"tg view needs the Rerun SDK ({exc.name} cannot be imported): pip install -e '.[view]' "
            "(rerun-sdk 0.41 needs Python 3.11 or later)"
        ) from None
    options = tg_view.ViewOptions(urdf=urdf)
    if save is not None:
        for shown in tg_view.save_episodes(files, save, options):
            _describe(shown)
    if serve:
        served = tg_view.serve_episodes(files, options, grpc_port=grpc_port, web_port=web_port)
        for shown in served.views:
            _describe(shown)
        console.print(f"web viewer: {served.web_url}", soft_wrap=True, highlight=False)
        console.print(f"data: {served.grpc_url} (Ctrl-C stops)", soft_wrap=True, highlight=False)
        sys.stdout.flush()
        try:
            _wait_for_stop()
        finally:
            served.close()
    if save is None and not serve:
        _spawn(files, options)


def _spawn(files: list[Path], options: tg_view.ViewOptions) -> None:
    import tg_view

    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise typer.BadParameter(
            "no display here for Rerun's viewer: write a file with --save FILE.rrd "
            "or serve a browser with --serve",
            param_hint="--save/--serve",
        )
    for path in files:
        recording = tg_view.new_recording(path.stem)
        recording.spawn()  # the first starts the viewer, the others join it
        _describe(tg_view.log_episode(path, recording, options))
        recording.flush()


def _describe(shown: tg_view.EpisodeView) -> None:
    """One line per episode: where it went, how many samples, the robot."""
    robot = shown.robot
    posed = f"robot posed by {len(robot.posed_joints)} joints" if robot.urdf else "no robot"
    target = f" -> {shown.output}" if shown.output else ""
    events = shown.events.phases + shown.events.gripper_events + shown.events.findings
    console.print(
        f"{shown.episode_id}{target}: {sum(shown.samples.values())} samples in {len(shown.samples)} "
        f"streams, {posed}, {events} events",
        soft_wrap=True,
        highlight=False,
    )
    for note in shown.notes:
        console.print(f"note: {note}", soft_wrap=True, highlight=False)


def _wait_for_stop() -> None:
    """Until Ctrl-C or SIGTERM (set here: a background job may have started with SIGINT ignored)."""
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(0.2):
            pass
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
