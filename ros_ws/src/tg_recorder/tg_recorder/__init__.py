"""Training Ground recorder node (ROS 2): a robot profile's topics into HDF5 episodes.

Layer: ROS nodes. The node is a thin rclpy shell around ``collectors.LiveRecorder``;
it may import every layer below (``tg_base``, ``episodes``, ``tg_config``,
``collectors``, ``tg_station``) and rclpy, and never ``sim_envs`` or ``tg_sim``.
"""
