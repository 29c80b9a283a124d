"""ROS 1 and ROS 2 bags through ``rosbags``: topics, message schemas, messages in receive order.

A ``.bag`` file is ROS 1; a directory with ``metadata.yaml`` is ROS 2 (sqlite3
or MCAP storage), and so is a bare ``.mcap`` or ``.db3`` file. Message types are
defined, in order of preference, by the
bag itself (ROS 1 bags and MCAP always carry definitions; sqlite3 bags from
Iron on do), by the robot profile's ``msg_definitions``, then by the standard
ROS types (Noetic for ROS 1 bags, Humble for ROS 2). So a firmware's own
``jointData`` layout wins over the profile's, and a Humble bag of custom types
reads with the profile's definitions.

``rosbags.highlevel.AnyReader`` is not used: it takes its types from the bag
alone when the bag holds any definition, so it cannot fill in a custom type the
bag lacks from the profile.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from rosbags.interfaces import Connection, MessageDefinitionFormat, Nodetype
from rosbags.rosbag1 import Reader as Reader1
from rosbags.rosbag1 import ReaderError as ReaderError1
from rosbags.rosbag2 import Reader as Reader2
from rosbags.rosbag2 import ReaderError as ReaderError2
from rosbags.serde import SerdeError
from rosbags.typesys import Stores, TypesysError, get_types_from_idl, get_types_from_msg, get_typestore

from collectors._errors import BagReadError, MessageDefinitionError, TopicError
from collectors._fields import FieldType, Schemas, normalize_msg_type

__all__ = ["ROS2_STORAGE_SUFFIXES", "Bag", "BagTopic", "bag_fingerprint", "bag_size"]

_READ_ERRORS = (ReaderError1, ReaderError2, OSError, EOFError, ValueError, KeyError)
_IDL_SEPARATOR = "=" * 80 + "\n"
ROS2_STORAGE_SUFFIXES = (".mcap", ".db3")  # the files of a ROS 2 bag, by storage plugin


@dataclass(frozen=True)
class BagTopic:
    name: str
    msg_type: str  # pkg/msg/Type
    count: int


class Bag:
    """One bag, open for reading. Every failure is a :class:`BagError` naming the bag.

    ``msg_definitions`` (type -> ``.msg`` text) and ``definitions_from`` (the
    profile file, for messages) supply types the bag does not define.
    """

    def __init__(
        self, path: Path, *, msg_definitions: Mapping[str, str] | None = None, definitions_from: str = ""
    ) -> None:
        self.path = path
        self._profile_defs = dict(msg_definitions or {})
        self._definitions_from = definitions_from
        self.ros1, target = _locate(path)
        self.storage = "rosbag1" if self.ros1 else _ros2_storage(target)
        try:
            self._reader: Reader1 | Reader2 = Reader1(target) if self.ros1 else Reader2(target)
            self._reader.open()
        except _READ_ERRORS as exc:
            raise BagReadError(f"{path}: cannot read the bag: {_reason(exc)}") from None
        self._typestore: Any = None  # set by schemas(), from the types this bag needs
        try:
            self.topics = self._topics()
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------ context

    def close(self) -> None:
        self._reader.close()

    def __enter__(self) -> Bag:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ facts

    @property
    def start_ns(self) -> int:
        """Receive time of the bag's first message."""
        return int(self._reader.start_time) if self._reader.message_count else 0

    def _topics(self) -> dict[str, BagTopic]:
        found: dict[str, BagTopic] = {}
        for conn in self._reader.connections:
            msg_type = normalize_msg_type(conn.msgtype)
            have = found.get(conn.topic)
            if have is not None and have.msg_type != msg_type:
                raise TopicError(
                    f"{self.path}: topic {conn.topic} carries two message types, "
                    f"{have.msg_type} and {msg_type}"
                )
            count = (have.count if have else 0) + int(conn.msgcount)
            found[conn.topic] = BagTopic(conn.topic, msg_type, count)
        return found

    # ------------------------------------------------------------------ types

    def schemas(self, needed: Mapping[str, str]) -> Schemas:
        """Schemas of the message types of ``needed`` (topic -> type) and every type they use.

        Registers them for deserialising; raises MessageDefinitionError for a type
        defined nowhere, naming the topic.
        """
        bag_defs = self._bag_definitions()
        profile_defs = self._profile_definitions()
        base = get_typestore(Stores.ROS1_NOETIC if self.ros1 else Stores.ROS2_HUMBLE).fielddefs
        chosen: dict[str, Any] = {}
        for topic, root in needed.items():
            pending = [(root, "")]
            while pending:
                type_name, used_by = pending.pop()
                if type_name in chosen:
                    continue
                fielddef = bag_defs.get(type_name) or profile_defs.get(type_name) or base.get(type_name)
                if fielddef is None:
                    via = f" (used by {used_by})" if used_by else ""
                    raise MessageDefinitionError(
                        f"{self.path}: {topic}: message type {type_name}{via} has no definition: the bag "
                        f"carries none and {self._definitions_from or 'the profile'} has none in "
                        f"msg_definitions; add its .msg text there"
                    )
                chosen[type_name] = fielddef
                pending.extend((t, type_name) for t in _referenced(fielddef[1]))
        store = get_typestore(Stores.EMPTY)
        try:
            store.register(chosen)
        except TypesysError as exc:
            raise MessageDefinitionError(
                f"{self.path}: message definitions do not fit together: {exc}"
            ) from None
        self._typestore = store
        return {
            name: [(f, _field_type(desc)) for f, desc in fielddef[1]] for name, fielddef in chosen.items()
        }

    def _bag_definitions(self) -> dict[str, Any]:
        types: dict[str, Any] = {}
        for conn in self._reader.connections:
            msgdef = conn.msgdef
            if msgdef.format == MessageDefinitionFormat.NONE or not msgdef.data.strip():
                continue
            try:
                if msgdef.format == MessageDefinitionFormat.MSG:
                    types.update(get_types_from_msg(msgdef.data, normalize_msg_type(conn.msgtype)))
                elif msgdef.data.startswith(f"{_IDL_SEPARATOR}IDL: "):
                    for part in msgdef.data.split(_IDL_SEPARATOR)[1:]:
                        types.update(get_types_from_idl(part.split("\n", 1)[1]))
                else:
                    types.update(get_types_from_idl(msgdef.data))
            except (TypesysError, ValueError) as exc:
                raise MessageDefinitionError(
                    f"{self.path}: {conn.topic}: the bag's definition of {conn.msgtype} does not parse: {exc}"
                ) from None
        return types

    def _profile_definitions(self) -> dict[str, Any]:
        types: dict[str, Any] = {}
        for name, text in self._profile_defs.items():
            try:
                types.update(get_types_from_msg(text, normalize_msg_type(name)))
            except (TypesysError, ValueError) as exc:
                raise MessageDefinitionError(
                    f"{self._definitions_from or 'profile'}: msg_definitions.{name}: does not parse: {exc}"
                ) from None
        return types

    # ------------------------------------------------------------------ messages

    def messages(self, topics: Collection[str]) -> Iterator[tuple[str, int, memoryview | bytes]]:
        """``(topic, receive_ns, raw)`` of ``topics`` in receive order; decode with :meth:`decode`."""
        conns: list[Connection] = [c for c in self._reader.connections if c.topic in topics]
        if not conns:
            return
        try:
            for conn, receive_ns, raw in self._reader.messages(connections=conns):
                yield conn.topic, int(receive_ns), raw
        except _READ_ERRORS as exc:
            raise BagReadError(f"{self.path}: reading failed: {_reason(exc)}") from None

    def decoder(self, topic: str) -> Callable[[memoryview | bytes], Any]:
        """A function turning raw data read from ``topic`` into its message (after :meth:`schemas`)."""
        msg_type = self.topics[topic].msg_type
        deserialize = self._typestore.deserialize_ros1 if self.ros1 else self._typestore.deserialize_cdr
        path = self.path

        def decode(raw: memoryview | bytes) -> Any:
            try:
                return deserialize(raw, msg_type)
            except (SerdeError, ValueError, IndexError) as exc:
                raise BagReadError(
                    f"{path}: {topic}: a {msg_type} message does not deserialise ({exc}); "
                    "the definition does not match the data, or the bag is damaged"
                ) from None

        return decode


