"""One Rerun recording per episode: streams, robot, events and metadata; saved, served or shown.

A recording's id is its episode's id, so a dataset directory opens in the viewer
as one recording per episode, and opening the same episode twice shows one.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rerun as rr
import rerun.blueprint as rrb

import episodes
from episodes import EpisodeReader, ImageStreamSpec
from tg_view._errors import ViewError
from tg_view._events import METADATA_ENTITY, EventCounts, log_events, log_metadata
from tg_view._robot import ROBOT_ENTITY, RobotView, log_robot
from tg_view._streams import TIMELINE, camera_entity, log_streams, stream_entity

__all__ = ["APPLICATION_ID", "EpisodeView", "ViewOptions", "log_episode", "new_recording", "save_episodes"]

APPLICATION_ID = "training_ground"
_EYE, _LOOK_AT = (1.7, -1.5, 0.7), (0.2, 0.0, 0.1)  # metres, in the URDF's root frame


@dataclass(frozen=True)
class ViewOptions:
    """How to show episodes: ``urdf`` supplies the robot model where the episode stores none."""

    urdf: Path | None = None


@dataclass(frozen=True)
class EpisodeView:
    """What one episode's recording holds: samples per stream, the robot, the events."""

    episode: str
    episode_id: str
    samples: dict[str, int]
    robot: RobotView
    events: EventCounts
    output: str = ""  # the .rrd file it was saved to
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "episode": self.episode,
            "episode_id": self.episode_id,
            "samples": dict(self.samples),
            "robot": {
                "urdf": self.robot.urdf,
                "name": self.robot.name,
                "posed_joints": list(self.robot.posed_joints),
            },
            "events": {
                "phases": self.events.phases,
                "gripper_events": self.events.gripper_events,
                "findings": self.events.findings,
            },
            "output": self.output,
            "notes": list(self.notes),
        }


def new_recording(episode_id: str) -> rr.RecordingStream:
    """A recording of this application whose id is the episode's (not the process's default one)."""
    return rr.RecordingStream(APPLICATION_ID, recording_id=episode_id)


def log_episode(
    path: str | os.PathLike[str], recording: rr.RecordingStream, options: ViewOptions | None = None
) -> EpisodeView:
    """Log one episode into ``recording`` (already connected to its sink) and describe what went in.

    >>> import rerun as rr
    >>> recording = new_recording("01J...")  # doctest: +SKIP
    >>> recording.save("episode.rrd")  # doctest: +SKIP
    >>> log_episode("datasets/demo/01J....h5", recording).samples["head"]  # doctest: +SKIP
    187
    """
    options = options or ViewOptions()
    with episodes.open(path) as reader:
        recording.send_recording_name(f"{reader.metadata.task or 'episode'} {reader.metadata.episode_id}")
        log_metadata(reader, recording)
        robot = log_robot(reader, recording, options.urdf)
        counts = log_streams(reader, recording)
        events = log_events(reader, recording)
        recording.send_blueprint(_blueprint(reader, robot))
        notes = (robot.note,) if robot.note else ()
        return EpisodeView(str(path), reader.metadata.episode_id, counts.samples, robot, events, notes=notes)


def save_episodes(paths: Sequence[Path], out: Path, options: ViewOptions | None = None) -> list[EpisodeView]:
    """Write each episode as a recording: ``out`` is the ``.rrd`` file of a single episode, else a
    directory that gets one ``<episode_id>.rrd`` per episode."""
    single = len(paths) == 1 and out.suffix == ".rrd"
    if not single and out.suffix == ".rrd":
        raise ViewError(
            f"{out}: {len(paths)} episodes make {len(paths)} recordings; "
            "give a directory for their .rrd files"
        )
    views = []
    for path in paths:
        with episodes.open(path) as reader:
            episode_id = reader.metadata.episode_id
        target = out if single else out / f"{episode_id}.rrd"
        recording = _file_recording(episode_id, target)
        try:
            view = log_episode(path, recording, options)
        finally:
            recording.flush()
            recording.disconnect()
        views.append(dataclasses.replace(view, output=str(target)))
    return views


def _file_recording(episode_id: str, target: Path) -> rr.RecordingStream:
    """A recording saved to ``target`` (replaced if it exists), its folder made if needed."""
    recording = new_recording(episode_id)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        recording.save(target)
    except (OSError, RuntimeError) as exc:  # Rerun's file sink reports a failed open as RuntimeError
        raise ViewError(f"{target}: cannot write the recording ({exc}); check --save") from None
    return recording


def _blueprint(reader: EpisodeReader, robot: RobotView) -> rrb.Blueprint:
    """The robot and the cameras on top, the time series and the events below."""
    specs = [reader.spec(n) for n in reader.stream_names]
    cameras = [
        rrb.Spatial2DView(origin=camera_entity(s.name), name=s.name)
        for s in specs
        if isinstance(s, ImageStreamSpec)
    ]
    series = [
        rrb.TimeSeriesView(origin=stream_entity(s.name), name=s.name)
        for s in specs
        if not isinstance(s, ImageStreamSpec)
    ]
    top: list[Any] = []
    if robot.urdf:
        top.append(
            rrb.Spatial3DView(
                name="robot",
                origin="/",
                # The collision shapes would cover the visual ones.
                contents=[f"+ /{ROBOT_ENTITY}/**", f"- /{ROBOT_ENTITY}/{robot.name}/collision_geometries/**"],
                # URDF axes (REP 103): x forward, z up; the eye stands front right, a little above.
                eye_controls=rrb.EyeControls3D(position=_EYE, look_target=_LOOK_AT, eye_up=(0.0, 0.0, 1.0)),
            )
        )
    if cameras:
        top.append(rrb.Grid(*cameras))
    notes = rrb.Tabs(
        rrb.TextLogView(origin="/events", name="events"),
        rrb.TextDocumentView(origin=f"/{METADATA_ENTITY}", name="metadata"),
    )
    bottom = rrb.Horizontal(rrb.Tabs(*series, name="streams"), notes, column_shares=[2, 1])
    layout = rrb.Vertical(rrb.Horizontal(*top), bottom) if top else bottom
    return rrb.Blueprint(layout, rrb.TimePanel(timeline=TIMELINE))
