"""Labels and review verdicts changed on a finished episode, in place through the update journal.

A site relabels episodes (instruction, success, the task they were recorded for)
and stores reviewers' verdicts in the files themselves, so the files stay the
source of truth and a catalogue can be rebuilt from them. Only root attributes
change (datasets/FORMAT.md, "Root attributes"); raw streams, and so the stored
``content_digest``, are untouched.
"""

from __future__ import annotations

import os
from typing import Any

from episodes import _layout as fmt
from episodes import _schema as schema
from episodes._maintenance import update_in_place
from episodes._spec import ReviewState

__all__ = ["set_labels", "set_review"]

_DECLS = {d.name: d for d in schema.ROOT_ATTRS}


def set_labels(
    path: str | os.PathLike[str],
    *,
    instruction: str | None = None,
    success: bool | None = None,
    task_id: str | None = None,
    notes: str | None = None,
) -> None:
    """Change the given labels of the finished episode ``path`` (None: leave as it is).

    ``success`` cannot be set back to unknown: a label once known is corrected, not erased.
    The stored ``content_digest`` is kept (it names the recording), although ``instruction``
    is part of what ``episodes.content_digest`` computes.

    >>> set_labels("datasets/demo/01J....h5", success=False, task_id="t-7")  # doctest: +SKIP
    """
    values: dict[str, Any] = {}
    if instruction is not None:
        values["instruction"] = instruction
    if success is not None:
        values[fmt.ATTR_SUCCESS] = fmt.success_text(success)
    if task_id is not None:
        values[fmt.ATTR_TASK_ID] = task_id
    if notes is not None:
        values[fmt.ATTR_NOTES] = notes
    _write_root_attrs(path, values)


def set_review(path: str | os.PathLike[str], review: ReviewState) -> None:
    """Store ``review`` as the finished episode's verdict (``review_json``), replacing an earlier one.

    >>> set_review("datasets/demo/01J....h5", ReviewState("rejected", "bad_grasp"))  # doctest: +SKIP
    """
    _write_root_attrs(path, {fmt.ATTR_REVIEW: fmt.json_attr(review.to_json())})


def _write_root_attrs(path: str | os.PathLike[str], values: dict[str, Any]) -> None:
    if not values:
        return
    with update_in_place(path) as f:
        schema.write_attrs(f, [_DECLS[name] for name in values], values)
