"""The quality gate: every check on an episode file, a dataset in parallel, results kept in the file."""

from __future__ import annotations

import dataclasses
import functools
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, Union

import numpy as np

from episodes import _layout as fmt
from episodes import _schema as schema
from episodes._errors import EpisodeError, EpisodeWriteError
from episodes._identity import episode_identities, find_repeats
from episodes._qa._access import EpisodeData
from episodes._qa._checks import check_structure, guard, run_checks
from episodes._qa._config import QaConfig
from episodes._qa._findings import EpisodeReport, Finding, Severity
from episodes._qa._parallel import run_parallel
from episodes._qa._report import episode_visuals
from episodes._qa._store import strings
from episodes._reader import EpisodeMetadata, EpisodeReader
from episodes._writer_annotations import AnnotationUpdate, write_annotations
from tg_base import TgError
from tg_exec import Executor

__all__ = ["Configure", "EpisodeCheck", "read_qa", "validate_episode", "validate_episodes"]

QA_GROUP = schema.ANNOTATION_QA
Configure = Callable[[EpisodeMetadata], QaConfig]
"""Picks the config from an episode's metadata (its robot profile); may raise a TgError."""
ConfigSource = Union[QaConfig, Configure, None]  # noqa: UP007 - runtime alias, 3.10


class EpisodeCheck(Protocol):
    """An opt-in check from a layer above the format (``sim_envs.DivergenceCheck``): it gets the open
    episode and returns findings of a check it registered (``register_check``). It must be picklable,
    for the worker processes."""

    def __call__(self, reader: EpisodeReader, config: QaConfig) -> list[Finding]: ...


def validate_episode(
    path: str | os.PathLike[str],
    config: ConfigSource = None,
    *,
    write: bool = False,
    visuals: bool = False,
    checks: Sequence[EpisodeCheck] = (),
) -> EpisodeReport:
    """Run every check on one episode file. It never raises for a bad file: that is a finding.

    ``config`` is a :class:`QaConfig`, a function of the episode's metadata that
    returns one (``collectors.EpisodeQaConfigs`` loads the episode's robot
    profile), or ``None`` for the defaults. ``write=True`` stores the result in
    ``/annotations/qa`` (only if it differs from what is stored); ``visuals=True``
    adds plots and thumbnails for :func:`render_html_report`; ``checks`` are opt-in
    checks run after the built-in ones.

    >>> report = validate_episode("datasets/demo/01J....h5")  # doctest: +SKIP
    >>> report.passed, report.counts()  # doctest: +SKIP
    (False, {'time.gap': 1})
    """
    started = time.perf_counter()
    p = Path(path)
    findings: list[Finding] = []

    def unreadable(where: str, exc: Exception) -> None:
        stream = f"stream {where!r}: " if where else ""
        findings.append(
            Finding.of(
                "file.unreadable", f"{p}: {stream}cannot be read ({type(exc).__name__}: {exc})", stream=where
            )
        )

    episode_id, digest = "", None
    shown = None
    try:
        reader = EpisodeReader(p)
    except (EpisodeError, OSError) as exc:
        findings.append(Finding.of("file.unreadable", str(exc)))
    else:
        with reader:
            episode_id, digest = reader.metadata.episode_id, reader.metadata.content_digest
            qa = _config_for(config, reader.metadata, findings)
            data = guard(unreadable, "", lambda: EpisodeData(reader, unreadable))
            if data is not None:
                findings += check_structure(data)
                findings += run_checks(data, qa, unreadable)
                for check in checks:
                    findings += guard(unreadable, "", lambda check=check: check(reader, qa)) or []  # type: ignore[misc]
                if visuals:
                    shown = guard(unreadable, "", lambda: episode_visuals(data, findings))
    readable = not any(f.check in ("file.unreadable", "file.structure") for f in findings)
    written = False
    if write and readable and not p.name.endswith(fmt.PARTIAL_SUFFIX):
        try:
            written = _write_qa(p, tuple(findings))
        except EpisodeWriteError as exc:  # a full or read-only disk: the message says what to do
            findings.append(Finding.of("file.unreadable", f"result not stored: {exc}"))
        except (EpisodeError, OSError, KeyError, ValueError) as exc:
            findings.append(Finding.of("file.unreadable", f"{p}: cannot store the result ({exc})"))
    return EpisodeReport(
        path=str(p),
        episode_id=episode_id,
        findings=tuple(findings),
        size_bytes=p.stat().st_size if p.is_file() else 0,
        seconds=time.perf_counter() - started,
        written=written,
        visuals=shown,
        content_digest=digest,
    )


