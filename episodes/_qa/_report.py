"""A self-contained HTML report: findings, an SVG plot per failing stream, thumbnails per camera.

No JavaScript, no files beside it: plots are inline SVG drawn here, thumbnails
are small JPEGs made from the stored frames and embedded as base64.
"""

from __future__ import annotations

import base64
import html
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np
import numpy.typing as npt

from episodes._qa._access import EpisodeData
from episodes._qa._findings import Finding, Severity
from episodes._spec import ArrayStreamSpec, ImageStreamSpec, StreamKind
from tg_base import __version__

if TYPE_CHECKING:
    from episodes._qa._findings import EpisodeReport

__all__ = ["EpisodeVisuals", "Thumbnail", "episode_visuals", "render_html_report", "svg_plot"]

FloatArray = npt.NDArray[np.float64]

_WIDTH, _HEIGHT = 760, 190
_LEFT, _RIGHT, _TOP, _BOTTOM = 58, 12, 24, 30
_PLOT_WIDTH, _PLOT_HEIGHT = _WIDTH - _LEFT - _RIGHT, _HEIGHT - _TOP - _BOTTOM
_MAX_COLUMNS = 6
_STRIP_FRAMES = 6
_FLAGGED_FRAMES = 4
_THUMB_WIDTH = 160
_COLOURS = ("#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#17becf", "#7f7f7f")
_SHADE = {Severity.ERROR: "#d62728", Severity.WARNING: "#ff9f1c"}


@dataclass(frozen=True)
class Thumbnail:
    """A downscaled frame; ``jpeg_base64`` is "" when the frame does not decode."""

    index: int
    time_s: float
    jpeg_base64: str
    flagged: bool


@dataclass(frozen=True)
class EpisodeVisuals:
    """What the HTML report shows of one episode; times are seconds after ``t0_ns`` (stamp clock)."""

    t0_ns: int
    plots: tuple[tuple[str, str], ...]  # (stream, svg)
    strips: tuple[tuple[str, tuple[Thumbnail, ...]], ...]  # (camera, thumbnails)


def episode_visuals(data: EpisodeData, findings: Sequence[Finding]) -> EpisodeVisuals:
    """A plot for every stream with a finding, a thumbnail strip for every camera."""
    firsts = [info.first_stamp_ns for info in data.infos.values() if info.count]
    t0 = min(firsts) if firsts else 0
    by_stream: dict[str, list[Finding]] = {}
    for f in findings:
        if f.stream in data.infos and data.infos[f.stream].count and f.check != "file.unreadable":
            by_stream.setdefault(f.stream, []).append(f)
    plots = tuple((name, _plot(data, name, found, t0)) for name, found in by_stream.items())
    strips = tuple(
        (name, _strip(data, name, info.spec, by_stream.get(name, []), t0))
        for name, info in data.infos.items()
        if isinstance(info.spec, ImageStreamSpec) and info.count
    )
    return EpisodeVisuals(t0, plots, strips)


def _plot(data: EpisodeData, name: str, found: list[Finding], t0: int) -> str:
    spec = data.infos[name].spec
    checks = {f.check for f in found}
    stamps = data.stamps(name)
    x = (stamps - t0) / 1e9
    series: list[tuple[str, FloatArray, FloatArray]]
    if isinstance(spec, ArrayStreamSpec) and any(c.startswith("value.") for c in checks):
        named = [c for f in found if f.check.startswith("value.") for c in f.columns]
        columns = list(dict.fromkeys(named))[:_MAX_COLUMNS] or list(spec.names[:_MAX_COLUMNS])
        values = data.values(name)
        series = [(c, x, values[:, spec.names.index(c)]) for c in columns]
        y_label = spec.units[spec.names.index(columns[0])]
    elif "sync.skew" in checks:
        view = data.reader.aligned
        series = [("age of the paired sample", (view.time_ns - t0) / 1e9, view.error_ns[name] / 1e6)]
        y_label = "ms"
    elif isinstance(spec, ImageStreamSpec) and any(c.startswith("image.") for c in checks):
        _, sizes = data.frame_index(name)
        series = [("encoded frame size", x, sizes / 1e3)]
        y_label = "kB"
    else:
        series = [("interval to the previous sample", x[1:], np.diff(stamps) / 1e6)]
        y_label = "ms"
    ranges = [
        ((f.start_ns - t0) / 1e9, (f.stop_ns - t0) / 1e9, _SHADE[f.severity], f"{f.check}: {f.message}")
        for f in found
        if f.start_ns is not None and f.stop_ns is not None
    ]
    return svg_plot(f"{name} ({spec.kind.value})", series, ranges, y_label)


