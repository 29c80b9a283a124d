"""What the two config formats share: strict models, YAML in and out, readable errors."""

from __future__ import annotations

import re
import types
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    PrivateAttr,
    ValidationError,
)

from tg_config._errors import ConfigError

Loc = tuple[str | int, ...]

_STREAM_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TOPIC_RE = re.compile(r"^/?[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*$")
# ROS 2 spells types pkg/msg/Type; ROS 1 bags (Kuavo) spell them pkg/Type.
_MSG_TYPE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*/(msg/)?[A-Za-z][A-Za-z0-9_]*$")
_INDEX = r"\[(-?\d+|-?\d*:-?\d*)\]"
_SEGMENT = rf"[A-Za-z_][A-Za-z0-9_]*({_INDEX})*"
_FIELD_RE = re.compile(rf"^{_SEGMENT}(\.{_SEGMENT})*$")


def _stream_name(value: str) -> str:
    if not _STREAM_NAME_RE.match(value):
        raise ValueError(f"name {value!r} must match [a-z][a-z0-9_]* (it becomes an HDF5 group name)")
    return value


def _ident(value: str) -> str:
    if not _IDENT_RE.match(value):
        raise ValueError(f"name {value!r} must be an identifier: [A-Za-z_][A-Za-z0-9_]*")
    return value


def _topic(value: str) -> str:
    if value and not _TOPIC_RE.match(value):
        raise ValueError(f"topic {value!r} is not a valid ROS topic name like /camera/image_raw")
    return value


def _msg_type(value: str) -> str:
    if value and not _MSG_TYPE_RE.match(value):
        raise ValueError(f"message type {value!r} must look like pkg/msg/Type (ROS 2) or pkg/Type (ROS 1)")
    return value


def _field_expr(value: str) -> str:
    if value and not _FIELD_RE.match(value):
        raise ValueError(
            f"field {value!r} must be dotted identifiers, each optionally indexed "
            "with [i] or sliced with [a:b], e.g. joint_data.joint_q[12:26]"
        )
    return value


def _field_exprs(value: object) -> str | tuple[str, ...]:
    # One expression, or a list whose values are concatenated (an IMU from three fields).
    if isinstance(value, str):
        return _field_expr(value)
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) and v for v in value):
        return tuple(_field_expr(v) for v in value)
    raise ValueError(f"field must be a field expression or a non-empty list of them, got {value!r}")


def _dump_field_exprs(value: str | tuple[str, ...]) -> str | list[str]:
    return value if isinstance(value, str) else list(value)


def _name_or_id(value: object) -> object:
    # Motor ids (Walker's `name: 11`) are matched as text, like joint names.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


# Units an episode may hold: SI, plus closure, amperes for motor current and the
# dimensionless 1. Robot-native units (degrees, percent, ticks) are converted on the way in.
UNITS = (
    "1",
    "closure",
    "rad",
    "rad/s",
    "rad/s^2",
    "m",
    "m/s",
    "m/s^2",
    "N",
    "N·m",
    "A",
    "V",
    "W",
    "s",
    "Hz",
    "K",
    "°C",
    "Pa",
    "kg",
)


def _unit(value: str) -> str:
    if value not in UNITS:
        hint = ""
        if value.lower() in ("deg", "degree", "degrees", "deg/s", "°"):
            hint = " (convert degrees with convert: deg_to_rad)"
        elif value in ("%", "percent"):
            hint = " (convert 0-100 to a closure with convert: percent_to_closure)"
        raise ValueError(f"unknown unit {value!r}{hint}; episodes hold SI units, one of: {', '.join(UNITS)}")
    return value


StreamName = Annotated[str, AfterValidator(_stream_name)]
Ident = Annotated[str, AfterValidator(_ident)]
Topic = Annotated[str, AfterValidator(_topic)]
MsgType = Annotated[str, AfterValidator(_msg_type)]
FieldExpr = Annotated[str, AfterValidator(_field_expr)]
FieldExprs = Annotated[
    str | tuple[str, ...], PlainValidator(_field_exprs), PlainSerializer(_dump_field_exprs)
]
NameOrId = Annotated[str, BeforeValidator(_name_or_id)]
Unit = Annotated[str, AfterValidator(_unit)]
PositiveFinite = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Finite = Annotated[float, Field(allow_inf_nan=False)]


def is_msg_type(value: str) -> bool:
    return bool(_MSG_TYPE_RE.match(value))


