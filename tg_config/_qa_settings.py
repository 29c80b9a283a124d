"""The ``qa:`` section of a robot profile or a session config.

Its thresholds are not declared here: every field of :class:`episodes.QaConfig`
marked as a threshold becomes an optional key of the same name, with the range
of its kind (``episodes.THRESHOLD_KINDS``), so a threshold is declared once and
a YAML file is checked against the same ranges as the quality gate. Only what
profiles and sessions say about joints and streams (which move, which are
required, their rates, segment texts) is declared here; ``tg_config._qa_config``
turns both into a :class:`episodes.QaConfig`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, PositiveInt, create_model

from episodes import threshold_kinds
from tg_config._base import ConfigModel, Ident, PositiveFinite, StreamName

__all__ = ["QaSettings"]

Share = Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)]
Level = Annotated[int, Field(ge=0, le=255)]
# episodes.SEGMENT_KINDS as a type (tests/tg_config/test_qa_config.py keeps the two equal).
SegmentKind = Literal["reach", "grasp", "transport", "release", "retreat", "motion"]

# The YAML type of each kind of threshold (episodes.THRESHOLD_KINDS names the kinds).
_YAML_TYPES: dict[str, Any] = {
    "positive": PositiveFinite,
    "share": Share,
    "level": Level,
    "count": PositiveInt,
}


class _QaExpectations(ConfigModel):
    """The keys of a ``qa:`` section that are not thresholds. Every key is optional."""

    moving_joints: tuple[Ident, ...] | None = None
    """Joints expected to move in this task; default: the profile's joints with ``moves: true``."""
    moving_streams: tuple[StreamName, ...] | None = None
    """Streams all of whose columns are expected to move (a gripper in a pick-and-place)."""
    required_streams: tuple[StreamName, ...] | None = None
    """Streams that must be present; default: the required streams of the profile (and session)."""
    expected_rates_hz: dict[StreamName, PositiveFinite] | None = None
    segment_labels: dict[SegmentKind, str] | None = None
    """Text of each segment kind for this task (session) or robot (profile)."""


def _settings_model() -> Any:
    thresholds: dict[str, Any] = {
        name: (_YAML_TYPES[kind] | None, None) for name, kind in threshold_kinds().items()
    }
    return create_model(
        "QaSettings",
        __base__=_QaExpectations,
        __module__=__name__,
        __doc__="The ``qa:`` section of a robot profile or a session config. Every key is optional.",
        **thresholds,
    )


if TYPE_CHECKING:
    # The thresholds are added at import time; the code reads them only through model_dump().
    QaSettings = _QaExpectations
else:
    QaSettings = _settings_model()
