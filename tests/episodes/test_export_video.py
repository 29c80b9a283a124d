"""The exporters' video writer: frame timing, codec choice and what it refuses."""

from __future__ import annotations

import av
import numpy as np
import pytest

import episodes
from episodes._export import _video
from tests.episodes.conftest import textured_frame


def test_frames_are_stamped_k_over_fps_and_decode_back(tmp_path):
    path = tmp_path / "cam.mp4"
    frames = [textured_frame(k, 48, 64) for k in range(12)]
    with _video.VideoWriter(path, fps=15, height=48, width=64) as video:
        for frame in frames:
            video.write(frame)
    assert video.frames == 12
    assert video.bytes > 0
    with av.open(str(path)) as container:
        decoded = list(container.decode(container.streams.video[0]))
    assert [round(float(f.pts * f.time_base) * 15, 6) for f in decoded] == list(range(12))
    error = np.mean(
        [
            np.abs(f.to_ndarray(format="rgb24").astype(int) - s).mean()
            for f, s in zip(decoded, frames, strict=True)
        ]
    )
    assert error < 12
    info = _video.video_info(path)
    assert (info["video.width"], info["video.height"], info["video.fps"]) == (64, 48, 15)


def test_falls_back_to_the_next_encoder_the_build_has(monkeypatch):
    real = av.codec.Codec

    def without_svt(name, mode="r"):
        if name == "libsvtav1":
            raise av.codec.codec.UnknownCodecError(name)
        return real(name, mode)

    monkeypatch.setattr(av.codec, "Codec", without_svt)
    assert _video.pick_codec() == "libx264"


def test_no_encoder_at_all_is_an_error(monkeypatch):
    def none(name, mode="r"):
        raise av.codec.codec.UnknownCodecError(name)

    monkeypatch.setattr(av.codec, "Codec", none)
    with pytest.raises(
        episodes.ExportError, match="has none of the video encoders libsvtav1, libx264, mpeg4"
    ):
        _video.pick_codec()


def test_odd_frame_size_is_refused(tmp_path):
    message = r"frames of 48x63 pixels \(height x width\); yuv420p video needs an even"
    with pytest.raises(episodes.ExportError, match=message):
        _video.VideoWriter(tmp_path / "odd.mp4", fps=10, height=48, width=63)
    assert not (tmp_path / "odd.mp4").exists()