def _strip(
    data: EpisodeData, name: str, spec: ImageStreamSpec, found: list[Finding], t0: int
) -> tuple[Thumbnail, ...]:
    stamps = data.stamps(name)
    n = int(stamps.size)
    even = np.linspace(0, n - 1, min(_STRIP_FRAMES, n)).round().astype(np.int64).tolist()
    flagged = [
        int(np.clip(np.searchsorted(stamps, f.start_ns), 0, n - 1)) for f in found if f.start_ns is not None
    ][:_FLAGGED_FRAMES]
    thumbs = []
    for i in sorted(set(even) | set(flagged)):  # a dozen frames at most
        image = data.reader.image(name, i)
        thumbs.append(Thumbnail(i, (int(stamps[i]) - t0) / 1e9, _thumbnail(image.data, spec), i in flagged))
    return tuple(thumbs)


def _thumbnail(encoded: bytes, spec: ImageStreamSpec) -> str:
    buf = np.frombuffer(encoded, dtype=np.uint8)
    if spec.kind is StreamKind.DEPTH:
        pixels = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
        if pixels is not None:
            top = max(1, int(pixels.max()))
            pixels = (pixels.astype(np.float64) * (255.0 / top)).astype(np.uint8)
    else:
        # Decode at 1/2, 1/4 or 1/8 scale straight from the JPEG: far cheaper than full size.
        shrink = {1: "", 2: "_2", 4: "_4"}.get(min(8, max(1, spec.width // _THUMB_WIDTH)), "_8")
        flags = {
            (3, ""): cv2.IMREAD_COLOR,
            (1, ""): cv2.IMREAD_GRAYSCALE,
            (3, "_2"): cv2.IMREAD_REDUCED_COLOR_2,
            (1, "_2"): cv2.IMREAD_REDUCED_GRAYSCALE_2,
            (3, "_4"): cv2.IMREAD_REDUCED_COLOR_4,
            (1, "_4"): cv2.IMREAD_REDUCED_GRAYSCALE_4,
            (3, "_8"): cv2.IMREAD_REDUCED_COLOR_8,
            (1, "_8"): cv2.IMREAD_REDUCED_GRAYSCALE_8,
        }
        pixels = cv2.imdecode(buf, flags[(3 if spec.channels == 3 else 1, shrink)])
    if pixels is None:
        return ""
    if pixels.shape[1] > _THUMB_WIDTH:
        height = max(1, round(pixels.shape[0] * _THUMB_WIDTH / pixels.shape[1]))
        pixels = cv2.resize(pixels, (_THUMB_WIDTH, height), interpolation=cv2.INTER_AREA)
    ok, jpeg = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, 75])
    return base64.b64encode(jpeg.tobytes()).decode("ascii") if ok else ""


# ---------------------------------------------------------------- SVG


@dataclass(frozen=True)
class _Axes:
    """The plot area's data ranges; :meth:`px` and :meth:`py` map data to SVG coordinates."""

    x0: float
    x1: float
    y0: float
    y1: float
    pad: float
    """The margin added above and below the data (the y ticks stay on the data's range)."""

    @classmethod
    def fitting(
        cls,
        series: Sequence[tuple[str, FloatArray, FloatArray]],
        ranges: Sequence[tuple[float, float, str, str]],
    ) -> _Axes:
        xs = [s[1][np.isfinite(s[2])] for s in series] + [np.array([r[0], r[1]]) for r in ranges]
        ys = [s[2][np.isfinite(s[2])] for s in series]
        x_all = np.concatenate(xs) if xs else np.zeros(1)
        y_all = np.concatenate(ys) if ys else np.zeros(1)
        x0, x1 = (float(x_all.min()), float(x_all.max())) if x_all.size else (0.0, 1.0)
        y0, y1 = (float(y_all.min()), float(y_all.max())) if y_all.size else (0.0, 1.0)
        if x1 <= x0:
            x1 = x0 + 1.0
        pad = (y1 - y0) * 0.05 or 1.0
        return cls(x0, x1, y0 - pad, y1 + pad, pad)

    def px(self, x: FloatArray) -> FloatArray:
        return np.asarray(_LEFT + (x - self.x0) / (self.x1 - self.x0) * _PLOT_WIDTH, dtype=np.float64)

    def py(self, y: FloatArray) -> FloatArray:
        return np.asarray(_TOP + (self.y1 - y) / (self.y1 - self.y0) * _PLOT_HEIGHT, dtype=np.float64)


def svg_plot(
    title: str,
    series: Sequence[tuple[str, FloatArray, FloatArray]],
    ranges: Sequence[tuple[float, float, str, str]],
    y_label: str,
) -> str:
    """An inline SVG line plot; ``ranges`` (x0, x1, colour, tooltip) are shaded bands.

    Long series are reduced to a minimum and a maximum per pixel column, so
    spikes stay visible whatever the length.

    >>> svg = svg_plot("q", [("a", np.arange(5.0), np.arange(5.0))], [(1.0, 2.0, "red", "bad")], "rad")
    >>> svg.startswith("<svg") and "<polyline" in svg and "<rect" in svg
    True
    """
    axes = _Axes.fitting(series, ranges)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{_HEIGHT}" '
        f'viewBox="0 0 {_WIDTH} {_HEIGHT}" class="plot">',
        f'<text x="{_LEFT}" y="15" class="title">{html.escape(title)}</text>',
        f'<rect x="{_LEFT}" y="{_TOP}" width="{_PLOT_WIDTH}" height="{_PLOT_HEIGHT}" '
        'fill="#fff" stroke="#999"/>',
        *_bands(axes, ranges),
        *_lines(axes, series),
        *_ticks(axes, y_label),
        "</svg>",
    ]
    return "".join(out)


