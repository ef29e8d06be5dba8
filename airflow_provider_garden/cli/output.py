"""How list commands print, as kubectl does: a table by default, JSON or YAML for scripts."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence

import yaml

FORMATS = ("table", "json", "yaml")


def add_output_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-o", "--output", choices=FORMATS, default="table", help="table (default), json or yaml"
    )


def emit(items: Sequence[Mapping[str, object]], columns: Mapping[str, str], fmt: str) -> None:
    """Print ``items`` as a table of ``columns`` (key -> heading), or whole as JSON/YAML
    (``{"items": [...]}``, like `kubectl get -o json`)."""
    if fmt == "json":
        json.dump({"items": list(items)}, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
        return
    if fmt == "yaml":
        yaml.safe_dump({"items": [dict(i) for i in items]}, sys.stdout, sort_keys=False)
        return
    rows = [list(columns.values())]
    rows += [["-" if item.get(k) is None else str(item[k]) for k in columns] for item in items]
    widths = [max(len(r[i]) for r in rows) for i in range(len(columns))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
