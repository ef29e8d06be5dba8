"""Telling a slow start from a full seed while a component is waited for.

A wait that finds its workload not ready asks :class:`Placement` why: a pod the
scheduler has had no room for since at least ``CAPACITY_GRACE`` (by this process's
clock, not the seed's) ends the wait at once with ERR_INFRA_QUOTA_EXCEEDED instead
of five minutes of "not available yet".
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import replace

from airflow_provider_garden.core.error_codes import CAPACITY_GRACE, capacity_problem
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.scheduling import pods_scheduling


class Placement:
    """Watches one workload's pods across the attempts of one wait."""

    def __init__(
        self,
        kube: KubeClient,
        namespace: str,
        selector: str,
        *,
        grace: dt.timedelta = CAPACITY_GRACE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.kube = kube
        self.namespace = namespace
        self.selector = selector
        self.grace = grace
        self.clock = clock
        self._unplaced_since: dict[str, float] = {}

    def check(self) -> None:
        """Raise KnownCause(SEED_CAPACITY) naming the pod and the scheduler's reason."""
        pods = pods_scheduling(self.kube, self.namespace, self.selector)
        now = self.clock()
        since = {p.pod: self._unplaced_since.get(p.pod, now) for p in pods if p.unschedulable}
        self._unplaced_since = since
        problem = capacity_problem(
            [
                replace(p, unschedulable_for=dt.timedelta(seconds=now - since[p.pod]))
                if p.unschedulable
                else p
                for p in pods
            ],
            grace=self.grace,
        )
        if problem is not None:
            raise problem
