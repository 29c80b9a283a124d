"""Training Ground simulation nodes (ROS 2).

The PyBullet training ground as a robot driver, a scripted teleoperator, and the
session runner that drives a simulated session through the recorder's client.

Layer: ROS nodes, above ``tg_recorder`` (the session runner uses its client). It may
import every layer below and rclpy; the nodes are thin shells around ``sim_envs``.
"""
