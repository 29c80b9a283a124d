"""datasets/FORMAT.md and episodes._schema describe the same layout, and files follow both."""

from __future__ import annotations

import re
from pathlib import Path

import h5py
import pytest

import episodes
from episodes import _layout as fmt
from episodes import _schema as schema
from tests.episodes.conftest import write_episode

FORMAT_MD = Path(__file__).resolve().parents[2] / "datasets" / "FORMAT.md"
_TYPES = {"str": "str", "int": "int", "float": "float", "bool": "bool", "str array": "str[]"}


def _section(heading: str) -> str:
    text = FORMAT_MD.read_text(encoding="utf-8")
    start = text.index(heading)
    following = re.search(r"^#{2,3} ", text[start + len(heading) :], flags=re.MULTILINE)
    return text[start : start + len(heading) + following.start()] if following else text[start:]


def _table(heading: str) -> dict[str, str]:
    """A section's first table: each backticked name of the first column -> its type."""
    found: dict[str, str] = {}
    for line in _section(heading).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        names = re.findall(r"`([a-z_0-9]+)`", cells[0]) if len(cells) >= 3 else []
        if not names:
            continue
        types = [t.strip() for t in re.sub(r"\s*\(.*?\)", "", cells[1]).split(",")]
        types = types if len(types) == len(names) else types[:1] * len(names)
        for name, typ in zip(names, types, strict=True):
            found[name] = _TYPES.get(typ, typ)
    return found


def _layout_block() -> list[str]:
    block = _section("## Layout").split("```")[1]
    return [line for line in block.splitlines() if line.strip()]


def test_root_attributes_table_matches_the_schema():
    documented = _table("### Root attributes: metadata")
    declared = {d.name: d.type for d in schema.ROOT_ATTRS}
    assert documented == declared


def test_stream_attributes_table_matches_the_schema():
    documented = _table("### Stream attributes")
    declared = {d.name: d.type for d in schema.STREAM_ATTRS}
    assert documented == declared


def test_layout_block_lists_the_declared_datasets():
    lines = _layout_block()
    stream_lines = lines[lines.index(next(x for x in lines if x.startswith("/streams/"))) + 1 :]
    stream_lines = stream_lines[: next(i for i, x in enumerate(stream_lines) if not x.startswith(" "))]
    documented = {}
    for line in stream_lines:
        name, rest = line.split(maxsplit=1)
        documented[name] = None if rest.startswith("(") else rest.split()[0]
    assert documented == {d.name: d.dtype for d in schema.STREAM_DATASETS}
    aligned = {line.split()[0].rsplit("/", 1)[-1] for line in lines if line.startswith("    ")} - set(
        documented
    )
    declared = {d.name for d in schema.ALIGNED_DATASETS + schema.ALIGNED_STREAM_DATASETS}
    assert aligned == declared
    embodiment = {line.split()[0] for line in lines if line.startswith(f"/{fmt.EMBODIMENT}/")}
    assert embodiment == {f"/{fmt.EMBODIMENT}/{d.name}" for d in schema.EMBODIMENT_DATASETS}


def test_aligned_attributes_paragraph_matches_the_schema():
    paragraph = _section("## Aligned view").split("Attributes of `/aligned`:")[1].split("\n\n")[0]
    assert set(re.findall(r"`([a-z_0-9]+)` \(", paragraph)) == {d.name for d in schema.ALIGNED_ATTRS}


def test_a_new_file_has_exactly_the_declared_layout(tmp_path, info, joint_spec, camera_spec):
    path = write_episode(tmp_path, [joint_spec, camera_spec], info)
    with h5py.File(path, "r") as f:
        assert set(f.attrs) == {d.name for d in schema.ROOT_ATTRS}
        for name, is_image in (("joint_position", False), ("head", True)):
            g = f[fmt.STREAMS][name]
            kind = "image" if is_image else "array"
            assert set(g.attrs) == {d.name for d in schema.stream_attr_decls(is_image)}
            assert set(g) == {d.name for d in schema.STREAM_DATASETS if d.applies in ("all", kind)}
        assert set(f[fmt.ALIGNED].attrs) == {d.name for d in schema.ALIGNED_ATTRS}
        assert set(f[fmt.EMBODIMENT]) == {d.name for d in schema.EMBODIMENT_DATASETS}


def test_a_file_without_the_optional_digest_still_opens(tmp_path, info, joint_spec):
    path = write_episode(tmp_path, [joint_spec], info)
    with h5py.File(path, "r+") as f:  # as written before content digests existed
        del f.attrs[fmt.ATTR_CONTENT_DIGEST]
    with episodes.open(path) as ep:
        assert ep.metadata.content_digest is None
        assert ep.metadata.task == info.task


def test_missing_required_stream_attribute_is_named(tmp_path, info, joint_spec):
    path = write_episode(tmp_path, [joint_spec], info)
    with h5py.File(path, "r+") as f:
        del f[fmt.STREAMS]["joint_position"].attrs["units"]
    with (
        episodes.open(path) as ep,
        pytest.raises(
            episodes.CorruptEpisodeError, match=r"stream 'joint_position' attributes \['units'\] are missing"
        ),
    ):
        ep.spec("joint_position")
