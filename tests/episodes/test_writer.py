"""Write-then-read round trips and the writer's refusals."""

from __future__ import annotations

import io
import os
import threading
import time

import h5py
import numpy as np
import pytest
from PIL import Image

import episodes
from episodes import (
    ArrayStreamSpec,
    CameraCalibration,
    EpisodeWriter,
    ImageEncoding,
    ImageStreamSpec,
    Role,
    StreamKind,
)
from tests.episodes.conftest import JOINTS, textured_frame, write_episode
from tg_base import TgError

ARRAY_KINDS = [
    (StreamKind.JOINT_POSITION, JOINTS, ("rad",), "float64"),
    (StreamKind.JOINT_VELOCITY, JOINTS, ("rad/s",), "float64"),
    (StreamKind.JOINT_EFFORT, JOINTS, ("N·m", "N·m", "A"), "float32"),
    (StreamKind.GRIPPER, ("left", "right"), ("closure",), "float64"),
    (
        StreamKind.IMU,
        ("qx", "qy", "qz", "qw", "gx", "gy", "gz", "ax", "ay", "az"),
        ("1",) * 4 + ("rad/s",) * 3 + ("m/s^2",) * 3,
        "float64",
    ),
    (StreamKind.POSE, ("x", "y", "z", "qx", "qy", "qz", "qw"), ("m",) * 3 + ("1",) * 4, "float64"),
    (StreamKind.WRENCH, ("fx", "fy", "fz", "tx", "ty", "tz"), ("N",) * 3 + ("N·m",) * 3, "float64"),
    (StreamKind.GENERIC, ("mode",), ("1",), "int64"),
]


@pytest.mark.parametrize(("kind", "names", "units", "dtype"), ARRAY_KINDS, ids=lambda v: str(v))
def test_array_stream_round_trip(tmp_path, info, kind, names, units, dtype):
    spec = ArrayStreamSpec("signal", kind, names, units, dtype=dtype, rate_hz=200, topic="/t", msg_type="m/T")
    rng = np.random.default_rng(1)
    values = rng.normal(size=(57, len(names))).astype(dtype)
    stamps = np.cumsum(rng.integers(1_000_000, 9_000_000, 57)).astype(np.int64)
    arrivals = stamps + 1234
    with EpisodeWriter(tmp_path, streams=[spec], info=info, aligned_rate_hz=100) as w:
        for s, a, v in zip(stamps, arrivals, values, strict=False):
            w.append("signal", s, v, arrival_ns=a)
    with episodes.open(w.final_path) as ep:
        got = ep.read("signal")
        stream = ep.stream("signal")
    assert isinstance(got, episodes.ArraySamples)
    np.testing.assert_array_equal(got.stamp_ns, stamps)
    np.testing.assert_array_equal(got.arrival_ns, arrivals)
    np.testing.assert_array_equal(got.data, values)
    assert got.data.dtype == np.dtype(dtype)
    assert stream.spec == spec
    assert stream.spec.units == (units if len(units) == len(names) else units * len(names))


def test_metadata_round_trip(tmp_path, info, joint_spec):
    path = write_episode(tmp_path, [joint_spec], info, urdf="<robot name='ta1'/>")
    with episodes.open(path) as ep:
        m = ep.metadata
        assert ep.urdf == "<robot name='ta1'/>"
    assert path.name == f"{m.episode_id}.h5" and episodes.is_episode_id(m.episode_id)
    assert (m.task, m.instruction, m.operator, m.station) == (
        "pick_place",
        "put the red cube in the blue bin",
        "alice",
        "st-01",
    )
    assert m.robot == episodes.RobotInfo("test_arm", "TA-1", JOINTS)
    assert m.dataset == tmp_path.name
    assert m.source == "synthetic" and m.status == "complete" and m.success is None
    assert dict(m.extra) == {"seed": 7}
    assert m.format_version == episodes.FORMAT_VERSION
    assert m.start_time_ns == 0 and m.end_time_ns == 990_000_000


@pytest.mark.parametrize("success", [True, False])
def test_labels_given_at_stop(tmp_path, info, joint_spec, success):
    with EpisodeWriter(tmp_path, streams=[joint_spec], info=info, aligned_rate_hz=10) as w:
        w.append("joint_position", 0, [0, 0, 0])
        w.set_labels(success=success, notes="slipped once")
    with episodes.open(w.final_path) as ep:
        assert ep.metadata.success is success
        assert ep.metadata.notes == "slipped once"


