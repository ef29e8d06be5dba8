"""ShootCreate's spec is written by the reconcile pod while it holds the shoot's Lease,
after checking the Shoot is this pod's and valid."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from airflow_provider_garden.agent import shoot_reconcile as sr
from airflow_provider_garden.core.spec_fields import SpecError

SPEC = {
    "kubernetes": {"version": "1.32.3"},
    "workers": [
        {
            "name": "pool-a",
            "machine": {"type": "local", "image": {"name": "gardenlinux", "version": "1592.2"}},
            "minimum": 1,
            "maximum": 2,
        }
    ],
    "backup": {"store": {"kind": "local"}},
}


def shoot(name: str = "dev", namespace: str = "garden-team", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "garden.airflow.io/v1alpha1",
        "kind": "Shoot",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {**SPEC, **spec},
    }


class Recorder:
    """The Lease, the Shoots and the reconcile itself, as one ordered list of events."""

    def __init__(self) -> None:
        self.events: list[str] = []

    @contextmanager
    def lease(self, kube: object, *, project: str, name: str, holder: str) -> Iterator[None]:
        self.events.append(f"lease {project}/{name}")
        yield
        self.events.append("release")

    def apply(self, manifest: dict[str, Any]) -> dict[str, Any]:
        self.events.append(f"apply {manifest['metadata']['name']}")
        return manifest

    def get(self, project: str, name: str) -> dict[str, Any]:
        self.events.append(f"get {project}/{name}")
        return shoot(name)

    def held(
        self, kube: object, shoots: object, manifest: dict[str, Any], *a: Any, **k: Any
    ) -> dict[str, Any]:
        self.events.append(f"reconcile {manifest['spec']['kubernetes']['version']}")
        return {}


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recorder = Recorder()
    monkeypatch.setattr(sr, "operation_lease", recorder.lease)
    monkeypatch.setattr(sr, "reconcile_held", recorder.held)
    return recorder


def run(recorder: Recorder, desired: dict[str, Any] | None) -> None:
    sr.reconcile(
        object(),  # type: ignore[arg-type]
        recorder,  # type: ignore[arg-type]
        "team",
        "dev",
        holder="pod-1",
        garden_namespace="garden",
        desired=desired,
    )


def test_the_desired_shoot_is_applied_holding_the_lease(recorder: Recorder) -> None:
    run(recorder, shoot(kubernetes={"version": "1.32.11"}))
    assert recorder.events == ["lease team/dev", "apply dev", "reconcile 1.32.11", "release"]


def test_without_a_desired_shoot_the_stored_one_is_read_under_the_lease(
    recorder: Recorder,
) -> None:
    run(recorder, None)
    assert recorder.events == ["lease team/dev", "get team/dev", "reconcile 1.32.3", "release"]


@pytest.mark.parametrize(
    ("desired", "said"),
    [
        (shoot(name="prod"), "metadata.name: must be 'dev' (this pod's shoot), not 'prod'"),
        (
            shoot(namespace="garden-other"),
            "metadata.namespace: must be 'garden-team' (this pod's shoot), not 'garden-other'",
        ),
        (shoot(networking={"pod": "10.0.0.0/16"}), "spec.networking.pod: unknown field"),
    ],
)
def test_a_desired_shoot_not_this_pods_or_invalid_is_refused_before_the_lease(
    recorder: Recorder, desired: dict[str, Any], said: str
) -> None:
    with pytest.raises(SpecError) as err:
        run(recorder, desired)
    assert said in str(err.value)
    assert recorder.events == []