class LocatedError(ValueError):
    """Problems found by a validator, each at a location below the model that raised it.

    Pydantic keeps the raised exception in the error's context, so the
    formatter can report each problem at its own field rather than at the
    model that happened to check it.
    """

    def __init__(self, problems: Sequence[tuple[Loc, str]]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(_line(loc, msg) for loc, msg in self.problems))


def format_loc(loc: Loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _line(loc: Loc, msg: str) -> str:
    return f"{format_loc(loc)}: {msg}" if loc else msg


def format_problems(source: str, problems: Sequence[tuple[Loc, str]]) -> str:
    return "\n".join(f"{source}: {_line(loc, msg)}" for loc, msg in problems)


class ConfigModel(BaseModel):
    """Base of every config model: unknown keys are errors and values never change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


M = TypeVar("M", bound="ConfigFile")


class ConfigFile(ConfigModel):
    """A model that is a whole file: it remembers where it was read from."""

    # Relative paths inside the file (a URDF, a profile) are relative to it.
    _source: Path | None = PrivateAttr(default=None)

    @property
    def source_path(self) -> Path | None:
        """The file this was loaded from, or ``None`` when built in code."""
        return self._source

    def __eq__(self, other: object) -> bool:
        # Where a file was read from is not part of what it says: a profile
        # dumped and read back from elsewhere is the same profile.
        if not isinstance(other, ConfigFile):
            return NotImplemented
        return type(self) is type(other) and self.__dict__ == other.__dict__

    def to_yaml(self) -> str:
        """This config in its YAML form, fields left at their default omitted."""
        data = self.model_dump(mode="json", exclude_defaults=True)
        return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=None)


class _Dumper(yaml.SafeDumper):
    pass


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    # .msg definitions and descriptions stay readable as literal blocks.
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


class _Loader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    # PyYAML silently keeps the last of two equal keys; in a config that hides
    # a mistake (two `head:` overrides), so it is an error here.
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if isinstance(key, Hashable):
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"duplicate key {key!r}",
                    key_node.start_mark,
                )
            seen.add(key)
    return loader.construct_mapping(node)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml_mapping(path: Path) -> dict[str, Any]:
    """The top-level mapping of a YAML file; any failure is a ConfigError naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else f"{path}"
        raise ConfigError(f"{where}: invalid YAML: {problem}") from None
    if data is None:
        raise ConfigError(f"{path}: the file is empty; expected a mapping of fields")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of fields at the top level, got {type(data).__name__}")
    return data


def validate_file(cls: type[M], data: Mapping[str, Any], path: Path) -> M:
    """``cls`` validated from a file's data; errors become one ConfigError, one line each."""
    try:
        model = cls.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, str(path), cls)) from None
    model._source = path
    return model


def format_validation_error(exc: ValidationError, source: str, root: type[BaseModel]) -> str:
    problems: list[tuple[Loc, str]] = []
    for err in exc.errors():
        loc: Loc = tuple(err["loc"])
        raised = (err.get("ctx") or {}).get("error")
        if isinstance(raised, LocatedError):
            problems.extend((loc + sub, msg) for sub, msg in raised.problems)
            continue
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden" and loc:
            msg = f"unknown field {loc[-1]!r}"
            allowed = _fields_at(root, loc[:-1])
            if allowed:
                msg += f"; allowed here: {', '.join(allowed)}"
        elif err["type"] != "value_error" and _is_scalar(err.get("input")):
            msg += f" (got {err['input']!r})"
        problems.append((loc, msg))
    return format_problems(source, problems)


def _is_scalar(value: object) -> bool:
    return isinstance(value, (str, int, float, bool)) or value is None


def _fields_at(root: type[BaseModel], loc: Loc) -> list[str]:
    """The field names of the model at ``loc``, found by walking the annotations."""
    tp: Any = root
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if not isinstance(part, str) or part not in tp.model_fields:
                return []
            tp = tp.model_fields[part].annotation
            continue
        args = get_args(tp)
        origin = get_origin(tp)
        if origin in (tuple, list) and args:
            tp = args[0]
        elif origin in (dict, Mapping) and len(args) == 2:
            tp = args[1]
        else:
            return []
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return list(tp.model_fields)
    return []


def _unwrap(tp: Any) -> Any:
    origin = get_origin(tp)
    if origin is Annotated:
        return _unwrap(get_args(tp)[0])
    if origin is Union or origin is types.UnionType:
        options = [a for a in get_args(tp) if a is not type(None)]
        if len(options) == 1:
            return _unwrap(options[0])
    return tp
