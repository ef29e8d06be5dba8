"""Command-line options the agent's verbs share."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable

from airflow_provider_garden.core.settings import DEFAULTS, SECTION, GardenSettings, option_key


def positive(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return number


def add_setting_seconds(
    parser: argparse.ArgumentParser,
    flag: str,
    *,
    setting: str,
    help: str,
    type: Callable[[str], float] = positive,
) -> None:
    """Add ``flag``, seconds defaulting to the provider setting ``setting``.

    Operators always pass the setting's value, so the default only serves shell runs;
    the help names the ``[garden]`` option it comes from.
    """
    (field,) = (f for f in dataclasses.fields(GardenSettings) if f.name == setting)
    parser.add_argument(
        flag,
        type=type,
        default=getattr(DEFAULTS, setting).total_seconds(),
        help=f"{help} (default: %(default).0f; operators pass [{SECTION}] {option_key(field)})",
    )
