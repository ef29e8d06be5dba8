"""Measured figures, printed as tables (make bench)."""
