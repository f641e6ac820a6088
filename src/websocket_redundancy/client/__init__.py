"""The Python failover client: ``from websocket_redundancy.client import FailoverClient``."""
from .shell import FailoverClient

__all__ = ['FailoverClient']