def bag_size(path: Path) -> int:
    """Bytes of a bag file, or of every file in a ROS 2 bag directory."""
    if path.is_dir():
        return sum(p.stat().st_size for p in path.iterdir() if p.is_file())
    try:
        return path.stat().st_size
    except OSError:
        return 0


_ENDS = 1 << 20  # bytes hashed at each end of a file


def bag_fingerprint(path: Path) -> str:
    """What tells a bag's contents apart, cheaply: SHA-256 of each data file's size, first and last MiB.

    Hashing whole multi-GB bags would read each one a second time; a recording's
    first MiB (its first messages, with their stamps) and last MiB (the index)
    already differ between recordings. Names do not count: a renamed or moved
    bag is the same bag. ``metadata.yaml`` does not count either (``ros2 bag
    reindex`` rewrites it).
    """
    files = (
        sorted(p for p in path.iterdir() if p.is_file() and p.name != "metadata.yaml")
        if path.is_dir()
        else [path]
    )
    digest = hashlib.sha256()
    for file in files:
        with file.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            digest.update(size.to_bytes(8, "little"))
            digest.update(f.read(_ENDS))
            if size > _ENDS:
                f.seek(max(_ENDS, size - _ENDS))
                digest.update(f.read(_ENDS))
    return f"sha256-ends:{digest.hexdigest()}"


