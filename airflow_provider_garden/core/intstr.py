"""Kubernetes' int-or-percent values (``maxSurge: 2`` or ``maxSurge: "25%"``)."""

from __future__ import annotations

import re

IntOrPercent = int | str

_PERCENT = re.compile(r"([0-9]+)%")


def percent(value: str) -> int:
    """The number in ``"25%"``; ValueError unless the text is digits followed by ``%``."""
    match = _PERCENT.fullmatch(value)
    if not match:
        raise ValueError(f"{value!r} is neither a non-negative integer nor a percentage like '25%'")
    return int(match.group(1))


def check(value: object) -> IntOrPercent:
    """Return ``value`` if it is a non-negative int or a percentage string, else raise."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{value!r} is neither a non-negative integer nor a percentage like '25%'")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"{value} is negative")
        return value
    percent(value)
    return value


def is_zero(value: IntOrPercent) -> bool:
    return (value if isinstance(value, int) else percent(value)) == 0


def scaled(value: IntOrPercent, total: int, *, round_up: bool) -> int:
    """Resolve against ``total`` like apimachinery's GetScaledValueFromIntOrPercent.

    A percentage is ``total * p / 100`` rounded up or down; an int is itself.
    """
    if isinstance(value, int):
        return value
    numerator = percent(value) * total
    return -(-numerator // 100) if round_up else numerator // 100
