"""Message to numpy row: how a profile stream's ``field`` reads its values out of a message.

ROS-free. It works on any message object with plain attribute access whose
array fields are numpy arrays, ``array.array`` or lists: messages deserialised
by ``rosbags`` (bag ingestion) as well as ``rclpy`` messages (live recording).

A stream is compiled once against its message type's *schema* (every field of
every message type, in declaration order). Compiling checks the expression,
resolves positional picks to field names (``joint_data[3]`` is the fourth field
of ``jointData``, whatever a firmware calls it) and returns a reader that only
does attribute access and numpy work per message.

Field expressions (see ``tg_config/PROFILES.md``):

* ``a.b.c``: nested fields; ``[i]`` / ``[a:b]`` index or slice an array;
* ``msg[i]`` on a message (not an array) picks its i-th field by position;
* ``status.pos`` on an array of messages reads ``pos`` of each element;
* a message of numbers (``Vector3``, ``Quaternion``, ``Pose``) gives all of them in order;
* several expressions (a YAML list) are concatenated.

>>> schemas = {
...     "demo/msg/State": [("header", FieldType("std_msgs/msg/Header")),
...                        ("joints", FieldType("demo/msg/Joints"))],
...     "demo/msg/Joints": [("q", FieldType("float64", sequence=True)),
...                         ("current", FieldType("float64", sequence=True))],
... }
>>> reader = compile_fields(("joints[1][0:2]",), "demo/msg/State", schemas, dim=2, where="/state")
>>> reader.resolved, reader.source_field
('joints.current[0:2]', 'current')
>>> from types import SimpleNamespace as Msg
>>> reader.read(Msg(joints=Msg(q=[0.1, 0.2, 0.3], current=[1.5, 2.5, 3.5])))
array([1.5, 2.5])
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from collectors._errors import FieldError

__all__ = [
    "FieldReader",
    "FieldType",
    "Schemas",
    "StampReader",
    "compile_fields",
    "header_stamp_reader",
    "normalize_msg_type",
    "ros2_field_type",
    "standard_fields",
]

_NUMERIC = frozenset(
    {
        "bool",
        "byte",
        "char",
        "octet",
        "int8",
        "uint8",
        "int16",
        "uint16",
        "int32",
        "uint32",
        "int64",
        "uint64",
        "float32",
        "float64",
    }
)
_INTEGER = _NUMERIC - {"float32", "float64", "bool"}
_STRINGS = frozenset({"string", "wstring"})
_HEADER = "std_msgs/msg/Header"
_SEGMENT_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)((?:\[[^\]]*\])*)")
_INDEX_RE = re.compile(r"\[([^\]]*)\]")
# A reader keeps the index order of at most this many different name orders (a publisher
# that shuffles its names every message would otherwise grow the cache without end).
_NAME_ORDERS_KEPT = 64

# What `field: ""` means: the standard layout of well-known message types, per stream kind
# ("*" for any kind).
_STANDARD_FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "sensor_msgs/msg/JointState": {
        "joint_position": ("position",),
        "joint_velocity": ("velocity",),
        "joint_effort": ("effort",),
        "gripper": ("position",),
    },
    "sensor_msgs/msg/Imu": {"imu": ("orientation", "angular_velocity", "linear_acceleration")},
    "geometry_msgs/msg/PoseStamped": {"pose": ("pose.position", "pose.orientation")},
    "geometry_msgs/msg/Pose": {"pose": ("position", "orientation")},
    "geometry_msgs/msg/TransformStamped": {"pose": ("transform.translation", "transform.rotation")},
    "geometry_msgs/msg/WrenchStamped": {"wrench": ("wrench.force", "wrench.torque")},
    "geometry_msgs/msg/Wrench": {"wrench": ("force", "torque")},
    **{
        f"std_msgs/msg/{name}": {"*": ("data",)}
        for name in ("Float64", "Float32", "Float64MultiArray", "Float32MultiArray", "Bool")
    },
}


@dataclass(frozen=True)
class FieldType:
    """The declared type of one message field: a primitive or a message type, maybe an array."""

    name: str
    sequence: bool = False
    length: int | None = None  # fixed-size arrays (float64[9]); None for unbounded sequences

    @property
    def is_message(self) -> bool:
        return "/" in self.name

    def describe(self) -> str:
        if not self.sequence:
            return self.name
        return f"{self.name}[{self.length if self.length is not None else ''}]"


# Every message type's fields, in declaration order.
Schemas = Mapping[str, Sequence[tuple[str, FieldType]]]


def normalize_msg_type(name: str) -> str:
    """``pkg/Type`` (ROS 1) and ``pkg/msg/Type`` (ROS 2) both become ``pkg/msg/Type``.

    >>> normalize_msg_type("kuavo_msgs/sensorsData"), normalize_msg_type("sensor_msgs/msg/Imu")
    ('kuavo_msgs/msg/sensorsData', 'sensor_msgs/msg/Imu')
    """
    parts = name.split("/")
    if len(parts) == 2:
        return f"{parts[0]}/msg/{parts[1]}"
    return name


# rclpy spells primitive types the IDL way.
_ROS2_PRIMITIVES = {"double": "float64", "float": "float32", "boolean": "bool", "octet": "byte"}
_ROS2_SEQUENCE_RE = re.compile(r"sequence<(.+?)(?:,\s*\d+)?>")
_ROS2_ARRAY_RE = re.compile(r"(.+)\[(\d+)\]")


def ros2_field_type(text: str) -> FieldType:
    """The :class:`FieldType` of an rclpy type string (``Msg.get_fields_and_field_types()``).

    This is how the live recorder describes rclpy messages to :func:`compile_fields`.

    >>> ros2_field_type("sequence<double>"), ros2_field_type("double[9]").length
    (FieldType(name='float64', sequence=True, length=None), 9)
    >>> ros2_field_type("std_msgs/Header").name, ros2_field_type("string<=8").name
    ('std_msgs/msg/Header', 'string')
    """
    match = _ROS2_SEQUENCE_RE.fullmatch(text)
    if match:
        return FieldType(_ros2_name(match.group(1)), sequence=True)
    match = _ROS2_ARRAY_RE.fullmatch(text)
    if match:
        return FieldType(_ros2_name(match.group(1)), sequence=True, length=int(match.group(2)))
    return FieldType(_ros2_name(text))


def _ros2_name(text: str) -> str:
    base = text.split("<=")[0]  # bounded strings: string<=8
    if "/" in base:
        return normalize_msg_type(base)
    return _ROS2_PRIMITIVES.get(base, base)


def standard_fields(msg_type: str, kind: str) -> tuple[str, ...] | None:
    """The field expressions ``field: ""`` stands for, or None when the type has no standard layout."""
    layouts = _STANDARD_FIELDS.get(normalize_msg_type(msg_type), {})
    return layouts.get(kind) or layouts.get("*")


@dataclass(frozen=True)
class FieldReader:
    """A compiled stream: reads its ``dim`` values, converted to the profile's units, as float64.

    Reading is split in two so that many messages can be read at once without
    keeping them: ``pick(msg)`` takes what the stream needs out of one message
    (attribute access only, no copy), ``rows(picked)`` turns many picks into an
    ``(N, dim)`` array with one numpy call per field.
    """

    dim: int
    resolved: str  # the expressions with positional picks resolved: joint_data.joint_current[12:26]
    source_field: str  # the last message field read when there is one expression, else ""
    pick: Callable[[Any], Any]
    _rows: Callable[[Sequence[Any]], npt.NDArray[np.float64]]

    def rows(self, picked: Sequence[Any]) -> npt.NDArray[np.float64]:
        """The values of many picks, shape ``(len(picked), dim)``."""
        return self._rows(picked)

    def read(self, msg: Any) -> npt.NDArray[np.float64]:
        """The values of one message, shape ``(dim,)``."""
        row: npt.NDArray[np.float64] = self._rows((self.pick(msg),))[0]
        return row


@dataclass
class _Path:
    get: Callable[[Any], Any]
    resolved: str
    last_field: str
    final: FieldType
    mapped: bool  # the value is a Python list built by reading a field of each array element
    static_len: int | None
    # Dotted names of the numbers the path reads, when it reads only plain fields (imu_data.quat.x,
    # ...): several such paths are then read by one attrgetter.
    scalars: tuple[str, ...] | None = None


def compile_fields(
    fields: Sequence[str],
    msg_type: str,
    schemas: Schemas,
    *,
    dim: int,
    where: str,
    scale: float = 1.0,
    offset: float = 0.0,
    name_field: str = "",
    source_names: Sequence[str] = (),
) -> FieldReader:
    """Compile field expressions against ``msg_type``; raise :class:`FieldError` naming ``where``.

    ``name_field`` (e.g. ``name`` of a JointState, ``status.name`` of Walker's
    MotorStatusMsg) switches from position to name matching: the values are
    picked by finding each of ``source_names`` among the message's names.
    """
    root = normalize_msg_type(msg_type)
    if root not in schemas:
        raise FieldError(f"{where}: no definition of message type {root}")
    expr = ", ".join(fields)
    paths = [_compile_path(f, root, schemas, where) for f in fields]
    for path, text in zip(paths, fields, strict=True):
        _check_numeric(path, text, where)
    if name_field:
        matching = _Matching(where, expr, dim, name_field, tuple(source_names))
        pick, convert = _by_name_reading(paths, root, schemas, matching)
    else:
        pick, convert = _by_position_reading(paths, where, expr, dim)
    return FieldReader(
        dim=dim,
        resolved=", ".join(p.resolved for p in paths),
        source_field=paths[0].last_field if len(paths) == 1 else "",
        pick=pick,
        _rows=_scaled(convert, scale, offset),
    )


_Convert = Callable[[Sequence[Any]], npt.NDArray[np.float64]]


@dataclass(frozen=True)
class _Matching:
    """A stream read by name: the expression, its names field and the names it reads, in order."""

    where: str
    expr: str
    dim: int
    name_field: str
    wanted: tuple[str, ...]


def _by_name_reading(
    paths: list[_Path], root: str, schemas: Schemas, m: _Matching
) -> tuple[Callable[[Any], Any], _Convert]:
    """Pick the values and the names; convert by finding each wanted name among the names."""
    if len(paths) != 1:
        raise FieldError(f"{m.where}: name matching ({m.name_field}) needs a single field, got {m.expr}")
    values = paths[0]
    names = _compile_path(m.name_field, root, schemas, m.where, flatten=False)
    _check_names(names, m.name_field, m.where)
    if not (values.final.sequence or values.mapped):
        raise FieldError(
            f"{m.where}: field {m.expr} is a single {values.final.name}; matching by name needs an array"
        )
    if len(m.wanted) != m.dim:
        raise FieldError(f"{m.where}: {len(m.wanted)} source names for {m.dim} values")
    return _pair(names.get, values.get), _by_name(m.wanted, m.where, m.expr, m.name_field)


def _by_position_reading(
    paths: list[_Path], where: str, expr: str, dim: int
) -> tuple[Callable[[Any], Any], _Convert]:
    """Pick every path's value, fastest first: one attrgetter for plain numbers, one getter, a tuple."""
    static = [p.static_len for p in paths]
    known = [n for n in static if n is not None]
    if len(known) == len(static) and sum(known) != dim:
        raise FieldError(f"{where}: field {expr} gives {sum(known)} values; the stream has {dim}")
    scalars = [p.scalars for p in paths]
    if all(scalars):
        dotted = [name for names in scalars if names for name in names]
        return operator.attrgetter(*dotted), _by_position(where, expr, dim)
    if len(paths) == 1:
        return paths[0].get, _by_position(where, expr, dim)
    getters = [p.get for p in paths]
    return _tuple_of(getters), _by_positions(len(getters), where, expr, dim)


