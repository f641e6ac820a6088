"""Benchmarks for websocket_redundancy: ``python -m benchmarks [--quick|--full|--smoke]``.

Every scenario starts its own system on 127.0.0.1 (free ports, its own graph domain),
measures, and stops it; every figure is reported beside its target (the project's performance targets). See
``benchmarks/README.md``.
"""
