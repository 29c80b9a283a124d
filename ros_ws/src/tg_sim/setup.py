"""colcon/ament build of tg_sim on a robot PC with ROS 2 (Humble/Jazzy).

The training-ground Python distribution (pip install training-ground) must be
installed in the same Python: the nodes are a thin layer over its core.
"""

from setuptools import setup

PACKAGE = "tg_sim"

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
    entry_points={
        "console_scripts": [
            "sim_bridge = tg_sim.sim_bridge_node:main",
            "scripted_teleop = tg_sim.scripted_teleop_node:main",
        ]
    },
)