@pytest.mark.parametrize("abort", [False, True])
def test_extra_known_only_at_the_end_is_added_to_the_start_extra(tmp_path, info, joint_spec, abort):
    w = EpisodeWriter(tmp_path, streams=[joint_spec], info=info, aligned_rate_hz=10)
    w.append("joint_position", 0, [0, 0, 0])
    w.update_extra({"recorder": {"rejected": 2}})
    path = w.abort("stopped") if abort else w.close()
    with episodes.open(path) as ep:
        assert dict(ep.metadata.extra) == {"seed": 7, "recorder": {"rejected": 2}}
    with pytest.raises(episodes.WriterClosedError, match="the writer is closed"):
        w.update_extra({"late": 1})


def test_frames_in_flight_must_be_positive(tmp_path, info, camera_spec):
    with pytest.raises(episodes.StreamSpecError, match="frames_in_flight must be at least 1, got 0"):
        EpisodeWriter(tmp_path, streams=[camera_spec], info=info, aligned_rate_hz=10, frames_in_flight=0)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not hasattr(os, "setpriority"), reason="per-thread priority is a Linux feature")
def test_encoders_can_run_below_the_callers_priority(tmp_path, info, camera_spec):
    base = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    # Encoder threads of writers from earlier tests in this process may still be alive, at their
    # own priority: only this writer's count.
    earlier = {t.ident for t in threading.enumerate() if t.name.startswith("tg-encode-")}
    with EpisodeWriter(tmp_path, streams=[camera_spec], info=info, aligned_rate_hz=10, encoder_nice=3) as w:
        for k in range(4):
            w.append(camera_spec.name, k * 100_000_000, textured_frame(k))
        encoders = [
            t for t in threading.enumerate() if t.name.startswith("tg-encode-") and t.ident not in earlier
        ]
        assert encoders
        # A thread is listed as soon as it starts, a moment before it lowers its own priority.
        deadline = time.monotonic() + 10
        while {os.getpriority(os.PRIO_PROCESS, t.native_id) for t in encoders} != {min(19, base + 3)}:
            assert time.monotonic() < deadline, "the encoder threads never lowered their priority"
            time.sleep(0.01)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == base
    with episodes.open(w.final_path) as ep:
        assert ep.stream(camera_spec.name).count == 4


def test_jpeg_round_trip_within_tolerance(tmp_path, info, camera_spec):
    frames = [textured_frame(k) for k in range(12)]
    with EpisodeWriter(tmp_path, streams=[camera_spec], info=info, aligned_rate_hz=30) as w:
        for k, frame in enumerate(frames):
            w.append("head", k * 33_000_000, frame)
    with episodes.open(w.final_path) as ep:
        got = ep.read("head")
    assert isinstance(got, episodes.ImageSamples) and len(got) == 12
    decoded = got.decode_all()
    assert decoded.shape == (12, 48, 64, 3) and decoded.dtype == np.uint8
    error = np.abs(decoded.astype(int) - np.stack(frames).astype(int))
    assert error.mean() < 6, error.mean()


def test_png_round_trip_is_exact_for_rgb_mono_and_depth(tmp_path, info):
    rgb = ImageStreamSpec("rgb", width=64, height=48, encoding=ImageEncoding.PNG)
    mono = ImageStreamSpec("mono", width=64, height=48, channels=1, encoding=ImageEncoding.PNG)
    depth = ImageStreamSpec(
        "depth", width=64, height=48, kind=StreamKind.DEPTH, channels=1, encoding=ImageEncoding.PNG
    )
    rgb_frame = textured_frame(3)
    mono_frame = rgb_frame[:, :, 1].copy()
    depth_frame = (np.arange(48 * 64, dtype=np.uint16).reshape(48, 64) * 17 + 300).astype(np.uint16)
    with EpisodeWriter(tmp_path, streams=[rgb, mono, depth], info=info, aligned_rate_hz=30) as w:
        w.append("rgb", 0, rgb_frame)
        w.append("mono", 0, mono_frame)
        w.append("depth", 0, depth_frame)
    with episodes.open(w.final_path) as ep:
        np.testing.assert_array_equal(ep.image("rgb", 0).decode(), rgb_frame)
        np.testing.assert_array_equal(ep.image("mono", 0).decode(), mono_frame)
        got_depth = ep.image("depth", 0).decode()
        assert got_depth.dtype == np.uint16
        np.testing.assert_array_equal(got_depth, depth_frame)
        assert ep.stream("depth").spec.dtype == "uint16"