def _bands(axes: _Axes, ranges: Sequence[tuple[float, float, str, str]]) -> list[str]:
    out = []
    for a, b, colour, tip in ranges:
        left = float(np.clip(axes.px(np.array(min(a, b))), _LEFT, _LEFT + _PLOT_WIDTH))
        right = float(np.clip(axes.px(np.array(max(a, b))), _LEFT, _LEFT + _PLOT_WIDTH))
        out.append(
            f'<rect x="{left:.1f}" y="{_TOP}" width="{max(right - left, 2.0):.1f}" height="{_PLOT_HEIGHT}" '
            f'fill="{colour}" fill-opacity="0.28"><title>{html.escape(tip)}</title></rect>'
        )
    return out


def _lines(axes: _Axes, series: Sequence[tuple[str, FloatArray, FloatArray]]) -> list[str]:
    out = []
    for k, (label, x, y) in enumerate(series):
        qx, qy = _reduce(x, y, _PLOT_WIDTH)
        points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(axes.px(qx), axes.py(qy), strict=True))
        colour = _COLOURS[k % len(_COLOURS)]
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.2" points="{points}"/>')
        out.append(
            f'<text x="{_LEFT + 8 + 120 * k}" y="{_TOP + 14}" fill="{colour}" class="legend">'
            f"{html.escape(label)}</text>"
        )
    return out


def _ticks(axes: _Axes, y_label: str) -> list[str]:
    out = [
        f'<text x="{axes.px(np.array(value)):.1f}" y="{_HEIGHT - 12}" class="tick" text-anchor="middle">'
        f"{value:.2f}</text>"
        for value in np.linspace(axes.x0, axes.x1, 6)
    ]
    out += [
        f'<text x="{_LEFT - 4}" y="{axes.py(np.array(value)) + 4:.1f}" class="tick" text-anchor="end">'
        f"{value:.4g}</text>"
        for value in np.linspace(axes.y0 + axes.pad, axes.y1 - axes.pad, 3)
    ]
    out.append(f'<text x="{_LEFT + _PLOT_WIDTH}" y="{_HEIGHT - 1}" class="tick" text-anchor="end">s</text>')
    out.append(f'<text x="4" y="{_TOP + 10}" class="tick">{html.escape(y_label)}</text>')
    return out


def _reduce(x: FloatArray, y: FloatArray, columns: int) -> tuple[FloatArray, FloatArray]:
    """At most two points per pixel column (its minimum and maximum), finite values only."""
    keep = np.isfinite(y) & np.isfinite(x)
    x, y = x[keep], y[keep]
    if x.size <= 2 * columns:
        return x, y
    if np.any(np.diff(x) < 0):  # stamps that go backwards: keep their order, thin evenly
        step = int(np.ceil(x.size / (2 * columns)))
        return x[::step], y[::step]
    bucket = ((x - x[0]) / max(float(x[-1] - x[0]), 1e-12) * (columns - 1)).astype(np.int64)
    starts = np.concatenate(([0], np.flatnonzero(np.diff(bucket)) + 1))
    lows, highs = np.minimum.reduceat(y, starts), np.maximum.reduceat(y, starts)
    return np.repeat(x[starts], 2), np.column_stack([lows, highs]).ravel()


