"""`make bench`: run every benchmark module and print its tables.

`python -m benchmarks [name ...]` runs only the named ones. Each module exposes
`run() -> list[Table]`; numbers are printed, never asserted.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import traceback
from pathlib import Path

HELPERS = {"table"}


def main(argv: list[str]) -> int:
    found = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]))
    names = argv or [n for n in found if n not in HELPERS and not n.startswith("_")]
    failed = 0
    for name in names:
        module = importlib.import_module(f"benchmarks.{name}")
        try:
            for table in module.run():
                print(table.render(), flush=True)
        except Exception:
            failed += 1
            print(f"## {name}\n\nFAILED:\n```\n{traceback.format_exc()}```\n", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
