from __future__ import annotations

import pytest

from airflow_provider_garden.core import intstr
from airflow_provider_garden.core.cron import cron_problem


@pytest.mark.parametrize(
    "expression",
    ["0 * * * *", "*/15 * * * *", "0 0-6/2 * * 1-5", "5,35 1,13 1 1,7 0", "0 0 31 12 7", "@daily"],
)
def test_valid_cron(expression: str) -> None:
    assert cron_problem(expression) is None


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("* * * *", "must have 5 fields"),
        ("* * * * * *", "must have 5 fields"),
        ("60 * * * *", "minute field '60': values must be 0-59"),
        ("0 0 0 * *", "day of month field '0': values must be 1-31"),
        ("0 0 * 13 *", "month field '13': values must be 1-12"),
        ("0 0 * * 8", "day of week field '8': values must be 0-7"),
        ("0 5-1 * * *", "range '5-1' runs backwards"),
        ("*/0 * * * *", "step must be at least 1"),
        ("0 0 * * mon", "'mon' is not *, N, N-M"),
        ("0 0 ? * *", "'?' is not"),
        ("@every 1h", "must have 5 fields"),
    ],
)
def test_invalid_cron(expression: str, problem: str) -> None:
    assert problem in (cron_problem(expression) or "")


@pytest.mark.parametrize(
    ("value", "total", "up", "down"),
    [
        (2, 10, 2, 2),
        ("25%", 10, 3, 2),  # 2.5
        ("25%", 4, 1, 1),
        ("1%", 1, 1, 0),
        ("0%", 10, 0, 0),
        ("100%", 7, 7, 7),
        ("150%", 2, 3, 3),
        ("33%", 3, 1, 0),  # 0.99
    ],
)
def test_scaled(value: intstr.IntOrPercent, total: int, up: int, down: int) -> None:
    assert intstr.scaled(value, total, round_up=True) == up
    assert intstr.scaled(value, total, round_up=False) == down


@pytest.mark.parametrize("value", ["25", "%", "-5%", "+5%", " 5%", "5.5%", True, None, 1.5, -1])
def test_check_rejects(value: object) -> None:
    with pytest.raises(ValueError, match=r"neither a non-negative integer|is negative"):
        intstr.check(value)


@pytest.mark.parametrize(("value", "zero"), [(0, True), ("0%", True), (1, False), ("1%", False)])
def test_is_zero(value: intstr.IntOrPercent, zero: bool) -> None:
    assert intstr.is_zero(value) is zero
