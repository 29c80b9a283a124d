"""Labels and review verdicts changed on a finished episode, in place through the update journal.

A site relabels episodes (task, instruction, success, the site task they were
recorded for) and stores reviewers' verdicts in the files themselves, so the
files stay the source of truth and a catalogue can be rebuilt from them. Only
root attributes change (datasets/FORMAT.md, "Root attributes"); raw streams,
and so the stored ``content_digest``, are untouched. Every relabelling that
changes something appends to the episode's label history
(``label_history_json``): what changed from what to what, who, when and why.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

from episodes import _layout as fmt
from episodes import _schema as schema
from episodes._maintenance import update_in_place
from episodes._spec import LabelChange, ReviewState

__all__ = ["Relabel", "set_labels", "set_review"]

_DECLS = {d.name: d for d in schema.ROOT_ATTRS}


@dataclass(frozen=True, kw_only=True)
class Relabel:
    """Who relabels and why, recorded with the change in the episode's label history."""

    by: str = ""
    reason: str = ""


def set_labels(
    path: str | os.PathLike[str],
    *,
    instruction: str | None = None,
    success: bool | None = None,
    task_id: str | None = None,
    notes: str | None = None,
    task: str | None = None,
    why: Relabel | None = None,
) -> LabelChange | None:
    """Change the given labels of the finished episode ``path`` (None: leave as it is).

    Returns the change recorded in the label history (``EpisodeMetadata.label_history``),
    or None when every label already had the given value (nothing is written then).
    ``success`` cannot be set back to unknown: a label once known is corrected, not erased.
    The stored ``content_digest`` is kept (it names the recording), although ``task`` and
    ``instruction`` are part of what ``episodes.content_digest`` computes.

    >>> set_labels("datasets/demo/01J....h5", success=False, why=Relabel(by="bo"))  # doctest: +SKIP
    LabelChange(changes={'success': ('true', 'false')}, by='bo', reason='', at_ns=...)
    """
    values: dict[str, Any] = {}
    for name, value in (("task", task), ("instruction", instruction), (fmt.ATTR_TASK_ID, task_id)):
        if value is not None:
            values[name] = value
    if success is not None:
        values[fmt.ATTR_SUCCESS] = fmt.success_text(success)
    if notes is not None:
        values[fmt.ATTR_NOTES] = notes
    if not values:
        return None
    who = why or Relabel()
    with update_in_place(path) as f:
        before = {name: schema.text(f.attrs.get(name, "")) for name in values}
        changes = {name: (before[name], str(v)) for name, v in values.items() if before[name] != str(v)}
        if not changes:
            return None
        change = LabelChange(changes, by=who.by, reason=who.reason, at_ns=time.time_ns())
        history = fmt.parse_json_attr(f.attrs.get(fmt.ATTR_LABEL_HISTORY, "")) or []
        values[fmt.ATTR_LABEL_HISTORY] = fmt.json_attr([*history, change.to_json()])
        schema.write_attrs(f, [_DECLS[name] for name in values], values)
    return change


def set_review(path: str | os.PathLike[str], review: ReviewState) -> None:
    """Store ``review`` as the finished episode's verdict (``review_json``), replacing an earlier one.

    >>> set_review("datasets/demo/01J....h5", ReviewState("rejected", "bad_grasp"))  # doctest: +SKIP
    """
    with update_in_place(path) as f:
        schema.write_attrs(f, [_DECLS[fmt.ATTR_REVIEW]], {fmt.ATTR_REVIEW: fmt.json_attr(review.to_json())})
