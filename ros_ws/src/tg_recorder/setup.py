"""colcon/ament build of tg_recorder on a robot PC with ROS 2 (Humble/Jazzy).

The training-ground Python distribution (pip install training-ground) must be
installed in the same Python: the node is a thin layer over its core.
"""

from setuptools import setup

PACKAGE = "tg_recorder"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=[PACKAGE],
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    entry_points={"console_scripts": ["recorder = tg_recorder.recorder_node:main"]},
)
