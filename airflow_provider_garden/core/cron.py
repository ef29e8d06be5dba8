"""Syntax check of five-field cron expressions (the subset Airflow and Kubernetes accept).

Only checks; scheduling is Airflow's job. Names (``mon``, ``jan``) and ``?``/``L``/``W``
extensions are refused so an expression means the same to every consumer.
"""

from __future__ import annotations

import re

MACROS = frozenset(
    {"@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@annually"}
)
_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12),
           ("day of week", 0, 7))  # fmt: skip
_TERM = re.compile(r"(\*|([0-9]+)(?:-([0-9]+))?)(?:/([0-9]+))?")


def cron_problem(expression: str) -> str | None:
    """Why ``expression`` is not a valid cron expression, or None if it is."""
    if expression in MACROS:
        return None
    fields = expression.split()
    if len(fields) != len(_FIELDS):
        return f"{expression!r} must have 5 fields (minute hour day-of-month month day-of-week)"
    for text, (name, low, high) in zip(fields, _FIELDS, strict=True):
        for term in text.split(","):
            match = _TERM.fullmatch(term)
            if not match:
                return f"{name} field {text!r}: {term!r} is not *, N, N-M or one of them with /STEP"
            _, first, last, step = match.groups()
            numbers = [int(n) for n in (first, last) if n is not None]
            if any(not low <= n <= high for n in numbers):
                return f"{name} field {text!r}: values must be {low}-{high}"
            if len(numbers) == 2 and numbers[0] > numbers[1]:
                return f"{name} field {text!r}: range {term!r} runs backwards"
            if step is not None and int(step) == 0:
                return f"{name} field {text!r}: step must be at least 1"
    return None
