"""Importing other datasets: episodes given as rows at a frame rate, and LeRobot v3 datasets."""

from episodes._import._framed import FramedEpisode, Frames, frame_stamps, write_framed

__all__ = ["FramedEpisode", "Frames", "frame_stamps", "write_framed"]