@pytest.mark.parametrize("encoding", [ImageEncoding.JPEG, ImageEncoding.PNG])
def test_pure_red_reads_back_red_with_a_second_decoder(tmp_path, info, encoding):
    spec = ImageStreamSpec("head", width=64, height=48, encoding=encoding)
    red = np.zeros((48, 64, 3), np.uint8)
    red[:, :, 0] = 255
    with EpisodeWriter(tmp_path, streams=[spec], info=info, aligned_rate_hz=30) as w:
        w.append("head", 0, red)
    with h5py.File(w.final_path, "r") as f:
        g = f["streams/head"]
        raw = g["frames"][g["frame_offset"][0] : g["frame_offset"][0] + g["frame_size"][0]].tobytes()
    pil = np.asarray(Image.open(io.BytesIO(raw)).convert("RGB"))
    assert pil[..., 0].min() > 240 and pil[..., 1].max() < 15 and pil[..., 2].max() < 15
    with episodes.open(w.final_path) as ep:
        ours = ep.image("head", 0).decode()
    assert ours[..., 0].min() > 240 and ours[..., 2].max() < 15


def test_pre_encoded_frames_are_stored_byte_for_byte(tmp_path, info, camera_spec):
    buf = io.BytesIO()
    Image.fromarray(textured_frame(5)).save(buf, format="JPEG", quality=80)
    jpeg = buf.getvalue()
    with EpisodeWriter(tmp_path, streams=[camera_spec], info=info, aligned_rate_hz=30) as w:
        w.append_encoded("head", 10, jpeg, arrival_ns=15)
        w.append_encoded("head", 20, jpeg)
    with episodes.open(w.final_path) as ep:
        got = ep.read("head")
    assert [im.data for im in got.images] == [jpeg, jpeg]
    assert got.arrival_ns.tolist() == [15, 20]


def test_pre_encoded_frame_of_wrong_size_is_rejected(tmp_path, info, camera_spec):
    buf = io.BytesIO()
    Image.fromarray(textured_frame(5, 40, 50)).save(buf, format="JPEG")
    with EpisodeWriter(tmp_path, streams=[camera_spec], info=info, aligned_rate_hz=30) as w:
        with pytest.raises(episodes.SampleError, match=r"'head': expected jpeg 64x48x3, got jpeg 50x40x3"):
            w.append_encoded("head", 0, buf.getvalue())
        with pytest.raises(episodes.SampleError, match="neither JPEG nor PNG"):
            w.append_encoded("head", 0, b"GIF89a....")
        w.append("head", 0, textured_frame(0))


def test_calibration_round_trip(tmp_path, info, camera_spec):
    calib = CameraCalibration(
        width=64,
        height=48,
        camera_matrix=(50.0, 0.0, 32.0, 0.0, 50.0, 24.0, 0.0, 0.0, 1.0),
        distortion=(0.1, -0.01, 0.0, 0.0, 0.0),
        mount_parent="head_link",
        mount_pose=(0.1, 0.0, 0.05, 0.0, 0.0, 0.0, 1.0),
    )
    with EpisodeWriter(tmp_path, streams=[camera_spec], info=info, aligned_rate_hz=30) as w:
        w.append("head", 0, textured_frame(0))
        w.set_calibration("head", calib)  # after recording started, as when CameraInfo arrives late
    with episodes.open(w.final_path) as ep:
        assert ep.stream("head").calibration == calib


def test_writer_streams_to_disk_while_recording(tmp_path, info, joint_spec):
    w = EpisodeWriter(tmp_path, streams=[joint_spec], info=info, aligned_rate_hz=10, flush_interval_s=0.05)
    for k in range(500):
        w.append("joint_position", k * 1_000_000, [k, 0, 0])
    assert w.path.name.endswith(".h5.partial") and not w.final_path.exists()
    deadline = 50
    with episodes.open(w.path) as live:
        while live.stream("joint_position").count < 500 and deadline:
            import time

            time.sleep(0.05)
            live.refresh()
            deadline -= 1
        assert live.metadata.status == "recording"
        assert live.stream("joint_position").count == 500
    w.close()
    assert w.final_path.exists() and not w.path.exists()


