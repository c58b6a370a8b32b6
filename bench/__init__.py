"""Benchmark scenarios for hallq: wait-estimate accuracy, claim throughput, and the live API.

Run all with `python -m bench`, or one with `python -m bench.estimate|claims|api`.
"""
