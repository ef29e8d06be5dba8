"""Operators: one module per domain, one shared pod-launch path (pod.py)."""
