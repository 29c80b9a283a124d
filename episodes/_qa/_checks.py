"""The checks of the quality gate, each over whole numpy arrays of one stream.

Checks are grouped by the data they need (the episode's metadata, a stream's
stamps, an array stream's values, a camera scan, the aligned view), and each
group is a registry tuple: adding a check is adding a function to a tuple.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from episodes import _layout as fmt
from episodes import _schema as schema
from episodes._errors import CorruptEpisodeError, EpisodeError
from episodes._journal import has_pending_update, journal_path
from episodes._qa._access import EpisodeData
from episodes._qa._config import QaConfig
from episodes._qa._findings import Finding
from episodes._qa._frames import FINE, PROBLEMS, CameraScan, scan_camera
from episodes._qa._motion import active_span
from episodes._qa._ranges import capped_runs, runs
from episodes._reader import AlignedView, AnnotationGroup, EpisodeMetadata
from episodes._spec import ArrayStreamSpec, ImageStreamSpec, Role, StreamKind

__all__ = ["Context", "check_structure", "guard", "motion_reference", "run_checks"]

T = TypeVar("T")

Int64Array = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Describe = Callable[[int, int], tuple[str, tuple[str, ...]]]


@dataclass
class Context:
    """One episode being checked: its data, the config, and what was found so far."""

    data: EpisodeData
    config: QaConfig
    findings: list[Finding] = field(default_factory=list)
    active_ns: tuple[int, int] | None = None
    """Where the robot moves (stamp clock); ``value.stuck`` looks only there."""
    periods: dict[str, float | None] = field(default_factory=dict)
    required_by_view: tuple[str, ...] = ()

    def add(
        self,
        check: str,
        message: str,
        *,
        stream: str = "",
        start_ns: int | None = None,
        stop_ns: int | None = None,
        columns: tuple[str, ...] = (),
        count: int = 0,
    ) -> None:
        self.findings.append(
            Finding.of(
                check,
                message,
                stream=stream,
                start_ns=start_ns,
                stop_ns=stop_ns,
                columns=columns,
                count=count,
            )
        )

    def add_runs(
        self,
        check: str,
        stream: str,
        mask: BoolArray,
        begin_ns: Int64Array,
        end_ns: Int64Array,
        describe: Describe,
    ) -> None:
        """One finding per run of ``mask`` (at most ``max_ranges``): time ``[begin_ns[first], end_ns[last])``.

        ``describe(first, stop)`` gives the message and the columns involved.
        """
        for first, stop, merged in capped_runs(mask, self.config.max_ranges):
            message, columns = describe(first, stop)
            if merged > 1:
                message += f" ({merged} separate ranges merged into this one)"
            self.add(
                check,
                message,
                stream=stream,
                start_ns=int(begin_ns[first]),
                stop_ns=int(end_ns[stop - 1]),
                columns=columns,
                count=int(mask[first:stop].sum()),
            )

    def period_ns(self, name: str, stamps: Int64Array) -> float | None:
        """Expected sample period: the config's rate, else the file's, else the median interval."""
        rate = self.config.expected_rates_hz.get(name) or self.data.infos[name].spec.rate_hz
        if rate:
            return 1e9 / rate
        steps = np.diff(stamps)
        steps = steps[steps > 0]
        return float(np.median(steps)) if steps.size else None


def _any(mask2d: BoolArray, axis: int) -> BoolArray:
    return np.asarray(mask2d.any(axis=axis), dtype=bool)


# ---------------------------------------------------------------- the whole episode


def _status(ctx: Context, meta: EpisodeMetadata) -> None:
    if meta.status != fmt.STATUS_COMPLETE:
        why = f" ({meta.abort_reason})" if meta.abort_reason else ""
        ctx.add("episode.status", f"status is {meta.status!r}{why}, not 'complete'")


def _pending_update(ctx: Context, meta: EpisodeMetadata) -> None:
    # The reader already sees the episode through the journal; other HDF5 tools and plain
    # copies of the file would not, until `tg recover` writes it onto the file.
    path = ctx.data.reader.path
    if has_pending_update(path):
        ctx.add(
            "episode.pending_update",
            f"an interrupted update left {journal_path(path).name}; run `tg recover {path}` "
            "before copying the file or reading it without training-ground",
        )


def _duration(ctx: Context, meta: EpisodeMetadata) -> None:
    cfg = ctx.config
    seconds = meta.duration_s
    if not cfg.min_duration_s <= seconds <= cfg.max_duration_s:
        ctx.add(
            "episode.duration",
            f"lasts {seconds:.2f} s; expected {cfg.min_duration_s:g} to {cfg.max_duration_s:g} s",
        )


def _missing_streams(ctx: Context, meta: EpisodeMetadata) -> None:
    infos = ctx.data.infos
    # What the file itself requires: its streams marked required, and the streams its aligned
    # view was computed from (which still names a stream whose group was deleted).
    declared = {name for name, info in infos.items() if info.spec.required}
    declared |= set(ctx.required_by_view)
    for name in sorted(declared | set(ctx.config.required_streams)):
        if name in ctx.data.unreadable:
            continue  # reported as file.unreadable
        if name not in infos:
            ctx.add("episode.missing_stream", f"required stream {name!r} is absent", stream=name)
        elif infos[name].count == 0:
            ctx.add("episode.missing_stream", f"required stream {name!r} has no samples", stream=name)


EPISODE_CHECKS: tuple[Callable[[Context, EpisodeMetadata], None], ...] = (
    _status,
    _pending_update,
    _duration,
    _missing_streams,
)


# ---------------------------------------------------------------- stamps of any stream


@dataclass(frozen=True)
class Timing:
    name: str
    stamps: Int64Array
    arrivals: Int64Array
    period_ns: float | None
    episode_span_ns: int  # from the first to the last arrival of any stream


def _non_monotonic(ctx: Context, t: Timing) -> None:
    s = t.stamps
    back = np.diff(s) <= 0  # entry i: sample i + 1 is not after sample i

    def describe(first: int, stop: int) -> tuple[str, tuple[str, ...]]:
        n = int(back[first:stop].sum())
        return f"{n} stamp(s) go backwards or repeat, first {s[first + 1]} ns after {s[first]} ns", ()

    lows = np.minimum(s[:-1], s[1:])
    highs = np.maximum(s[:-1], s[1:]) + 1
    ctx.add_runs("time.non_monotonic", t.name, back, lows, highs, describe)


def _gap(ctx: Context, t: Timing) -> None:
    period = t.period_ns
    if period is None:
        return
    s = t.stamps
    step = np.diff(s)
    gaps = step > ctx.config.gap_factor * period

    def describe(first: int, stop: int) -> tuple[str, tuple[str, ...]]:
        longest = int(step[first:stop].max())
        return (
            f"no sample for {longest / 1e9:.3f} s (expected one every {period / 1e6:.1f} ms, "
            f"gap factor {ctx.config.gap_factor:g})",
            (),
        )

    ctx.add_runs("time.gap", t.name, gaps, s[:-1], s[1:], describe)


def _rate(ctx: Context, t: Timing) -> None:
    rate = ctx.config.expected_rates_hz.get(t.name) or ctx.data.infos[t.name].spec.rate_hz
    if not rate or t.episode_span_ns <= 0 or t.stamps.size == 0:
        return
    span_s = t.episode_span_ns / 1e9
    expected = rate * span_s
    n = int(t.stamps.size)
    # One sample of slack: a stream starts anywhere within its first period.
    if n < expected * (1 - ctx.config.rate_tolerance) - 1:
        ctx.add(
            "time.rate",
            f"{n} samples over the episode's {span_s:.2f} s is {n / span_s:.1f} Hz; expected {rate:g} Hz "
            f"(at most {ctx.config.rate_tolerance:.0%} below)",
            stream=t.name,
            start_ns=int(t.stamps[0]),
            stop_ns=int(t.stamps[-1]) + 1,
            count=n,
        )


def _clock_offset(ctx: Context, t: Timing) -> None:
    if t.stamps.size == 0:
        return
    offset = float(np.median(t.arrivals - t.stamps)) / 1e9
    if abs(offset) > ctx.config.clock_offset_threshold_s:
        side = "behind" if offset > 0 else "ahead of"
        ctx.add(
            "time.clock_offset",
            f"source stamps are {abs(offset):.3f} s {side} arrival times (median over {t.stamps.size} "
            f"samples; threshold {ctx.config.clock_offset_threshold_s:g} s): are the clocks synchronised?",
            stream=t.name,
            start_ns=int(t.stamps.min()),
            stop_ns=int(t.stamps.max()) + 1,
            count=int(t.stamps.size),
        )


TIMING_CHECKS: tuple[Callable[[Context, Timing], None], ...] = (_non_monotonic, _gap, _rate, _clock_offset)


# ---------------------------------------------------------------- values of array streams


@dataclass(frozen=True)
class Values:
    spec: ArrayStreamSpec
    stamps: Int64Array
    data: FloatArray
    period_ns: float | None

    @property
    def name(self) -> str:
        return self.spec.name

    def columns(self, mask2d: BoolArray, first: int, stop: int) -> tuple[str, ...]:
        hit = _any(mask2d[first:stop], axis=0)
        return tuple(n for n, h in zip(self.spec.names, hit.tolist(), strict=True) if h)


def _nonfinite(ctx: Context, v: Values) -> None:
    bad = ~np.isfinite(v.data)
    rows = _any(bad, axis=1)

    def describe(first: int, stop: int) -> tuple[str, tuple[str, ...]]:
        cols = v.columns(bad, first, stop)
        return f"{int(bad[first:stop].sum())} NaN or Inf value(s) in {', '.join(cols)}", cols

    ctx.add_runs("value.nonfinite", v.name, rows, v.stamps, v.stamps + 1, describe)


def _limits(ctx: Context, v: Values) -> tuple[FloatArray, FloatArray, BoolArray] | None:
    """Per column: lower, upper position limit and whether there is one."""
    if v.spec.kind is StreamKind.GRIPPER:
        ones = np.ones(v.spec.dim)
        return 0 * ones, ones, ones.astype(bool)
    if v.spec.kind is not StreamKind.JOINT_POSITION:
        return None
    limits = [ctx.config.joint_limits.get(n) for n in v.spec.names]
    known = np.array([lim is not None for lim in limits])
    lower = np.array([lim.lower if lim else -np.inf for lim in limits])
    upper = np.array([lim.upper if lim else np.inf for lim in limits])
    return lower, upper, known


def _joint_limit(ctx: Context, v: Values) -> None:
    found = _limits(ctx, v)
    if found is None:
        return
    lower, upper, known = found
    margin = np.where(known, ctx.config.limit_margin * (upper - lower), 0.0)
    with np.errstate(invalid="ignore"):
        below, above = v.data < lower - margin, v.data > upper + margin
    out = below | above
    unit = v.spec.units[0] if v.spec.units else ""

    def describe(first: int, stop: int) -> tuple[str, tuple[str, ...]]:
        cols = v.columns(out, first, stop)
        c = v.spec.names.index(cols[0])
        block = v.data[first:stop, c]
        worst = float(np.nanmin(block) if below[first:stop, c].any() else np.nanmax(block))
        return (
            f"{cols[0]} reached {worst:.4g} {unit}, outside [{lower[c]:.4g}, {upper[c]:.4g}]"
            + (f" (and {len(cols) - 1} more column(s))" if len(cols) > 1 else ""),
            cols,
        )

    ctx.add_runs("value.joint_limit", v.name, _any(out, axis=1), v.stamps, v.stamps + 1, describe)


def _velocity_spike(ctx: Context, v: Values) -> None:
    kind = v.spec.kind
    if kind not in (StreamKind.JOINT_POSITION, StreamKind.JOINT_VELOCITY):
        return
    limits = [ctx.config.joint_limits.get(n) for n in v.spec.names]
    if not any(limits):
        return
    vmax = np.array([lim.velocity if lim else np.inf for lim in limits]) * ctx.config.velocity_factor
    if kind is StreamKind.JOINT_VELOCITY:
        speed = np.abs(v.data)
        begin, end = v.stamps, v.stamps + 1
    else:
        if v.stamps.size < 2:
            return
        # A step shorter than the period (two samples bunched together) is not a faster motion.
        step_s = np.maximum(np.diff(v.stamps), v.period_ns or 0) / 1e9
        with np.errstate(divide="ignore", invalid="ignore"):
            speed = np.abs(np.diff(v.data, axis=0)) / step_s[:, None]
        begin, end = v.stamps[:-1], v.stamps[1:] + 1
    with np.errstate(invalid="ignore"):
        fast = speed > vmax
    unit = v.spec.units[0].removesuffix("/s") + "/s" if v.spec.units else "/s"

    def describe(first: int, stop: int) -> tuple[str, tuple[str, ...]]:
        cols = v.columns(fast, first, stop)
        c = v.spec.names.index(cols[0])
        top = float(np.nanmax(speed[first:stop, c]))
        return (
            f"{cols[0]} moved at {top:.3g} {unit}, beyond {ctx.config.velocity_factor:g} x its limit "
            f"{vmax[c] / ctx.config.velocity_factor:g} {unit}"
            + (f" (and {len(cols) - 1} more column(s))" if len(cols) > 1 else ""),
            cols,
        )

    ctx.add_runs("value.velocity_spike", v.name, _any(fast, axis=1), begin, end, describe)


def _moving_columns(ctx: Context, spec: ArrayStreamSpec) -> npt.NDArray[np.int64]:
    if spec.name in ctx.config.moving_streams:
        return np.arange(spec.dim)
    moving = ctx.config.moving_joints
    if moving is None or spec.kind is not StreamKind.JOINT_POSITION:
        return np.empty(0, dtype=np.int64)
    return np.array([i for i, n in enumerate(spec.names) if n in moving], dtype=np.int64)


_MIN_STUCK_SHARE = 0.2


def _stuck(ctx: Context, v: Values) -> None:
    cols = _moving_columns(ctx, v.spec)
    if cols.size == 0 or v.period_ns is None or v.stamps.size == 0:
        return
    lo, hi = 0, int(v.stamps.size)
    if ctx.active_ns is not None:
        lo, hi = (int(i) for i in np.searchsorted(v.stamps, ctx.active_ns, side="left"))
    # An active range shorter than the window is one window (a joint that never moves in a short
    # task is stuck too), unless it is too short to say.
    window = min(round(ctx.config.stuck_window_s * 1e9 / v.period_ns), hi - lo)
    if window < max(_MIN_STUCK_SHARE * ctx.config.stuck_window_s * 1e9 / v.period_ns, 1):
        return
    # Range over a sliding window from block minima and maxima: blocks of 1/8 window, 8 blocks per window.
    # Every flagged window truly stays within epsilon; a still stretch of >= 1.125 windows is always found.
    block = max(1, window // 8)
    per_window = max(1, window // block)
    blocks = (hi - lo) // block
    if blocks < per_window:
        return
    x = v.data[lo : lo + blocks * block][:, cols].reshape(blocks, block, cols.size)
    bmin, bmax = x.min(axis=1), x.max(axis=1)
    wmin = np.lib.stride_tricks.sliding_window_view(bmin, per_window, axis=0).min(axis=-1)
    wmax = np.lib.stride_tricks.sliding_window_view(bmax, per_window, axis=0).max(axis=-1)
    with np.errstate(invalid="ignore"):
        still = (wmax - wmin) < ctx.config.stuck_epsilon  # (windows, columns)
    if not still.any():
        return
    # Mark the samples of every still window: +1 at its first sample, -1 after its last.
    w_idx, c_idx = np.nonzero(still)
    marks = np.zeros((v.stamps.size + 1, v.spec.dim), dtype=np.int64)
    np.add.at(marks, (lo + w_idx * block, cols[c_idx]), 1)
    np.add.at(marks, (lo + (w_idx + per_window) * block, cols[c_idx]), -1)
    flat = np.cumsum(marks, axis=0)[:-1] > 0

    def describe(first: int, stop: int) -> tuple[str, tuple[str, ...]]:
        names = v.columns(flat, first, stop)
        seconds = (int(v.stamps[stop - 1]) - int(v.stamps[first])) / 1e9
        return (
            f"{', '.join(names)} stayed within {ctx.config.stuck_epsilon:g} for {seconds:.2f} s "
            f"(expected to move; window {ctx.config.stuck_window_s:g} s)",
            names,
        )

    ctx.add_runs("value.stuck", v.name, _any(flat, axis=1), v.stamps, v.stamps + 1, describe)


VALUE_CHECKS: tuple[Callable[[Context, Values], None], ...] = (
    _nonfinite,
    _joint_limit,
    _velocity_spike,
    _stuck,
)


# ---------------------------------------------------------------- camera streams


@dataclass(frozen=True)
class Camera:
    spec: ImageStreamSpec
    scan: CameraScan

    @property
    def name(self) -> str:
        return self.spec.name


def _decode(ctx: Context, cam: Camera) -> None:
    bad = cam.scan.problem != FINE
    s = cam.scan.stamps

    def describe(first: int, stop: int) -> tuple[str, tuple[str, ...]]:
        codes = cam.scan.problem[first:stop]
        worst = int(codes[codes != FINE][0])
        return f"{int((codes != FINE).sum())} frame(s) from frame {first}: {PROBLEMS[worst]}", ()

    ctx.add_runs("image.decode", cam.name, bad, s, s + 1, describe)


def _shape(ctx: Context, cam: Camera) -> None:
    spec = cam.spec
    sc = cam.scan
    declared = (spec.encoding.value, spec.width, spec.height, spec.channels)
    matches = np.array([(f.encoding, f.width, f.height, f.channels) == declared for f in sc.formats] + [True])
    wrong = ~matches[sc.format_index]  # index -1 (unknown header) maps to the trailing True

    def describe(first: int, stop: int) -> tuple[str, tuple[str, ...]]:
        seen = sorted(
            {sc.formats[int(i)].describe() for i in np.unique(sc.format_index[first:stop]) if i >= 0}
        )
        return (
            f"frames are {' / '.join(seen)}; the stream declares {spec.width}x{spec.height} "
            f"{'RGB' if spec.channels == 3 else 'mono'} {spec.encoding.value}",
            (),
        )

    ctx.add_runs("image.shape", cam.name, wrong, sc.stamps, sc.stamps + 1, describe)


def _frozen(ctx: Context, cam: Camera) -> None:
    sc = cam.scan
    s = sc.stamps
    # A run of repeats [first, stop) shows frame first - 1 from its stamp until frame stop - 1's.
    starts, stops = runs(sc.repeats)
    long = (s[stops - 1] - s[starts - 1]) / 1e9 >= ctx.config.frozen_min_s
    marks = np.zeros(s.size + 1, dtype=np.int64)
    np.add.at(marks, starts[long], 1)
    np.add.at(marks, stops[long], -1)
    frozen = np.cumsum(marks)[:-1] > 0
    shown_since = np.concatenate(([0], s[:-1])) if s.size else s

    def describe(first: int, stop: int) -> tuple[str, tuple[str, ...]]:
        seconds = (int(s[stop - 1]) - int(s[first - 1])) / 1e9
        return f"frame {first - 1} repeated {int(frozen[first:stop].sum())} time(s) over {seconds:.2f} s", ()

    ctx.add_runs("image.frozen", cam.name, frozen, shown_since, s + 1, describe)


def _extreme(ctx: Context, cam: Camera, check: str, share: FloatArray, what: str) -> None:
    sc = cam.scan
    with np.errstate(invalid="ignore"):
        flagged = share >= ctx.config.extreme_fraction
    frames = sc.sampled
    times = sc.stamps[frames]

    def describe(first: int, stop: int) -> tuple[str, tuple[str, ...]]:
        return (
            f"{int(flagged[first:stop].sum())} of the {stop - first} decoded frame(s) "
            f"{int(frames[first])}..{int(frames[stop - 1])} are almost all {what}",
            (),
        )

    ctx.add_runs(check, cam.name, flagged, times, times + 1, describe)


def _black(ctx: Context, cam: Camera) -> None:
    level = ctx.config.dark_level
    _extreme(
        ctx,
        cam,
        "image.black",
        cam.scan.dark,
        f"dark (>= {ctx.config.extreme_fraction:.0%} of pixels <= {level})",
    )


def _overexposed(ctx: Context, cam: Camera) -> None:
    level = ctx.config.bright_level
    _extreme(
        ctx,
        cam,
        "image.overexposed",
        cam.scan.bright,
        f"saturated (>= {ctx.config.extreme_fraction:.0%} of pixels >= {level})",
    )


CAMERA_CHECKS: tuple[Callable[[Context, Camera], None], ...] = (
    _decode,
    _shape,
    _frozen,
    _black,
    _overexposed,
)


# ---------------------------------------------------------------- the aligned view


def _skew(ctx: Context, view: AlignedView) -> None:
    if view.num_frames == 0:
        ctx.add("sync.skew", f"the aligned view is empty: {view.reason or 'no ticks'}")
        return
    for name, error in view.error_ns.items():
        period = ctx.periods.get(name)
        if period is None:
            continue
        limit = period + ctx.config.skew_threshold_s * 1e9
        late = error > limit

        def describe(
            first: int, stop: int, error: Int64Array = error, period: float = period
        ) -> tuple[str, tuple[str, ...]]:
            worst = int(error[first:stop].max())
            return (
                f"aligned ticks pair a sample up to {worst / 1e9:.3f} s old (allowed: one period "
                f"{period / 1e9:.3f} s + {ctx.config.skew_threshold_s:g} s)",
                (),
            )

        ctx.add_runs("sync.skew", name, late, view.time_ns, view.time_ns + 1, describe)


# ---------------------------------------------------------------- running them


def motion_reference(
    data: EpisodeData, config: QaConfig, *, role: Role = Role.OBSERVATION
) -> tuple[str, list[int]] | None:
    """The stream and columns that say when the robot moves: joint positions of moving joints.

    ``role``: observed (the robot's motion, default) or commanded (the operator's).
    """
    for name, info in data.infos.items():
        spec = info.spec
        if (
            isinstance(spec, ArrayStreamSpec)
            and spec.kind is StreamKind.JOINT_POSITION
            and spec.role is role
            and info.count > 0
        ):
            moving = config.moving_joints
            cols = [i for i, n in enumerate(spec.names) if moving is None or n in moving]
            if cols:
                return name, cols
    return None


def run_checks(
    data: EpisodeData, config: QaConfig, on_error: Callable[[str, Exception], None]
) -> list[Finding]:
    """Every check on one open episode; a stream that cannot be read is reported by ``on_error``."""
    ctx = Context(data, config)
    meta = data.reader.metadata
    view = guard(on_error, "", lambda: data.reader.aligned_info)
    ctx.required_by_view = view.required if view is not None else ()
    for check in EPISODE_CHECKS:
        guard(on_error, "", lambda check=check: check(ctx, meta))  # type: ignore[misc]
    arrivals: dict[str, Int64Array] = {}
    for name in data.infos:
        got = guard(on_error, name, lambda name=name: data.arrivals(name))  # type: ignore[misc]
        if got is not None:
            arrivals[name] = got
    firsts = [int(a.min()) for a in arrivals.values() if a.size]
    lasts = [int(a.max()) for a in arrivals.values() if a.size]
    span = max(lasts) - min(firsts) if firsts else 0
    reference = motion_reference(data, config)
    if reference is not None:
        ref, cols = reference
        found = guard(on_error, ref, lambda: active_span(data.values(ref)[:, cols], config.idle_threshold))
        if found:
            ref_stamps = data.stamps(ref)
            ctx.active_ns = (int(ref_stamps[found[0]]), int(ref_stamps[found[1] - 1]) + 1)
    for name, info in data.infos.items():
        if name in arrivals and info.count > 0:
            guard(on_error, name, lambda name=name: _stream_checks(ctx, name, arrivals[name], span))  # type: ignore[misc]
    guard(on_error, "", lambda: _skew(ctx, data.reader.aligned))
    return ctx.findings


def _stream_checks(ctx: Context, name: str, arrivals: Int64Array, span_ns: int) -> None:
    data = ctx.data
    stamps = data.stamps(name)
    period = ctx.period_ns(name, stamps)
    ctx.periods[name] = period
    timing = Timing(name, stamps, arrivals, period, span_ns)
    for timing_check in TIMING_CHECKS:
        timing_check(ctx, timing)
    spec = data.infos[name].spec
    if isinstance(spec, ArrayStreamSpec):
        values = Values(spec, stamps, data.values(name), period)
        for value_check in VALUE_CHECKS:
            value_check(ctx, values)
    else:
        camera = Camera(spec, scan_camera(data, name, spec, ctx.config))
        for camera_check in CAMERA_CHECKS:
            camera_check(ctx, camera)


def guard(on_error: Callable[[str, Exception], None], where: str, work: Callable[[], T]) -> T | None:
    """Run ``work``; HDF5 and format errors of a damaged stream go to ``on_error`` instead of stopping."""
    try:
        return work()
    except (EpisodeError, OSError, RuntimeError, KeyError, ValueError, IndexError) as exc:
        on_error(where, exc)
        return None


# ---------------------------------------------------------------- the file's structure


def check_structure(data: EpisodeData) -> list[Finding]:
    """What the schema requires of the file beyond what reading it checks.

    The reader refuses attributes of the wrong type, streams that lack a dataset and an
    aligned view that points outside the samples (``file.unreadable``, from the checks
    that read them); here: the file's name (``file.name``) and the annotations' layout
    (``file.structure``), episodes/QA.md.
    """
    reader = data.reader
    found: list[Finding] = []
    episode_id = reader.metadata.episode_id
    expected = f"{episode_id}{fmt.EPISODE_SUFFIX}"
    if reader.path.name not in (expected, expected + fmt.PARTIAL_SUFFIX):
        found.append(
            Finding.of(
                "file.name",
                f"{reader.path}: the file name differs from its episode_id {episode_id!r} "
                f"(expected {expected}); rename it, or the loader and export may take it for another episode",
            )
        )
    problems = _annotation_problems(data) + _view_problems(data)
    try:
        _ = reader.urdf
    except CorruptEpisodeError as exc:
        problems.append(str(exc).removeprefix(f"{reader.path}: "))
    found += [Finding.of("file.structure", f"{reader.path}: {problem}") for problem in problems]
    return found


def _view_problems(data: EpisodeData) -> list[str]:
    try:
        in_view = data.reader.aligned.index
    except CorruptEpisodeError:
        return []  # reported by the check that reads the view (sync.skew's guard)
    return [
        f"stream {name!r} of the aligned view is not in the file (deleted?)"
        for name in in_view
        if name not in data.infos and name not in data.unreadable
    ]


def _annotation_problems(data: EpisodeData) -> list[str]:
    reader = data.reader
    try:
        names = reader.annotations
        active = reader.annotation(schema.ANNOTATION_ACTIVE_RANGE) if names else None
        qa = reader.annotation(schema.ANNOTATION_QA) if names else None
    except CorruptEpisodeError as exc:
        return [str(exc).removeprefix(f"{reader.path}: ")]
    problems = _qa_problems(qa, reader.path) if qa is not None else []
    if active is None:
        return problems
    return problems + _active_range_problems(active, reader.path)


_QA_DATASETS = ("check", "severity", "message", "stream", "columns", "start_ns", "stop_ns", "count")


def _qa_problems(qa: AnnotationGroup, path: Path) -> list[str]:
    lacking = [name for name in _QA_DATASETS if name not in qa.datasets]
    if "passed" not in qa.attrs or lacking:
        return [
            f"annotation {schema.ANNOTATION_QA!r} lacks {lacking or 'its passed attribute'}; "
            f"run `tg validate --write {path}` again"
        ]
    return []


def _active_range_problems(active: AnnotationGroup, path: Path) -> list[str]:
    bounds = [active.attrs.get(key) for key in ("start_ns", "stop_ns")]
    if not all(isinstance(b, (int, np.integer)) and not isinstance(b, (bool, np.bool_)) for b in bounds):
        return [
            f"annotation {schema.ANNOTATION_ACTIVE_RANGE!r} lacks integer start_ns and stop_ns "
            f"(found {bounds!r}); run `tg annotate {path}` again"
        ]
    start, stop = int(bounds[0]), int(bounds[1])  # type: ignore[arg-type]  # checked just above
    if start > stop:
        return [
            f"annotation {schema.ANNOTATION_ACTIVE_RANGE!r} ends before it starts "
            f"({start} > {stop}); run `tg annotate {path}` again"
        ]
    return []