def test_exception_in_block_finalises_as_aborted_and_reraises(tmp_path, info, joint_spec):
    def record_until_estop():
        with EpisodeWriter(tmp_path, streams=[joint_spec], info=info, aligned_rate_hz=10) as w:
            for k in range(30):
                w.append("joint_position", k * 10_000_000, [k, 0, 0])
            raise RuntimeError("operator pressed e-stop")

    with pytest.raises(RuntimeError, match="operator pressed e-stop"):
        record_until_estop()
    [path] = tmp_path.iterdir()
    with episodes.open(path) as ep:
        assert ep.metadata.status == "aborted"
        assert "operator pressed e-stop" in ep.metadata.abort_reason
        assert ep.stream("joint_position").count == 30


def test_discard_deletes_the_partial_file(tmp_path, info, joint_spec):
    w = EpisodeWriter(tmp_path, streams=[joint_spec], info=info, aligned_rate_hz=10)
    w.append("joint_position", 0, [0, 0, 0])
    w.discard()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(episodes.WriterClosedError, match="closed"):
        w.append("joint_position", 1, [0, 0, 0])


def test_refuses_to_overwrite_an_episode(tmp_path, info, joint_spec):
    path = write_episode(tmp_path, [joint_spec], info)
    before = path.read_bytes()
    episode_id = path.name.removesuffix(".h5")
    with pytest.raises(episodes.EpisodeExistsError, match="refusing to overwrite"):
        EpisodeWriter(tmp_path, streams=[joint_spec], info=info, aligned_rate_hz=10, episode_id=episode_id)
    assert path.read_bytes() == before


def test_refuses_to_overwrite_a_partial_recording(tmp_path, info, joint_spec):
    w = EpisodeWriter(tmp_path, streams=[joint_spec], info=info, aligned_rate_hz=10)
    with pytest.raises(episodes.EpisodeExistsError, match=r"partial episode exists"):
        EpisodeWriter(tmp_path, streams=[joint_spec], info=info, aligned_rate_hz=10, episode_id=w.episode_id)
    w.append("joint_position", 0, [1, 2, 3])
    w.close()
    with episodes.open(w.final_path) as ep:
        assert ep.stream("joint_position").count == 1


def test_wrong_shape_is_rejected_and_nothing_is_lost(tmp_path, info, joint_spec):
    with EpisodeWriter(tmp_path, streams=[joint_spec], info=info, aligned_rate_hz=10) as w:
        w.append("joint_position", 0, [1, 2, 3])
        with pytest.raises(
            episodes.SampleError, match=r"'joint_position': expected 3 values .*got shape \(2,\)"
        ):
            w.append("joint_position", 1, [1, 2])
        with pytest.raises(episodes.SampleError, match="not numeric"):
            w.append("joint_position", 1, ["a", "b", "c"])
        w.append("joint_position", 2, [4, 5, 6])
    with episodes.open(w.final_path) as ep:
        assert ep.read("joint_position").data.tolist() == [[1, 2, 3], [4, 5, 6]]


def test_wrong_frame_shape_is_rejected(tmp_path, info, camera_spec):
    with EpisodeWriter(tmp_path, streams=[camera_spec], info=info, aligned_rate_hz=10) as w:
        with pytest.raises(
            episodes.SampleError,
            match=r"'head': expected a uint8 frame of shape \(48, 64, 3\), got uint8 \(48, 64, 4\)",
        ):
            w.append("head", 0, np.zeros((48, 64, 4), np.uint8))
        with pytest.raises(episodes.SampleError, match=r"got float64 \(48, 64, 3\)"):
            w.append("head", 0, np.zeros((48, 64, 3)))
        w.append("head", 0, textured_frame(0))


