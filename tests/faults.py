"""Test-only fault switches: break a watched invariant on purpose and see its test fail.

``GARDEN_TEST_FAULT`` holds switch names, comma-separated. Only tests and their
harnesses read it (never the provider, the agent or the DAG files), so a switch
breaks the system from the outside the way a bug would, and shows that the test
watching that invariant fails. Unset, every switch is off. A name not listed here
stops the run with an error naming the variable and the known switches.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

ENV = "GARDEN_TEST_FAULT"

FAULTS: dict[str, str] = {
    "unregistered-operator": "the kill matrix's registry loses the entry of one exported operator",
    "drop-samples": "every watcher loses one sample in four (list calls fail)",
    "two-pods": "a twin of each kill-matrix case's pod runs beside it",
    "leak-configmap": "kustomize source ConfigMaps lose their owner (the pod) while it runs",
    "airflow-race": "each kill-matrix case ends as if Airflow's stale-event race left its pod",
    "reaper-misses": "the reaper run that must remove a waived pod is scoped to no pod",
    "canary-in-fernet": "the canary is stored in a connection's extra, which Airflow encrypts",
    "below-floor": "a machine is cordoned while the rollout watcher watches",
}


def active_faults(environ: Mapping[str, str] = os.environ) -> frozenset[str]:
    """The switches that are on; a ValueError names an unknown one."""
    names = {name.strip() for name in environ.get(ENV, "").split(",") if name.strip()}
    unknown = sorted(names - FAULTS.keys())
    if unknown:
        raise ValueError(
            f"{ENV}: unknown fault switch {', '.join(unknown)}; known: {', '.join(FAULTS)}"
        )
    return frozenset(names)


def fault(name: str, environ: Mapping[str, str] = os.environ) -> bool:
    """Is switch `name` on? (A name not in FAULTS is a bug in the test: KeyError.)"""
    if name not in FAULTS:
        raise KeyError(f"no fault switch {name!r}; known: {', '.join(FAULTS)}")
    return name in active_faults(environ)