# ---------------------------------------------------------------- HTML

_CSS = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222}
table{border-collapse:collapse;margin:8px 0 16px}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;font-size:13px;vertical-align:top}
.pass{color:#2a7d2a;font-weight:bold}.fail{color:#c62828;font-weight:bold}
.error{color:#c62828}.warning{color:#b26a00}
section{border-top:2px solid #ddd;margin-top:24px;padding-top:8px}
svg.plot text{font-size:11px;font-family:sans-serif}svg.plot .title{font-weight:bold}
.strip{display:flex;flex-wrap:wrap;gap:6px;margin:4px 0 12px}
.strip figure{margin:0;font-size:11px;text-align:center}
.strip img{display:block;border:3px solid #ddd}.strip .flagged img{border-color:#d62728}
.missing{width:160px;height:90px;background:#eee;display:flex;align-items:center;justify-content:center}
"""


def render_html_report(reports: Sequence[EpisodeReport], title: str = "Training Ground QA report") -> str:
    """One self-contained HTML page for ``reports`` (made with ``visuals=True`` to have plots)."""
    failed = sum(1 for r in reports if not r.passed)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{len(reports)} episode(s): {len(reports) - failed} passed, {failed} failed; "
        f"{sum(r.errors for r in reports)} error(s), {sum(r.warnings for r in reports)} warning(s). "
        f"training-ground {__version__}.</p>",
        "<table><tr><th>episode</th><th>result</th><th>errors</th><th>warnings</th><th>findings</th></tr>",
    ]
    for k, r in enumerate(reports):
        counts = ", ".join(
            f"{check} &times; {n}" for check, n in sorted(Counter(f.check for f in r.findings).items())
        )
        parts.append(
            f"<tr><td><a href='#ep{k}'>{html.escape(r.episode_id or r.path)}</a></td>{_result(r)}"
            f"<td>{r.errors}</td><td>{r.warnings}</td><td>{counts or '-'}</td></tr>"
        )
    parts.append("</table>")
    for k, r in enumerate(reports):
        parts.append(_episode_section(k, r))
    parts.append("</body></html>")
    return "\n".join(parts)


def _result(r: EpisodeReport) -> str:
    return "<td class='pass'>pass</td>" if r.passed else "<td class='fail'>FAIL</td>"


def _episode_section(k: int, r: EpisodeReport) -> str:
    v = r.visuals
    out = [
        f"<section id='ep{k}'><h2>{html.escape(r.episode_id or '(unreadable)')} &mdash; "
        f"{'pass' if r.passed else 'FAIL'}</h2><p>{html.escape(r.path)}</p>"
    ]
    if r.findings:
        out.append(
            "<table><tr><th>severity</th><th>check</th><th>stream</th><th>time (s)</th>"
            "<th>columns</th><th>message</th></tr>"
        )
        for f in r.findings:
            out.append(
                f"<tr class='{f.severity.value}'><td>{f.severity.value}</td><td>{f.check}</td>"
                f"<td>{html.escape(f.stream)}</td><td>{_span(f, v)}</td>"
                f"<td>{html.escape(', '.join(f.columns))}</td><td>{html.escape(f.message)}</td></tr>"
            )
        out.append("</table>")
    if v is not None:
        for _, svg in v.plots:
            out.append(f"<div>{svg}</div>")
        for camera, thumbs in v.strips:
            out.append(f"<h3>{html.escape(camera)}</h3><div class='strip'>")
            for t in thumbs:
                image = (
                    f"<img alt='frame {t.index}' src='data:image/jpeg;base64,{t.jpeg_base64}'>"
                    if t.jpeg_base64
                    else "<div class='missing'>does not decode</div>"
                )
                flagged = " class='flagged'" if t.flagged else ""
                out.append(
                    f"<figure{flagged}>{image}<figcaption>#{t.index} t={t.time_s:.2f} s</figcaption></figure>"
                )
            out.append("</div>")
    out.append("</section>")
    return "".join(out)


def _span(f: Finding, v: EpisodeVisuals | None) -> str:
    if f.start_ns is None or f.stop_ns is None:
        return "episode"
    t0 = v.t0_ns if v is not None else 0
    return f"{(f.start_ns - t0) / 1e9:.3f} &ndash; {(f.stop_ns - t0) / 1e9:.3f}"
