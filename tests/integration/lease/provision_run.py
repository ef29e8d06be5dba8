"""One garden_provision DagRun through real Airflow (``dag.test()``), in a process of its own.

Run by test_reconcile_lock twice at once for one shoot: each process is one DagRun
(its own run id, from ``--logical-date``). Task logs, the pods' lines among them,
go to this process's stdout; the last line is ``DAGRUN-STATE <state>``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path

DAGS = Path(__file__).resolve().parents[3] / "dags"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conf", required=True, help="the run's conf (JSON)")
    parser.add_argument("--logical-date", required=True, help="ISO 8601, with a zone")
    args = parser.parse_args()
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(DAGS)).dags["garden_provision"]
    run = dag.test(
        logical_date=dt.datetime.fromisoformat(args.logical_date), run_conf=json.loads(args.conf)
    )
    print(f"DAGRUN-STATE {run.state}", flush=True)
    return 0 if run.state == "success" else 1


if __name__ == "__main__":
    raise SystemExit(main())
