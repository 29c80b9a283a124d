"""Training Ground recorder node (ROS 2): a robot profile's topics into HDF5 episodes."""
