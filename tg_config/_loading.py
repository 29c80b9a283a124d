"""Finding and reading robot profiles: by path, or by name from the profile registry.

The registry is every ``*.yaml`` in the folders listed in ``TG_PROFILE_PATH``
(``os.pathsep``-separated, earlier folders first) followed by the profiles
shipped in ``tg_config/profiles/``. A profile's name is its file name without
``.yaml``; the first folder holding a name wins, so a user's profile shadows a
shipped one of the same name. The environment is read on every call.
"""

from __future__ import annotations

import os
from pathlib import Path

from tg_config._base import read_yaml_mapping, validate_file
from tg_config._errors import ConfigError, UnknownProfileError
from tg_config._profile import RobotProfile

__all__ = ["PROFILE_PATH_ENV", "list_profiles", "load_profile"]

PROFILE_PATH_ENV = "TG_PROFILE_PATH"
_SHIPPED = Path(__file__).resolve().parent / "profiles"


def _search_dirs() -> list[Path]:
    user = [Path(p) for p in os.environ.get(PROFILE_PATH_ENV, "").split(os.pathsep) if p]
    return [*user, _SHIPPED]


def list_profiles() -> dict[str, Path]:
    """Every profile name the registry knows, sorted, with the file it resolves to."""
    found: dict[str, Path] = {}
    for folder in _search_dirs():
        # A folder on the path that does not exist is skipped, as PATH does.
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.yaml")):
            found.setdefault(path.stem, path)
    return dict(sorted(found.items()))


def looks_like_path(value: str) -> bool:
    return "/" in value or os.sep in value or value.endswith((".yaml", ".yml"))


def load_profile(name_or_path: str | os.PathLike[str]) -> RobotProfile:
    """A validated robot profile, from a file path or a registry name.

    A string with a path separator or a ``.yaml``/``.yml`` suffix is a path;
    anything else is a name (see :func:`list_profiles`). Raises
    :class:`UnknownProfileError` for an unknown name and :class:`ConfigError`
    for a file that is missing or invalid.
    """
    if isinstance(name_or_path, os.PathLike) or looks_like_path(name_or_path):
        path = Path(name_or_path)
        return validate_file(RobotProfile, read_yaml_mapping(path), path)
    known = list_profiles()
    path_found = known.get(name_or_path)
    if path_found is None:
        raise UnknownProfileError(name_or_path, list(known))
    profile = validate_file(RobotProfile, read_yaml_mapping(path_found), path_found)
    if profile.name != name_or_path:
        raise ConfigError(
            f"{path_found}: name: {profile.name!r} differs from the file name; a profile "
            f"found by name must be named like its file ({name_or_path!r})"
        )
    return profile
