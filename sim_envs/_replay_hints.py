"""What the recorded commands themselves say went wrong, beside the replay's tracking error.

A recording whose commands drive the joints it records has commands that look
like the states: the same size, each joint's command close to that joint's
state. Commands in degrees are about 57 times the states; two swapped columns
each follow the other joint. Both show without any physics, from the commands
held at the state stamps.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["command_hints"]

FloatArray = npt.NDArray[np.float64]

_DEGREES = 180.0 / np.pi
_SCALE_OFF = 1.5  # commands this many times larger (or smaller) than the states are suspicious
_SWAP_GAIN = 0.5  # a swap must halve both joints' command-to-state error
_MIN_ERROR_RAD = 0.02


def command_hints(names: Sequence[str], commanded: FloatArray, recorded: FloatArray) -> tuple[str, ...]:
    """Hints from commands (held at the state stamps) against the recorded states, column by column.

    >>> t = np.linspace(0, 1, 50)
    >>> states = np.column_stack([np.sin(t), np.cos(t), 0.5 * t])
    >>> command_hints(["a", "b", "c"], states * 180 / np.pi, states)
    ('the commands are 57.3 times the recorded positions: degrees where radians belong?',)
    >>> command_hints(["a", "b", "c"], states[:, [1, 0, 2]], states)
    ('the commands of a and b look swapped: each follows the other joint',)
    """
    hints = []
    scale = _scale(commanded, recorded)
    if scale > _SCALE_OFF or scale < 1 / _SCALE_OFF:
        units = ": degrees where radians belong?" if abs(scale / _DEGREES - 1) < 0.1 else " (units?)"
        hints.append(f"the commands are {scale:.1f} times the recorded positions{units}")
    else:
        hints += [
            f"the commands of {names[i]} and {names[j]} look swapped: each follows the other joint"
            for i, j in _swaps(commanded, recorded)
        ]
    return tuple(hints)


def _scale(commanded: FloatArray, recorded: FloatArray) -> float:
    """The least-squares factor from the recorded positions to the commands, over all joints."""
    power = float(np.sum(recorded * recorded))
    return float(np.sum(commanded * recorded)) / power if power > 0 else 1.0


def _swaps(commanded: FloatArray, recorded: FloatArray) -> list[tuple[int, int]]:
    """Pairs (i, j) whose commands each match the other's states far better than their own."""
    # error[i, j]: RMS of command column i against state column j.
    error = np.sqrt(np.mean((commanded[:, :, None] - recorded[:, None, :]) ** 2, axis=0))
    best = np.argmin(error, axis=1)
    pairs = []
    for i, j in enumerate(best.tolist()):
        if (
            i < j
            and best[j] == i
            and all(
                error[k, k] > _MIN_ERROR_RAD and error[k, other] < _SWAP_GAIN * error[k, k]
                for k, other in ((i, j), (j, i))
            )
        ):
            pairs.append((i, j))
    return pairs