def test_timestamp_going_backwards_is_rejected(tmp_path, info, joint_spec, action_spec):
    with EpisodeWriter(tmp_path, streams=[joint_spec, action_spec], info=info, aligned_rate_hz=10) as w:
        w.append("joint_position", 100, [0, 0, 0])
        w.append("joint_position", 100, [1, 1, 1])  # a repeat is the quality gate's business
        with pytest.raises(
            episodes.TimestampOrderError,
            match=r"'joint_position': stamp 99 ns is earlier than the previous sample's 100 ns",
        ):
            w.append("joint_position", 99, [2, 2, 2])
        w.append("action_arm", 50, [0, 0, 0])  # other streams keep their own order
        with pytest.raises(episodes.TimestampOrderError, match=r"row 2 is earlier"):
            w.append_block("joint_position", [200, 300, 250], np.zeros((3, 3)))
    with episodes.open(w.final_path) as ep:
        assert ep.stream("joint_position").count == 2


def test_unknown_stream_names_the_declared_ones(tmp_path, info, joint_spec):
    with EpisodeWriter(tmp_path, streams=[joint_spec], info=info, aligned_rate_hz=10) as w:
        with pytest.raises(
            episodes.UnknownStreamError,
            match=r"no stream 'joint_pos'; declared streams: joint_position",
        ):
            w.append("joint_pos", 0, [0, 0, 0])
        w.append("joint_position", 0, [0, 0, 0])


def test_append_block_matches_sample_by_sample(tmp_path, info, joint_spec):
    stamps = np.arange(0, 5000, 7, dtype=np.int64) * 1000
    values = np.random.default_rng(3).normal(size=(stamps.size, 3))
    with EpisodeWriter(tmp_path / "a", streams=[joint_spec], info=info, aligned_rate_hz=10) as wa:
        wa.append_block("joint_position", stamps[:100], values[:100])
        wa.append_block("joint_position", stamps[100:], values[100:])
    with episodes.open(wa.final_path) as ep:
        got = ep.read("joint_position")
    np.testing.assert_array_equal(got.stamp_ns, stamps)
    np.testing.assert_array_equal(got.data, values)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"streams": []}, "at least one stream"),
        ({"aligned_rate_hz": 0}, "aligned_rate_hz must be a positive number"),
        ({"align_clock": "wall"}, "align_clock must be 'stamp' or 'arrival'"),
        ({"required": ["nope"]}, r"required streams \['nope'\] are not declared"),
        ({"required": []}, "at least one stream must be required"),
        ({"flush_interval_s": 0}, "flush_interval_s must be positive"),
    ],
)
def test_bad_declarations(tmp_path, info, joint_spec, kwargs, message):
    args = {"streams": [joint_spec], "info": info, "aligned_rate_hz": 10, **kwargs}
    with pytest.raises(episodes.StreamSpecError, match=message):
        EpisodeWriter(tmp_path, **args)
    assert not any(tmp_path.iterdir())


def test_duplicate_stream_names_are_rejected(tmp_path, info, joint_spec):
    with pytest.raises(episodes.StreamSpecError, match=r"stream names repeat: \['joint_position'\]"):
        EpisodeWriter(tmp_path, streams=[joint_spec, joint_spec], info=info, aligned_rate_hz=10)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: ArrayStreamSpec("Joint", StreamKind.GENERIC, ("a",), ("1",)),
            r"must match \[a-z\]",
        ),
        (lambda: ArrayStreamSpec("j", StreamKind.GENERIC, (), ("1",)), "at least one dimension"),
        (lambda: ArrayStreamSpec("j", StreamKind.GENERIC, ("a", "a"), ("1",)), "names repeat"),
        (
            lambda: ArrayStreamSpec("j", StreamKind.GENERIC, ("a", "b", "c"), ("1", "2")),
            "one unit or one per",
        ),
        (
            lambda: ArrayStreamSpec("j", StreamKind.GENERIC, ("a",), ("1",), dtype="complex64"),
            "dtype",
        ),
        (lambda: ArrayStreamSpec("j", StreamKind.CAMERA, ("a",), ("1",)), "image kind"),
        (
            lambda: ArrayStreamSpec("j", StreamKind.GENERIC, ("a",), ("1",), rate_hz=-1),
            "rate_hz must be",
        ),
        (lambda: ImageStreamSpec("c", width=0, height=10), "width and height must be positive"),
        (
            lambda: ImageStreamSpec("c", 10, 10, kind=StreamKind.DEPTH, channels=1),
            "depth streams are 1-channel",
        ),
        (lambda: ImageStreamSpec("c", 10, 10, channels=4), "channels must be 1"),
        (lambda: ImageStreamSpec("c", 10, 10, quality=0), "quality must be within"),
        (lambda: ImageStreamSpec("c", 10, 10, kind=StreamKind.IMU), "not an image kind"),
        (lambda: CameraCalibration(10, 10, (1.0, 2.0)), "9 values"),
        (
            lambda: episodes.EpisodeInfo(episodes.RobotInfo("r"), source="tape"),
            "source must be one of",
        ),
    ],
)
def test_bad_specs(build, message):
    with pytest.raises(episodes.StreamSpecError, match=message):
        build()


