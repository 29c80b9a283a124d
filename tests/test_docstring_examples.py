"""The runnable examples in the library's docstrings really run (from the repository root)."""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import pkgutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = (
    "tg_base",
    "episodes",
    "tg_config",
    "collectors",
    "sim_envs",
    "tg_station",
    "tg_site",
    "training_ground",
)
# The viewer's modules import Rerun (the [view] extra, Python 3.11 or later).
VIEW_PACKAGES = ("tg_view",) if importlib.util.find_spec("rerun") else ()
# The ROS layer's modules import rclpy: their examples run where the `ros` extra is installed.
ROS_PACKAGES = ("tg_recorder", "tg_sim")


def _ros_available() -> bool:
    try:
        importlib.import_module("rclpy")
    except ImportError:
        return False
    return True


def _modules() -> list[str]:
    names = []
    for package in PACKAGES + VIEW_PACKAGES + (ROS_PACKAGES if _ros_available() else ()):
        names.append(package)
        module = importlib.import_module(package)
        names += [info.name for info in pkgutil.walk_packages(module.__path__, f"{package}.")]
    return [n for n in names if not n.endswith("__main__")]


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name, monkeypatch, tmp_path):
    monkeypatch.chdir(REPO)
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"