def _scaled(convert: _Convert, scale: float, offset: float) -> _Convert:
    def rows(picked: Sequence[Any]) -> npt.NDArray[np.float64]:
        out = convert(picked)
        if scale != 1.0:
            out *= scale
        if offset != 0.0:
            out += offset
        return out

    return rows


@dataclass(frozen=True)
class StampReader:
    """Reads ``header.stamp`` in ns: ``read(msg)`` for one message; ``pick`` and ``stamps`` for many."""

    where: str

    @staticmethod
    def pick(msg: Any) -> Any:
        return _SEC_NANOSEC(msg)

    def read(self, msg: Any) -> int:
        stamp = msg.header.stamp
        ns = int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)
        if ns == 0:
            raise self._unstamped()
        return ns

    def stamps(self, picked: Sequence[Any]) -> npt.NDArray[np.int64]:
        """Stamps of many picks, in ns."""
        sec_ns = np.array(picked, dtype=np.int64).reshape(-1, 2)
        out: npt.NDArray[np.int64] = sec_ns[:, 0] * 1_000_000_000 + sec_ns[:, 1]
        if not out.all():
            raise self._unstamped()
        return out

    def _unstamped(self) -> FieldError:
        return FieldError(
            f"{self.where}: header.stamp is 0: the publisher does not stamp its messages; "
            "use stamp: arrival (the time the message was received)"
        )