def test_all_errors_are_tg_errors():
    for name in episodes.__all__:
        obj = getattr(episodes, name)
        if isinstance(obj, type) and issubclass(obj, Exception) and not issubclass(obj, Warning):
            assert issubclass(obj, TgError), name


def test_role_and_kind_survive_round_trip(tmp_path, info, action_spec, joint_spec):
    path = write_episode(tmp_path, [joint_spec, action_spec], info)
    with episodes.open(path) as ep:
        assert ep.stream("action_arm").spec.role is Role.ACTION
        assert ep.stream("joint_position").spec.role is Role.OBSERVATION
        assert ep.stream("action_arm").count == 50
        assert abs(ep.stream("joint_position").measured_rate_hz - 100) < 0.5


def test_more_cameras_than_encoder_slots_never_wait_for_the_flush_timer(tmp_path, info):
    # Regression: with twice as many cameras as encoder threads every slot could be taken
    # while no camera had enough frames queued to wake the I/O thread, so each append
    # waited for the periodic flush. With an hour-long flush interval that is a hang.
    cameras = [episodes.ImageStreamSpec(f"cam{i}", width=64, height=48) for i in range(4)]
    writer = EpisodeWriter(
        tmp_path, streams=cameras, info=info, aligned_rate_hz=30, encoder_threads=1, flush_interval_s=3600
    )
    done = threading.Event()

    def record():
        for k in range(40):
            for cam in cameras:
                writer.append(cam.name, k * 33_000_000, textured_frame(k))
        done.set()

    thread = threading.Thread(target=record, daemon=True)
    thread.start()
    thread.join(timeout=60)
    assert done.is_set(), "appending 160 frames did not finish within 60 s"
    writer.close()
    with episodes.open(writer.final_path) as ep:
        assert [ep.stream(c.name).count for c in cameras] == [40, 40, 40, 40]


# ---------------------------------------------------------------- options


def test_options_object_and_keywords_give_the_same_writer(tmp_path, info, joint_spec):
    options = episodes.WriterOptions(
        episode_id="01J00000000000000000000001", flush_interval_s=0.5, fsync=False
    )
    with EpisodeWriter(tmp_path, streams=[joint_spec], info=info, aligned_rate_hz=10, options=options) as w:
        w.append("joint_position", 0, [0.0, 0.0, 0.0])
    assert w.final_path.name == "01J00000000000000000000001.h5"
    # A keyword overrides the options object's field of the same name.
    with EpisodeWriter(
        tmp_path,
        streams=[joint_spec],
        info=info,
        aligned_rate_hz=10,
        options=options,
        episode_id="01J00000000000000000000002",
    ) as w:
        w.append("joint_position", 0, [0.0, 0.0, 0.0])
    assert w.final_path.name == "01J00000000000000000000002.h5"
    with pytest.raises(TypeError, match="unexpected keyword argument 'flush_every'"):
        EpisodeWriter(tmp_path, streams=[joint_spec], info=info, aligned_rate_hz=10, flush_every=1.0)


def test_provenance_option_is_stored(tmp_path, info, joint_spec):
    prov = episodes.Provenance("2026-01-02T03:04:05+00:00", "station-7", 4242)
    with EpisodeWriter(tmp_path, streams=[joint_spec], info=info, aligned_rate_hz=10, provenance=prov) as w:
        w.append("joint_position", 0, [0.0, 0.0, 0.0])
    with episodes.open(w.final_path) as ep:
        assert ep.provenance == prov and ep.metadata.recorded_at == prov.recorded_at
