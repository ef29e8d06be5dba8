"""How list commands print, as kubectl does: a table by default, ``wide`` with more
columns, JSON or YAML (every field, whatever the table shows) for scripts."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import yaml

FORMATS = ("table", "wide", "json", "yaml")

#: turns one item's value into its table cell (None is always "-")
Render = Callable[[Any], str]


def add_output_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-o",
        "--output",
        choices=FORMATS,
        default="table",
        help="table (default), wide (more columns), json or yaml",
    )


def emit(
    items: Sequence[Mapping[str, Any]],
    columns: Mapping[str, str],
    fmt: str,
    *,
    wide: Mapping[str, str] | None = None,
    render: Mapping[str, Render] | None = None,
) -> None:
    """Print ``items`` as a table of ``columns`` (key -> heading; ``wide`` adds its
    columns after them), or whole as JSON/YAML (``{"items": [...]}``, like
    `kubectl get -o json`). ``render`` formats a key's cells (default ``str``)."""
    if fmt == "json":
        json.dump({"items": list(items)}, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
        return
    if fmt == "yaml":
        plain = json.loads(json.dumps([dict(i) for i in items], default=str))
        yaml.safe_dump({"items": plain}, sys.stdout, sort_keys=False)
        return
    shown = {**columns, **(wide or {})} if fmt == "wide" else dict(columns)
    renders = render or {}
    rows = [list(shown.values())]
    rows += [
        ["-" if item.get(k) is None else renders.get(k, str)(item[k]) for k in shown]
        for item in items
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(shown))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def age(since: str | dt.datetime, *, now: dt.datetime | None = None) -> str:
    """How long ago, as kubectl's AGE column: ``45s``, ``12m``, ``5h``, ``3d`` (an
    RFC 3339 text or an aware datetime)."""
    when = dt.datetime.fromisoformat(since) if isinstance(since, str) else since
    seconds = int(((now or dt.datetime.now(dt.UTC)) - when).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= 2 * size:
            return f"{seconds // size}{unit}"
    return f"{max(seconds, 0)}s"