_SEC_NANOSEC = operator.attrgetter("header.stamp.sec", "header.stamp.nanosec")


def header_stamp_reader(msg_type: str, schemas: Schemas, *, where: str) -> StampReader:
    """The reader of ``header.stamp`` of ``msg_type``; FieldError if the type has no header."""
    root = normalize_msg_type(msg_type)
    header = dict(schemas.get(root, ())).get("header")
    if header is None or header.name != _HEADER or header.sequence:
        raise FieldError(
            f"{where}: {root} has no std_msgs/Header header, so it carries no source stamp; "
            "use stamp: arrival (the time the message was received)"
        )
    return StampReader(where)


# ------------------------------------------------------------------ compiling


def _compile_path(text: str, root: str, schemas: Schemas, where: str, *, flatten: bool = True) -> _Path:
    return _PathCompiler(text, root, schemas, where).compile(flatten=flatten)


class _PathCompiler:
    """Compiles one field expression, a step per field name and per ``[...]``, into a getter.

    The state is the value the steps have reached so far: its type (``cur``),
    whether it is a list built from each element of an array of messages
    (``mapped``), its length where known, and the getter's operations.
    Consecutive plain field reads are merged into one ``attrgetter``.
    """

    def __init__(self, text: str, root: str, schemas: Schemas, where: str) -> None:
        self.text = text
        self.schemas = schemas
        self.where = where
        self.ops: list[Callable[[Any], Any]] = []
        self.attrs: list[str] = []  # consecutive plain field reads, merged into one attrgetter
        self.resolved: list[str] = []
        self.cur = FieldType(root)
        self.mapped = False
        self.static_len: int | None = None  # length of the current array value, where known
        self.last_field = ""

    @property
    def is_array(self) -> bool:
        return self.cur.sequence or self.mapped

    def compile(self, *, flatten: bool) -> _Path:
        for seg_index, segment in enumerate(self.text.split(".")):
            match = _SEGMENT_RE.fullmatch(segment)
            if match is None:
                raise FieldError(f"{self.where}: field {self.text!r} is not a field expression")
            self.step_field(match.group(1))
            self.resolved.append(("." if seg_index else "") + self.last_field)
            for index in _INDEX_RE.findall(match.group(2)):
                _INDEX_STEPS[_index_kind(index, self.is_array)](self, index)
        return self.finish(flatten=flatten)

    def error(self, what: str) -> FieldError:
        return FieldError(f"{self.where}: field {self.text}: {what}")

    def flush_attrs(self) -> None:
        if self.attrs:
            self.ops.append(operator.attrgetter(".".join(self.attrs)))
            self.attrs.clear()

    def field_of(self, type_name: str, name: str | int) -> tuple[str, FieldType]:
        if type_name not in self.schemas:
            raise self.error(f"no definition of message type {type_name}")
        fields = list(self.schemas[type_name])
        listed = ", ".join(f"{n} ({t.describe()})" for n, t in fields)
        if isinstance(name, int):
            if not -len(fields) <= name < len(fields):
                raise self.error(f"{type_name} has {len(fields)} fields, no field [{name}]; it has {listed}")
            return fields[name]
        for field_name, field_type in fields:
            if field_name == name:
                return field_name, field_type
        raise self.error(f"{type_name} has no field {name!r}; it has {listed}")

    def step_field(self, name: str | int) -> None:
        """A field of the current message, by name or position (of each element of an array of them)."""
        if not self.cur.is_message:
            raise self.error(f"{self.cur.describe()} has no fields (at {name!r})")
        field_name, ftype = self.field_of(self.cur.name, name)
        if self.is_array:
            # A field of every element of an array of messages: Walker's status.pos.
            if ftype.sequence:
                raise self.error(
                    f"{field_name} of each element is itself an array; pick one value of it, e.g. with [0]"
                )
            self.flush_attrs()
            self.ops.append(_map_attr(field_name))
            self.mapped = True
        else:
            self.attrs.append(field_name)
            self.static_len = ftype.length if ftype.sequence else None
        self.cur = ftype
        self.last_field = field_name

    def step_slice(self, index: str) -> None:
        """``[a:b]`` of an array."""
        if not self.is_array:
            raise self.error(f"[{index}] slices {self.cur.describe()}, which is not an array")
        a_text, b_text = index.split(":", 1)
        a = int(a_text) if a_text else None
        b = int(b_text) if b_text else None
        self.flush_attrs()
        self.ops.append(operator.itemgetter(slice(a, b)))
        self.static_len = _slice_len(self.static_len, a, b)
        self.resolved.append(f"[{index}]")

    def step_element(self, index: str) -> None:
        """``[i]`` of an array: one element."""
        self.flush_attrs()
        self.ops.append(operator.itemgetter(int(index)))
        self.mapped = False
        self.static_len = None
        self.cur = FieldType(self.cur.name)
        self.resolved.append(f"[{index}]")

    def step_position(self, index: str) -> None:
        """``[i]`` of a message (not an array): its i-th field.

        jointData's fourth field is joint_current or joint_torque depending on the firmware.
        """
        self.step_field(int(index))
        self.resolved.append(f".{self.last_field}")

    def finish(self, *, flatten: bool) -> _Path:
        """The path, once every step is taken; ``flatten``: a message of numbers gives all of them."""
        scalars: tuple[str, ...] | None = None
        prefix = ".".join(self.attrs) if not self.ops else None  # only plain field reads so far
        if flatten and self.cur.is_message and not self.is_array:
            # A message of numbers (Vector3, Quaternion, Pose) gives all of them, in declaration order.
            leaves = _leaf_paths(self.cur.name, self.schemas, f"{self.where}: field {self.text}")
            if prefix is not None:
                scalars = tuple(f"{prefix}.{leaf}" for leaf in leaves)
            self.flush_attrs()
            self.ops.append(operator.attrgetter(*leaves))
            self.static_len = len(leaves)
            self.cur = FieldType("float64", sequence=True, length=len(leaves))
        elif not self.is_array:
            self.static_len = 1
            if prefix is not None:
                scalars = (prefix,)
        self.flush_attrs()
        return _Path(
            get=_chain(self.ops),
            resolved="".join(self.resolved),
            last_field=self.last_field,
            final=self.cur,
            mapped=self.mapped,
            static_len=self.static_len,
            scalars=scalars,
        )


