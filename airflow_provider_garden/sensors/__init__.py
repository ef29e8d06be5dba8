"""Sensors that wait on Shoot status and backups without holding a worker slot."""
