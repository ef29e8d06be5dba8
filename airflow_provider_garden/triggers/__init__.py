"""Triggers: asynchronous polling for the deferrable sensors and operators."""