def _locate(path: Path) -> tuple[bool, Path]:
    """(is ROS 1, what to open) for a user's bag path, or a BagReadError saying what is wrong.

    A bare ``.mcap`` or ``.db3`` file (no ``metadata.yaml`` beside it) is opened
    on its own: MCAP files carry their own index and schemas, and sqlite3 files
    their topics (rosbags reads both without the metadata).
    """
    if not path.exists():
        raise BagReadError(f"{path}: no such file or directory")
    if path.is_dir():
        if not (path / "metadata.yaml").is_file():
            raise BagReadError(
                f"{path}: not a ROS 2 bag: no metadata.yaml (an interrupted ros2 bag record leaves none; "
                f"`ros2 bag reindex {path}` rebuilds it)"
            )
        return False, path
    if path.suffix in ROS2_STORAGE_SUFFIXES:
        return False, path.parent if (path.parent / "metadata.yaml").is_file() else path
    return True, path


def _ros2_storage(target: Path) -> str:
    files = target.iterdir() if target.is_dir() else [target]
    return "mcap" if any(p.suffix == ".mcap" for p in files) else "sqlite3"


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if "not indexed" in text:
        return f"{text} (the recording was not closed: `rosbag reindex` repairs it)"
    if any(s in text for s in ("index looks damaged", "magic", "malformed", "could not be read")):
        return f"{text} (the file is truncated, damaged or not a bag)"
    return text


def _referenced(fields: list[tuple[str, Any]]) -> list[str]:
    out: list[str] = []
    for _, desc in fields:
        while desc[0] in (Nodetype.ARRAY, Nodetype.SEQUENCE):
            desc = desc[1][0]
        if desc[0] == Nodetype.NAME:
            out.append(desc[1])
    return out


def _field_type(desc: Any) -> FieldType:
    node, detail = desc
    if node == Nodetype.BASE:
        return FieldType(detail[0])
    if node == Nodetype.NAME:
        return FieldType(detail)
    inner = _field_type(detail[0])
    length = int(detail[1]) if node == Nodetype.ARRAY else None
    return FieldType(inner.name, sequence=True, length=length)
