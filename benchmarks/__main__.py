"""`make bench`: run every benchmark module and print its tables.

`python -m benchmarks [name ...]` runs only the named ones. Each module exposes
`run() -> list[Table]`; numbers are printed, never asserted.
"""

from __future__ import annotations

import datetime
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


def run_header() -> str:
    """What every table of this run shares: when, which commit, how loaded the machine was.

    Figures are comparable within one run; copy this line with any figure you quote.
    """
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%MZ")
    return (
        f"run {when}, commit {commit or 'unknown'}, {os.cpu_count()} CPUs, "
        f"load average at start {load} (1/5/15 min)"
    )


def main(argv: list[str]) -> int:
    _airflow_ready()
    print(f"# Benchmarks: {run_header()}\n", flush=True)
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
