"""Redundant rosbridge-v2 WebSocket tiers for ROS 2 rover telemetry."""

__version__ = '0.1.0'
