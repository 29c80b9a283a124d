"""URDF text from a description of links built out of primitive shapes.

The robots of the training ground are our own: every link is boxes, cylinders
and spheres, so the files need no meshes and nothing is downloaded. A robot
model describes its links and joints with these dataclasses and
:func:`render_urdf` writes the file.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Union
from xml.sax.saxutils import quoteattr

__all__ = ["Box", "Cylinder", "JointDef", "LinkDef", "Shape", "Sphere", "render_urdf"]

Vec3 = tuple[float, float, float]
Rgba = tuple[float, float, float, float]


@dataclass(frozen=True)
class Box:
    size: Vec3
    xyz: Vec3 = (0.0, 0.0, 0.0)
    rpy: Vec3 = (0.0, 0.0, 0.0)


@dataclass(frozen=True)
class Cylinder:
    """A cylinder along the shape's z axis."""

    radius: float
    length: float
    xyz: Vec3 = (0.0, 0.0, 0.0)
    rpy: Vec3 = (0.0, 0.0, 0.0)


@dataclass(frozen=True)
class Sphere:
    radius: float
    xyz: Vec3 = (0.0, 0.0, 0.0)
    rpy: Vec3 = (0.0, 0.0, 0.0)


Shape = Union[Box, Cylinder, Sphere]  # noqa: UP007 - runtime alias, 3.10


@dataclass(frozen=True)
class LinkDef:
    """A link: its shapes (visual and, unless ``collide`` is false, collision) and mass."""

    name: str
    shapes: tuple[Shape, ...] = ()
    mass: float = 0.0
    color: Rgba = (0.7, 0.7, 0.72, 1.0)
    collide: bool = True


@dataclass(frozen=True)
class JointDef:
    """A joint from ``parent`` to ``child``; limits are ignored for fixed joints."""

    name: str
    parent: str
    child: str
    type: Literal["revolute", "prismatic", "fixed"] = "revolute"
    xyz: Vec3 = (0.0, 0.0, 0.0)
    rpy: Vec3 = (0.0, 0.0, 0.0)
    axis: Vec3 = (0.0, 0.0, 1.0)
    lower: float = 0.0
    upper: float = 0.0
    velocity: float = 1.0
    effort: float = 1.0
    damping: float = field(default=0.0)


def _f(value: float) -> str:
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _v(values: Sequence[float]) -> str:
    return " ".join(_f(v) for v in values)


def _geometry(shape: Shape) -> str:
    if isinstance(shape, Box):
        return f'<box size="{_v(shape.size)}"/>'
    if isinstance(shape, Cylinder):
        return f'<cylinder radius="{_f(shape.radius)}" length="{_f(shape.length)}"/>'
    return f'<sphere radius="{_f(shape.radius)}"/>'


def _extent(shape: Shape) -> Vec3:
    if isinstance(shape, Box):
        return shape.size
    if isinstance(shape, Cylinder):
        return (2 * shape.radius, 2 * shape.radius, shape.length)
    return (2 * shape.radius,) * 3


def _inertial(link: LinkDef) -> list[str]:
    # A uniform box around the first shape: good enough for position-controlled links, and
    # never degenerate (PyBullet misbehaves with zero inertia on a moving link).
    if link.mass <= 0:
        return []
    first = link.shapes[0] if link.shapes else Sphere(0.02)
    x, y, z = (max(e, 0.01) for e in _extent(first))
    m = link.mass
    ixx, iyy, izz = m * (y * y + z * z) / 12, m * (x * x + z * z) / 12, m * (x * x + y * y) / 12
    return [
        "    <inertial>",
        f'      <origin xyz="{_v(first.xyz)}" rpy="0 0 0"/>',
        f'      <mass value="{_f(m)}"/>',
        f'      <inertia ixx="{ixx:.6g}" ixy="0" ixz="0" iyy="{iyy:.6g}" iyz="0" izz="{izz:.6g}"/>',
        "    </inertial>",
    ]


def _link(link: LinkDef) -> list[str]:
    lines = [f"  <link name={quoteattr(link.name)}>"]
    lines += _inertial(link)
    for shape in link.shapes:
        origin = f'<origin xyz="{_v(shape.xyz)}" rpy="{_v(shape.rpy)}"/>'
        lines += [
            "    <visual>",
            f"      {origin}",
            f"      <geometry>{_geometry(shape)}</geometry>",
            f'      <material name="{link.name}_color"><color rgba="{_v(link.color)}"/></material>',
            "    </visual>",
        ]
        if link.collide:
            lines += [
                "    <collision>",
                f"      {origin}",
                f"      <geometry>{_geometry(shape)}</geometry>",
                "    </collision>",
            ]
    lines.append("  </link>")
    return lines


def _joint(joint: JointDef) -> list[str]:
    lines = [
        f"  <joint name={quoteattr(joint.name)} type={quoteattr(joint.type)}>",
        f"    <parent link={quoteattr(joint.parent)}/>",
        f"    <child link={quoteattr(joint.child)}/>",
        f'    <origin xyz="{_v(joint.xyz)}" rpy="{_v(joint.rpy)}"/>',
    ]
    if joint.type != "fixed":
        norm = math.sqrt(sum(a * a for a in joint.axis))
        lines += [
            f'    <axis xyz="{_v([a / norm for a in joint.axis])}"/>',
            f'    <limit lower="{_f(joint.lower)}" upper="{_f(joint.upper)}" '
            f'velocity="{_f(joint.velocity)}" effort="{_f(joint.effort)}"/>',
            f'    <dynamics damping="{_f(joint.damping)}" friction="0"/>',
        ]
    lines.append("  </joint>")
    return lines


def render_urdf(name: str, links: Sequence[LinkDef], joints: Sequence[JointDef], comment: str = "") -> str:
    """The URDF document of a robot, deterministic to the byte (it is stored in episodes).

    >>> text = render_urdf("r", [LinkDef("base", (Box((0.1, 0.1, 0.1)),), mass=1.0)], [])
    >>> text.splitlines()[1]
    '<robot name="r">'
    """
    lines = ['<?xml version="1.0"?>']
    if comment:
        lines.append(f"<!-- {comment} -->")
    lines.append(f"<robot name={quoteattr(name)}>")
    for link in links:
        lines += _link(link)
    for joint in joints:
        lines += _joint(joint)
    lines.append("</robot>")
    return "\n".join(lines) + "\n"