def validate_episodes(
    paths: Sequence[str | os.PathLike[str]],
    config: ConfigSource = None,
    *,
    workers: int | None = None,
    executor: Executor | None = None,
    write: bool = False,
    visuals: bool = False,
    on_result: Callable[[EpisodeReport], None] | None = None,
    checks: Sequence[EpisodeCheck] = (),
) -> list[EpisodeReport]:
    """:func:`validate_episode` for many files over ``workers`` processes (default: all cores).

    Reports come back in the order of ``paths``; ``on_result`` is called in this
    process as each one is done (for a progress bar). ``executor`` (a
    :class:`tg_exec.Executor`, which the caller closes) runs them elsewhere, on a
    Ray cluster for one; otherwise ``workers`` local processes do. With ``workers > 1``,
    ``config`` must be picklable and, as for any spawned process pool, a script
    must call this under ``if __name__ == "__main__":``.
    """
    work = functools.partial(validate_episode, config=config, write=write, visuals=visuals, checks=checks)
    reports = run_parallel(
        work,
        [Path(p) for p in paths],
        workers=workers,
        executor=executor,
        on_result=on_result,
        on_crash=_crashed,
    )
    return _report_repeats(reports)


def _report_repeats(reports: list[EpisodeReport]) -> list[EpisodeReport]:
    """Add an ``episode.duplicate`` finding to each file repeating an earlier one (episodes._identity)."""
    repeats = find_repeats(
        (Path(r.path), episode_identities(r.episode_id, r.content_digest)) for r in reports
    )
    out = []
    for report in reports:
        repeat = repeats.get(Path(report.path))
        if repeat is not None:
            finding = Finding.of("episode.duplicate", repeat.message("a repeat"))
            report = dataclasses.replace(report, findings=(*report.findings, finding))
        out.append(report)
    return out


def _crashed(path: Path, why: str) -> EpisodeReport:
    finding = Finding.of("file.unreadable", f"{path}: {why}")
    size = path.stat().st_size if path.is_file() else 0
    return EpisodeReport(str(path), "", (finding,), size, 0.0)


def _config_for(config: ConfigSource, meta: EpisodeMetadata, findings: list[Finding]) -> QaConfig:
    if config is None:
        return QaConfig()
    if isinstance(config, QaConfig):
        return config
    try:
        return config(meta)
    except TgError as exc:
        findings.append(Finding.of("config.profile", f"{exc}; checked with the default thresholds"))
        return QaConfig()


def read_qa(source: str | os.PathLike[str] | EpisodeReader) -> tuple[Finding, ...] | None:
    """The findings ``validate --write`` stored in an episode, or None if it was never written.

    ``source``: the episode's path, or a reader already open on it (saves opening it again).

    >>> read_qa("datasets/demo/01J....h5")  # doctest: +SKIP
    ()
    """
    if isinstance(source, EpisodeReader):
        return _stored_findings(source)
    with EpisodeReader(source) as reader:
        return _stored_findings(reader)


def _stored_findings(reader: EpisodeReader) -> tuple[Finding, ...] | None:
    group = reader.annotation(QA_GROUP)
    if group is None:
        return None
    starts = np.asarray(group["start_ns"][()], dtype=np.int64)
    stops = np.asarray(group["stop_ns"][()], dtype=np.int64)
    counts = np.asarray(group["count"][()], dtype=np.int64)
    rows = zip(
        strings(group, "check"),
        strings(group, "severity"),
        strings(group, "message"),
        strings(group, "stream"),
        starts.tolist(),
        stops.tolist(),
        strings(group, "columns"),
        counts.tolist(),
        strict=True,
    )
    return tuple(
        Finding(
            check,
            Severity(severity),
            message,
            stream,
            None if start < 0 else start,
            None if stop < 0 else stop,
            tuple(columns.split(",")) if columns else (),
            count,
        )
        for check, severity, message, stream, start, stop, columns, count in rows
    )


def _write_qa(path: Path, findings: tuple[Finding, ...]) -> bool:
    """Store the findings in ``/annotations/qa``; False (file untouched) if they are already there."""
    if read_qa(path) == findings:
        return False
    errors = sum(1 for x in findings if x.severity is Severity.ERROR)
    update = AnnotationUpdate(
        QA_GROUP,
        "tg validate",
        attrs={
            "passed": errors == 0,
            "errors": np.int64(errors),
            "warnings": np.int64(len(findings) - errors),
        },
        strings={
            "check": [x.check for x in findings],
            "severity": [x.severity.value for x in findings],
            "stream": [x.stream for x in findings],
            "columns": [",".join(x.columns) for x in findings],
            "message": [x.message for x in findings],
        },
        arrays={
            "start_ns": np.array(
                [-1 if x.start_ns is None else x.start_ns for x in findings], dtype=np.int64
            ),
            "stop_ns": np.array([-1 if x.stop_ns is None else x.stop_ns for x in findings], dtype=np.int64),
            "count": np.array([x.count for x in findings], dtype=np.int64),
        },
    )
    write_annotations(path, [update])
    return True
