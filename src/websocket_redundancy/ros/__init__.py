"""ros layer: rclpy lifecycle nodes and entry points. Importing this package loads no
rclpy; the submodules (tier_node, coordinator_node, sim_node) do."""
