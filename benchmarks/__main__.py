"""`make bench`: run every benchmark module and print its tables.

`python -m benchmarks [name ...]` runs only the named ones. Each module exposes
`run() -> list[Table]`; numbers are printed, never asserted.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import subprocess
import sys
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

HELPERS = {"table"}


def _airflow_ready() -> None:
    """Benchmarks run DAGs with dag.test(): Airflow needs its home, DAG folder and database."""
    os.environ.setdefault("AIRFLOW_HOME", str(ROOT / ".airflow"))
    os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(ROOT / "dags"))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], check=True, stdout=subprocess.DEVNULL)


def main(argv: list[str]) -> int:
    _airflow_ready()
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