def _index_kind(index: str, is_array: bool) -> str:
    if ":" in index:
        return "slice"
    return "element" if is_array else "position"


# What an index step does, by the kind of ``[...]`` and what it applies to.
_INDEX_STEPS: dict[str, Callable[[_PathCompiler, str], None]] = {
    "slice": _PathCompiler.step_slice,
    "element": _PathCompiler.step_element,
    "position": _PathCompiler.step_position,
}


def _leaf_paths(type_name: str, schemas: Schemas, where: str) -> list[str]:
    out: list[str] = []
    for name, ftype in schemas.get(type_name, ()):
        if ftype.is_message and not ftype.sequence:
            out += [f"{name}.{leaf}" for leaf in _leaf_paths(ftype.name, schemas, where)]
        elif ftype.name in _NUMERIC and not ftype.sequence:
            out.append(name)
        else:
            raise FieldError(
                f"{where} is a {type_name} message, which holds {name} ({ftype.describe()}); "
                "only messages of plain numbers (Vector3, Quaternion, Pose) can be read whole; "
                "name the fields to read"
            )
    if not out:
        raise FieldError(f"{where}: {type_name} holds no numbers")
    return out


def _slice_len(length: int | None, a: int | None, b: int | None) -> int | None:
    if length is not None:
        return len(range(length)[slice(a, b)])
    if a is not None and b is not None and 0 <= a <= b:
        return b - a  # at most; a shorter array gives fewer, which the reader reports
    return None


