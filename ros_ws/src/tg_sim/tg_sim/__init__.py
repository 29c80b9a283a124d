"""Training Ground simulation nodes (ROS 2).

The PyBullet training ground as a robot driver, and a scripted teleoperator.
"""
