"""Operations on finished or interrupted episodes: recover, realign, list a dataset.

None of them modifies a file in place: each writes a new file next to the old
one and renames it over, so being killed half-way leaves the old file as it was.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import socket
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import h5py

from episodes import _layout as fmt
from episodes._align import compute_alignment, sortable_times
from episodes._errors import (
    CorruptEpisodeError,
    EpisodeBusyError,
    EpisodeError,
    EpisodeWriteError,
    NotAnEpisodeError,
    StorageFullError,
    StreamSpecError,
)
from episodes._journal import (
    has_pending_update,
    journaled_update,
    open_for_update,
    replay_journal,
    uncommitted_journal,
)
from episodes._reader import ArraySamples, EpisodeReader, check_format
from episodes._schema_digest import content_digest
from episodes._spec import EpisodeInfo
from episodes._storage import remove_quietly, require_space, write_error, writing
from episodes._writer import EpisodeWriter, WriterOptions, write_alignment

__all__ = [
    "MAX_REALIGN_TICKS",
    "atomic_update",
    "drop_streams",
    "has_pending_update",
    "list_episodes",
    "realign",
    "recover",
    "update_in_place",
    "update_leftovers",
]

_RECENT_WRITE_S = 10.0
MAX_REALIGN_TICKS = 10_000_000
"""The most ticks :func:`realign` computes (2.8 h at 1 kHz; each tick costs 8 bytes per stream
and more): a mistyped rate (1e9 Hz) once tried to allocate 95 GiB."""


def list_episodes(directory: str | os.PathLike[str], *, include_partial: bool = False) -> list[Path]:
    """Episode files of a dataset directory, oldest first (ids sort by time).

    Files still being recorded or interrupted (``*.h5.partial``) are skipped
    unless ``include_partial``.
    """
    root = Path(directory)
    if not root.is_dir():
        raise NotAnEpisodeError(f"{root}: not a dataset directory")
    found = sorted(root.glob(f"*{fmt.EPISODE_SUFFIX}"))
    if include_partial:
        found += sorted(root.glob(f"*{fmt.EPISODE_SUFFIX}{fmt.PARTIAL_SUFFIX}"))
    return [p for p in found if p.is_file()]


def recover(path: str | os.PathLike[str], *, force: bool = False) -> Path:
    """Turn an interrupted ``*.h5.partial`` into a valid episode with ``status=recovered``.

    Every sample that reached the disk is kept; the aligned view is recomputed.
    Given a finished episode whose in-place update (annotations) was interrupted,
    it completes that update from its journal and returns the same path.
    The partial file is deleted only after the recovered one is in place, so a
    recovery that is itself interrupted can simply be run again.

    >>> recover("datasets/demo/01J....h5.partial")  # doctest: +SKIP
    PosixPath('datasets/demo/01J....h5')
    """
    partial = Path(path)
    if partial.name.endswith(fmt.EPISODE_SUFFIX) and has_pending_update(partial):
        replay_journal(partial)
        return partial
    if partial.name.endswith(fmt.EPISODE_SUFFIX) and update_leftovers(partial):
        _discard_leftovers(partial)
        return partial
    if not partial.name.endswith(fmt.EPISODE_SUFFIX + fmt.PARTIAL_SUFFIX):
        raise NotAnEpisodeError(
            f"{partial}: only interrupted recordings (*{fmt.EPISODE_SUFFIX}{fmt.PARTIAL_SUFFIX}) "
            "and episodes with an interrupted update (a .<name>.journal beside them) can be recovered"
        )
    final = fmt.final_path_of(partial)
    with EpisodeReader(partial) as source:
        if not force:
            _refuse_if_live(source)
        work_dir = partial.parent / f".recover-{source.metadata.episode_id}"
        if final.exists():
            # A previous recovery got as far as the rename: the partial is a leftover.
            with EpisodeReader(final):
                pass
            # Crash-safety fix: that recovery may also have been killed before removing its
            # (empty) work dir; don't leave a stale `.recover-*` behind.
            shutil.rmtree(work_dir, ignore_errors=True)
            partial.unlink()
            return final
        if work_dir.exists():
            shutil.rmtree(work_dir)  # left by an interrupted recovery
        # The copy holds every sample of the partial: about its size.
        require_space(partial, partial.stat().st_size, "recovering it (the partial is unchanged)")
        try:
            work_dir.mkdir()
            recovered = _copy_into(source, work_dir)
        except BaseException as exc:
            # Crash-safety fix: a recovery that fails (e.g. a partial killed before its first
            # flush holds no sample) must not leave its work dir behind; the partial is kept.
            shutil.rmtree(work_dir, ignore_errors=True)
            better = _not_recovered(partial, exc)
            if better is exc:
                raise
            raise better from None
    os.replace(recovered, final)
    # Durability: the rename must be on disk before the only other copy (the partial) goes.
    fmt.fsync_path(final.parent)
    work_dir.rmdir()
    partial.unlink()
    return final


def _not_recovered(partial: Path, exc: BaseException) -> BaseException:
    """A write failure named by the partial (the writer named its copy, now removed); others as they are."""
    if isinstance(exc, EpisodeWriteError):
        # The writer's advice (recover the copy) is about a file that no longer exists.
        cause = exc.__cause__
        if not isinstance(cause, OSError):
            cause = OSError(errno.ENOSPC if isinstance(exc, StorageFullError) else errno.EIO, str(exc))
        exc = cause
    elif isinstance(exc, EpisodeError) or not isinstance(exc, OSError):
        return exc
    return write_error(
        exc,
        partial,
        f"recovering {partial.name}",
        left=f"the partial is unchanged; run `tg recover {partial}` again once there is room",
    )


def _refuse_if_live(source: EpisodeReader) -> None:
    host, pid = source.provenance.writer_host, source.provenance.writer_pid
    if host == socket.gethostname() and pid > 0 and _pid_alive(pid) and pid != os.getpid():
        raise EpisodeBusyError(
            f"{source.path}: still being recorded by process {pid} on this host; "
            "stop that recording first, or pass force=True (--force) if the process is not a recorder"
        )
    age = time.time() - source.path.stat().st_mtime
    if host != socket.gethostname() and age < _RECENT_WRITE_S:
        raise EpisodeBusyError(
            f"{source.path}: written {age:.1f} s ago by host {host!r}, so it may still be recording; "
            "wait, or pass force=True (--force)"
        )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _copy_into(source: EpisodeReader, work_dir: Path) -> Path:
    meta = source.metadata
    infos = source.streams
    aligned = source.aligned_info
    # A stream with no sample cannot start the grid; keeping it required would empty the view.
    required = [r for r in aligned.required if infos[r].count > 0]
    required = required or [n for n, i in infos.items() if i.count > 0][:1]
    if not required:
        raise CorruptEpisodeError(f"{source.path}: no stream has any sample on disk; nothing to recover")
    info = EpisodeInfo(
        robot=meta.robot,
        source=meta.source,
        dataset=meta.dataset,
        task=meta.task,
        instruction=meta.instruction,
        operator=meta.operator,
        station=meta.station,
        notes=meta.notes,
        extra=dict(meta.extra),
        origin=meta.origin,
    )
    options = WriterOptions(
        align_clock=aligned.clock,
        required=required,
        episode_id=meta.episode_id,
        urdf=source.urdf,
        calibrations={n: i.calibration for n, i in infos.items() if i.calibration is not None},
        # Provenance describes the original recording, not this copy of it.
        provenance=source.provenance,
    )
    writer = EpisodeWriter(
        work_dir,
        streams=[i.spec for i in infos.values()],
        info=info,
        aligned_rate_hz=aligned.rate_hz,
        options=options,
    )
    try:
        for name in infos:
            _copy_stream(source, writer, name)
        if meta.success is not None:
            writer.set_labels(success=meta.success)
        return writer._finish(fmt.STATUS_RECOVERED, "")
    except BaseException:
        writer.discard()
        raise


def _copy_stream(source: EpisodeReader, writer: EpisodeWriter, name: str) -> None:
    for block in source.iter_samples(name):
        if isinstance(block, ArraySamples):
            writer.append_block(name, block.stamp_ns, block.data, arrivals_ns=block.arrival_ns)
        else:
            rows = zip(block.stamp_ns, block.arrival_ns, block.images, strict=True)
            for stamp, arrival, image in rows:
                writer.append_encoded(name, int(stamp), image.data, arrival_ns=int(arrival))


@contextlib.contextmanager
def update_in_place(path: str | os.PathLike[str]) -> Iterator[Any]:
    """Yield a writable h5py.File of the finished episode ``path``, changed in place, crash-safely.

    What the block writes reaches the file through a journal (datasets/FORMAT.md,
    "Crash safety"): killed at any moment, the episode reads as before the block or
    as after it, and its raw data is never rewritten. If the block raises, nothing
    changes. Meant for small additions (annotations): the changed bytes are held in memory.

    >>> with update_in_place("datasets/demo/01J....h5") as f:  # doctest: +SKIP
    ...     f["annotations"].attrs["reviewed"] = True
    """
    original = Path(path)
    if original.name.endswith(fmt.PARTIAL_SUFFIX):
        raise EpisodeBusyError(
            f"{original}: episode is still recording or was interrupted; run `tg recover` on it first"
        )
    if not original.is_file():
        raise NotAnEpisodeError(f"{original}: no such file")
    with journaled_update(original) as f:
        check_format(f, original)  # inside: a refused file is left as it was
        yield f


@contextlib.contextmanager
def atomic_update(path: str | os.PathLike[str], *, extra_bytes: int = 0) -> Iterator[Any]:
    """Yield a writable h5py.File of a copy of ``path``; on success the copy replaces it.

    The copy and ``extra_bytes`` more (what the block adds) must fit on the disk, or
    ``StorageFullError`` says how much is needed before anything is written.

    For tools that rewrite much of a finished episode (realign): if they die
    half-way the original is untouched, whatever state HDF5 left the copy in.
    Small additions (annotations) use :func:`update_in_place`, which copies nothing.
    """
    original = Path(path)
    if original.name.endswith(fmt.PARTIAL_SUFFIX):
        raise EpisodeBusyError(
            f"{original}: episode is still recording or was interrupted; run `tg recover` on it first"
        )
    EpisodeReader(original).close()  # same checks and messages as reading it
    replay_journal(original)  # the copy must start from the episode as its last update left it
    work = _work_copy(original)
    with open_for_update(original):  # no in-place update may land on the original meanwhile
        doing = f"rewriting {original.name} through a copy"
        # HDF5 may crash when a write fails half-way: the copy must fit before it starts.
        require_space(original, original.stat().st_size + extra_bytes, doing)
        try:
            with writing(original, doing, left="the episode is unchanged"):
                shutil.copyfile(original, work)
                with h5py.File(work, "r+", libver="latest") as f:
                    yield f
                os.replace(work, original)
        finally:
            remove_quietly(work)


def _work_copy(path: Path) -> Path:
    return path.with_name(f".{path.name}.updating")


def update_leftovers(path: str | os.PathLike[str]) -> list[Path]:
    """Files an update of the finished episode ``path`` left beside it when it failed or was
    killed before committing anything: a journal never committed, a copy never renamed over it.

    The episode is as before that update; ``recover(path)`` removes them.
    """
    return [p for p in (uncommitted_journal(path), _work_copy(Path(path))) if p.exists()]


def _discard_leftovers(path: Path) -> None:
    with open_for_update(path):  # a live update's files are not leftovers: EpisodeBusyError
        for leftover in update_leftovers(path):
            leftover.unlink(missing_ok=True)


def realign(
    path: str | os.PathLike[str],
    *,
    rate_hz: float,
    clock: str | None = None,
    required: Sequence[str] | None = None,
) -> int:
    """Recompute the aligned view of a finished episode at ``rate_hz``; returns the tick count.

    Raw streams are not touched. ``clock`` (``stamp`` or ``arrival``) and the
    ``required`` streams default to what the episode used before.
    """
    with EpisodeReader(path) as ep:
        before = ep.aligned_info
        use_clock = clock or before.clock
        if use_clock not in (fmt.CLOCK_STAMP, fmt.CLOCK_ARRIVAL):
            raise StreamSpecError(f"clock must be 'stamp' or 'arrival', got {use_clock!r}")
        names = list(ep.stream_names)
        ticks = ep.metadata.duration_s * rate_hz
        if not ticks <= MAX_REALIGN_TICKS:  # also NaN
            raise StreamSpecError(
                f"{path}: {rate_hz:g} Hz over its {ep.metadata.duration_s:.1f} s would make {ticks:,.0f} "
                f"aligned ticks, more than {MAX_REALIGN_TICKS:,}; choose a lower rate"
            )
        want = list(required) if required is not None else list(before.required)
        unknown = sorted(set(want) - set(names))
        if unknown:
            raise StreamSpecError(f"{path}: required streams {unknown} are not in the episode ({names})")
        # Raw stamps never change, not even through an in-place update: read before taking the copy.
        stamps = {name: sortable_times(ep.times(name, use_clock)) for name in names}
    alignment = compute_alignment(stamps, rate_hz=rate_hz, required=want)
    # Per tick: its time and, per stream, an index and an error (int64 each).
    added = alignment.num_frames * 8 * (1 + 2 * len(names))
    try:
        with atomic_update(path, extra_bytes=added) as f:
            write_alignment(f, alignment, clock=use_clock, required=want)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        # h5py's, where the aligned view lacks a dataset or holds one of another kind.
        raise CorruptEpisodeError(
            f"{path}: its aligned view cannot be rewritten ({type(exc).__name__}: {exc}); the episode is "
            "unchanged; `tg validate` says what is damaged"
        ) from None
    return alignment.num_frames


def drop_streams(path: str | os.PathLike[str], names: Sequence[str]) -> int:
    """Remove the raw streams ``names`` from a finished episode (on a copy renamed over it).

    The aligned view is recomputed at its rate without them, the stored content digest
    recomputed (the recording now holds less), and the annotations, derived from the old
    content, are removed (run ``tg validate --write`` and ``tg annotate`` again). Returns
    the aligned view's tick count. For a merge of datasets whose stream sets differ.
    """
    with EpisodeReader(path) as ep:
        before = ep.aligned_info
        unknown = sorted(set(names) - set(ep.stream_names))
        if unknown:
            raise StreamSpecError(f"{path}: no stream {', '.join(unknown)} to drop ({list(ep.stream_names)})")
        kept = [name for name in ep.stream_names if name not in names]
        if not kept:
            raise StreamSpecError(f"{path}: dropping {', '.join(names)} leaves no stream")
        stamps = {name: sortable_times(ep.times(name, before.clock)) for name in kept}
    required = [name for name in before.required if name in kept]
    alignment = compute_alignment(stamps, rate_hz=before.rate_hz, required=required)
    with atomic_update(path) as f:
        for name in names:
            del f[fmt.STREAMS][name]
            del f[fmt.ALIGNED][fmt.ALIGNED_STREAMS][name]
        if fmt.ANNOTATIONS in f:
            del f[fmt.ANNOTATIONS]
        write_alignment(f, alignment, required=required)
    digest = content_digest(path)
    with update_in_place(path) as f:
        f.attrs[fmt.ATTR_CONTENT_DIGEST] = digest
    return alignment.num_frames
