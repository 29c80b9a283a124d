"""What one run changes of a session's ``sim:`` section, as one object from the CLI down.

``tg collect --no-ros --task ... --operator ... --failure-rate ... --renderer ...``
builds one :class:`SimOverrides`; :func:`sim_envs.collect_sim` and
:meth:`SimSetup.from_session` take it as it is, and the ``sim_bridge`` node builds
one from its ``renderer`` parameter, so a new override is one field here, not a
keyword argument in four signatures.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

__all__ = ["SimOverrides"]


@dataclass(frozen=True)
class SimOverrides:
    """Overrides of the session's ``sim:`` section; ``None`` keeps the session's value.

    A ``task`` given here is also the episodes' task label.

    >>> SimOverrides(task="bimanual_lift", failure_rate=0.0).given()
    ('task', 'failure_rate')
    >>> SimOverrides().given()
    ()
    """

    task: str | None = None  # a name of sim_envs.TASKS
    operator: str | None = None  # a name of sim_envs.OPERATORS
    failure_rate: float | None = None  # share of episodes failed on purpose, 0..1
    renderer: str | None = None  # auto, tiny, egl or none

    def given(self) -> tuple[str, ...]:
        """The names of the fields that override something, in declaration order."""
        return tuple(f.name for f in fields(self) if getattr(self, f.name) is not None)
