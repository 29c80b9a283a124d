"""Importing other datasets: episodes given as rows at a frame rate, and LeRobot v3 datasets."""

from episodes._import._framed import FramedEpisode, Frames, frame_stamps, write_framed
from episodes._import._lerobot import LEROBOT_NOT_RECONSTRUCTED, import_lerobot

__all__ = [
    "LEROBOT_NOT_RECONSTRUCTED",
    "FramedEpisode",
    "Frames",
    "frame_stamps",
    "import_lerobot",
    "write_framed",
]
