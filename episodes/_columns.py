"""Which columns of which streams make the state and the action vectors of a sample.

A selection is a stream name, optionally with some of its columns: ``"gripper_state"``
(every column) or ``"joint_position:l_arm_pitch,r_arm_*"`` (shell-style patterns, each
matching at least one column; matches in the stream's column order, patterns in the
order given). ``tg export --state/--action`` and ``EpisodeDataset(state_streams=...)``
take the same text; :class:`StreamColumns` is its parsed form.

The default state is what a manipulation policy reads: the positions of the joints
the episode's action streams command (the joints expected to move; a locked leg or a
head that only looks around is left out) and every gripper's state. An episode without
joint positions or grippers falls back to every observation array stream. The default
action is every action stream. Both keep the streams' stored order.

>>> StreamColumns.parse("joint_position:l_arm_*,head_yaw")
StreamColumns(stream='joint_position', columns=('l_arm_*', 'head_yaw'))
>>> StreamColumns.parse("gripper_state")
StreamColumns(stream='gripper_state', columns=None)
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from episodes._errors import DatasetError, UnknownStreamError
from episodes._spec import ArrayStreamSpec, Role, StreamKind

__all__ = ["StreamColumns", "default_state", "pick_columns"]


@dataclass(frozen=True)
class StreamColumns:
    """A stream and the column patterns to take from it; ``columns=None`` takes all of them."""

    stream: str
    columns: tuple[str, ...] | None = None

    @classmethod
    def parse(cls, text: str | StreamColumns) -> StreamColumns:
        """``"STREAM"`` or ``"STREAM:COL,COL,..."``; a :class:`StreamColumns` is returned as it is."""
        if isinstance(text, StreamColumns):
            return text
        stream, sep, cols = text.partition(":")
        columns = tuple(c.strip() for c in cols.split(",")) if sep else None
        if not stream.strip() or (columns is not None and not all(columns)):
            raise DatasetError(
                f"{text!r} is not STREAM or STREAM:COLUMN,COLUMN,... (e.g. joint_position:l_arm_*,r_arm_*)"
            )
        return cls(stream.strip(), columns)


def pick_columns(path: Path, spec: ArrayStreamSpec, columns: tuple[str, ...] | None) -> tuple[int, ...]:
    """The indices of ``spec``'s columns that ``columns`` (patterns) names, each once.

    A pattern that matches no column raises :class:`UnknownStreamError` naming it and the columns.
    """
    if columns is None:
        return tuple(range(spec.dim))
    chosen: list[int] = []
    for pattern in columns:
        hits = [i for i, name in enumerate(spec.names) if fnmatch.fnmatchcase(name, pattern)]
        if not hits:
            raise UnknownStreamError(
                f"{path}: stream {spec.name!r} has no column {pattern!r}; columns: {', '.join(spec.names)}"
            )
        chosen += [i for i in hits if i not in chosen]
    return tuple(chosen)


def default_state(arrays: Sequence[ArrayStreamSpec]) -> list[StreamColumns]:
    """The default state: commanded joints' positions and grippers, else every observation stream."""
    observed = [s for s in arrays if s.role is Role.OBSERVATION]
    actions = [s for s in arrays if s.role is Role.ACTION and s.kind is StreamKind.JOINT_POSITION]
    commanded = {name for s in actions for name in s.names}
    state = []
    for spec in observed:
        if spec.kind is StreamKind.GRIPPER:
            state.append(StreamColumns(spec.name))
        elif spec.kind is StreamKind.JOINT_POSITION:
            moving = tuple(n for n in spec.names if n in commanded)
            # No commanded joint among them (actions in another space, e.g. poses): all of them.
            state.append(StreamColumns(spec.name, moving if moving and len(moving) < spec.dim else None))
    return state or [StreamColumns(s.name) for s in observed]