def _check_numeric(path: _Path, text: str, where: str) -> None:
    final = path.final
    if final.is_message:
        raise FieldError(
            f"{where}: field {text} is an array of {final.name} messages; read one field of each, "
            f"e.g. {text}.<field>"
        )
    if final.name not in _NUMERIC:
        raise FieldError(f"{where}: field {text} is {final.describe()}; a stream holds numbers")


def _check_names(path: _Path, text: str, where: str) -> None:
    final = path.final
    if not (final.sequence or path.mapped) or final.name not in (_STRINGS | _INTEGER):
        raise FieldError(
            f"{where}: name_field {text} is {final.describe()}; expected an array of names or ids"
        )


def _map_attr(name: str) -> Callable[[Any], list[Any]]:
    get = operator.attrgetter(name)

    def each(seq: Any) -> list[Any]:
        return [get(e) for e in seq]

    return each


def _chain(ops: list[Callable[[Any], Any]]) -> Callable[[Any], Any]:
    # Never empty: every expression starts with a field name.
    if len(ops) == 1:
        return ops[0]

    def run(value: Any) -> Any:
        for op in ops:
            value = op(value)
        return value

    return run


def _rows(values: list[Any], where: str, expr: str) -> npt.NDArray[np.float64]:
    """(N, k) float64 from one value per message: arrays of equal length, tuples or numbers."""
    try:
        rows = np.array(values, dtype=np.float64)
    except (ValueError, TypeError):
        lengths = sorted({len(v) if hasattr(v, "__len__") else 1 for v in values})
        raise FieldError(
            f"{where}: field {expr} gives a different number of values from message to message "
            f"({', '.join(map(str, lengths))}); a stream has a fixed number"
        ) from None
    if rows.ndim == 1:
        return rows.reshape(-1, 1)
    return rows.reshape(rows.shape[0], -1)


