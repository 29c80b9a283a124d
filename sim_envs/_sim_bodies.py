"""The room every simulated world holds (floor, back wall, table) and rigid bodies built from boxes.

Plain functions over a PyBullet client, apart from :class:`SimWorld`: the
room is the same for every robot and task, and tasks add their objects through
:meth:`SimWorld.add_box` and :meth:`SimWorld.add_compound`, which call these.
"""

from __future__ import annotations

from collections.abc import Sequence

from sim_envs._pybullet import pb

__all__ = ["TABLE_CENTER", "TABLE_SIZE", "TABLE_TOP_Z", "Rgba", "add_compound", "build_room"]

TABLE_TOP_Z = 0.80
TABLE_CENTER = (0.6, 0.0)
TABLE_SIZE = (0.76, 1.3)

Rgba = tuple[float, float, float, float]


def build_room(client: int) -> None:
    """A floor, a back wall and a table on four legs, all static."""
    floor = pb.createCollisionShape(pb.GEOM_PLANE, physicsClientId=client)
    floor_visual = pb.createVisualShape(
        pb.GEOM_BOX, halfExtents=[3, 3, 0.005], rgbaColor=[0.55, 0.56, 0.58, 1], physicsClientId=client
    )
    pb.createMultiBody(0, floor, floor_visual, [0, 0, 0], physicsClientId=client)
    # The back wall gives the head camera a background instead of an empty void.
    _box(client, (0.05, 4.0, 2.0), (2.2, 0.0, 1.0), (0.78, 0.8, 0.76, 1.0))
    tx, ty = TABLE_CENTER
    sx, sy = TABLE_SIZE
    _box(client, (sx, sy, 0.04), (tx, ty, TABLE_TOP_Z - 0.02), (0.62, 0.47, 0.32, 1.0), friction=0.7)
    for dx in (-1, 1):
        for dy in (-1, 1):
            _box(
                client,
                (0.05, 0.05, TABLE_TOP_Z - 0.04),
                (tx + dx * (sx / 2 - 0.05), ty + dy * (sy / 2 - 0.05), (TABLE_TOP_Z - 0.04) / 2),
                (0.45, 0.33, 0.22, 1.0),
            )


def _box(
    client: int, size: Sequence[float], position: Sequence[float], color: Rgba, *, friction: float = 0.8
) -> int:
    """A static box."""
    return add_compound(client, [(size, (0.0, 0.0, 0.0))], position, color, mass=0.0, friction=friction)


def add_compound(
    client: int,
    boxes: Sequence[tuple[Sequence[float], Sequence[float]]],
    position: Sequence[float],
    color: Rgba,
    *,
    mass: float,
    yaw: float = 0.0,
    friction: float = 0.8,
    visual_only: bool = False,
) -> int:
    """One rigid body made of boxes ``(size, offset)``, e.g. a bin from a floor and four walls."""
    halves = [[s / 2 for s in size] for size, _ in boxes]
    offsets = [list(offset) for _, offset in boxes]
    n = len(boxes)
    visual = pb.createVisualShapeArray(
        [pb.GEOM_BOX] * n,
        halfExtents=halves,
        visualFramePositions=offsets,
        rgbaColors=[list(color)] * n,
        physicsClientId=client,
    )
    collision = -1
    if not visual_only:
        collision = pb.createCollisionShapeArray(
            [pb.GEOM_BOX] * n, halfExtents=halves, collisionFramePositions=offsets, physicsClientId=client
        )
    orientation = pb.getQuaternionFromEuler([0.0, 0.0, yaw])
    body = int(
        pb.createMultiBody(mass, collision, visual, list(position), orientation, physicsClientId=client)
    )
    pb.changeDynamics(
        body,
        -1,
        lateralFriction=friction,
        spinningFriction=0.002,
        rollingFriction=0.0001,
        physicsClientId=client,
    )
    return body
