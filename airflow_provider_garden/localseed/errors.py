"""The one error the local seed raises for conditions a person must fix."""

from __future__ import annotations


class SeedError(RuntimeError):
    """A prerequisite is missing or a component failed; the message says what to do."""