def _pair(first: Callable[[Any], Any], second: Callable[[Any], Any]) -> Callable[[Any], tuple[Any, Any]]:
    return lambda msg: (first(msg), second(msg))


def _tuple_of(getters: list[Callable[[Any], Any]]) -> Callable[[Any], tuple[Any, ...]]:
    return lambda msg: tuple(g(msg) for g in getters)


def _by_position(where: str, expr: str, dim: int) -> Callable[[Sequence[Any]], npt.NDArray[np.float64]]:
    def convert(picked: Sequence[Any]) -> npt.NDArray[np.float64]:
        rows = _rows(list(picked), where, expr)
        if rows.shape[1] != dim:
            raise FieldError(f"{where}: field {expr} gives {rows.shape[1]} values; the stream has {dim}")
        return rows

    return convert


def _by_positions(
    count: int, where: str, expr: str, dim: int
) -> Callable[[Sequence[Any]], npt.NDArray[np.float64]]:
    def convert(picked: Sequence[Any]) -> npt.NDArray[np.float64]:
        rows = np.concatenate([_rows([p[i] for p in picked], where, expr) for i in range(count)], axis=1)
        if rows.shape[1] != dim:
            raise FieldError(f"{where}: field {expr} gives {rows.shape[1]} values; the stream has {dim}")
        return rows

    return convert


def _by_name(
    wanted: tuple[str, ...], where: str, expr: str, name_field: str
) -> Callable[[Sequence[Any]], npt.NDArray[np.float64]]:
    orders: dict[tuple[str, ...], npt.NDArray[np.intp]] = {}

    def index_for(keys: tuple[str, ...]) -> npt.NDArray[np.intp]:
        idx = orders.get(keys)
        if idx is not None:
            return idx
        position = {k: i for i, k in enumerate(keys)}
        missing = [w for w in wanted if w not in position]
        if missing:
            raise FieldError(
                f"{where}: {name_field} lacks {', '.join(missing)} (has {', '.join(keys) or 'none'}); "
                f"the stream reads {', '.join(wanted)}"
            )
        if len(orders) >= _NAME_ORDERS_KEPT:
            orders.clear()
        idx = np.array([position[w] for w in wanted], dtype=np.intp)
        orders[keys] = idx
        return idx

    def convert(picked: Sequence[Any]) -> npt.NDArray[np.float64]:
        keys = [tuple(map(str, names)) for names, _ in picked]
        values = [v for _, v in picked]
        if all(k == keys[0] for k in keys):  # the usual case: one order for the whole block
            block = _rows(values, where, expr)
            if block.shape[1] != len(keys[0]):
                raise FieldError(
                    f"{where}: {expr} has {block.shape[1]} values but {name_field} has {len(keys[0])} names"
                )
            return block[:, index_for(keys[0])]
        out = np.empty((len(picked), len(wanted)), dtype=np.float64)
        for i, (k, row) in enumerate(zip(keys, values, strict=True)):
            values_i = np.asarray(row, dtype=np.float64).reshape(-1)
            if values_i.shape[0] != len(k):
                raise FieldError(
                    f"{where}: {expr} has {values_i.shape[0]} values but {name_field} has {len(k)} names"
                )
            out[i] = values_i[index_for(k)]
        return out

    return convert
