"""ShootCreate's spec is written by the reconcile pod while it holds the shoot's Lease,
after checking the Shoot is this pod's and valid, and within its project's quota counted
under the project's quota Lease."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from shoot_examples import LOCAL_SPEC

from airflow_provider_garden.agent import shoot_reconcile as sr
from airflow_provider_garden.core.error_codes import Cause, KnownCause
from airflow_provider_garden.core.project import Project, Quota
from airflow_provider_garden.core.spec_fields import SpecError
from airflow_provider_garden.core.status import ErrorCode

SPEC = LOCAL_SPEC


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
        try:
            yield
        finally:
            self.events.append("release")

    def apply_within_quota(
        self, kube: object, shoots: object, projects: object, manifest: dict[str, Any], **k: Any
    ) -> dict[str, Any]:
        self.events.append(f"apply {manifest['metadata']['name']}")
        return manifest

    def get(self, project: str, name: str) -> dict[str, Any]:
        self.events.append(f"get {project}/{name}")
        return shoot(name)

    stored: dict[str, Any] | None = None  # the Shoot as the API has it (None: a new one)
    reports: list[dict[str, Any]]

    def find(self, project: str, name: str) -> dict[str, Any] | None:
        self.events.append(f"find {project}/{name}")
        return self.stored

    def report(self, project: str, name: str, **kwargs: Any) -> None:
        self.events.append("report")

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
    monkeypatch.setattr(sr, "apply_within_quota", recorder.apply_within_quota)
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
    assert recorder.events == [
        "lease team/dev",
        "find team/dev",
        "apply dev",
        "reconcile 1.32.11",
        "release",
    ]


@pytest.mark.parametrize(
    ("running", "wanted", "said"),
    [
        ("1.32.13", "1.32.11", "1.32.11 would downgrade the shoot from 1.32.13"),
        ("1.30.4", "1.32.3", "1.32.3 skips a minor version after 1.30.4: update to 1.31 first"),
    ],
)
def test_a_stored_shoot_moves_only_forward_one_minor_at_a_time(
    recorder: Recorder, running: str, wanted: str, said: str
) -> None:
    recorder.stored = {**shoot(), "status": {"kubernetesVersion": running}}
    with pytest.raises(SpecError) as err:
        run(recorder, shoot(kubernetes={"version": wanted}))
    assert f"spec.kubernetes.version: {said}" in str(err.value)
    assert recorder.events == ["lease team/dev", "find team/dev", "report", "release"]


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


# -- the quota, counted under the project's quota Lease ------------------------------
class Fleet:
    """A project's Shoots and Project as the pod reads them, and its quota Lease."""

    def __init__(self, project: Project | None, shoots: dict[str, int]) -> None:
        self.project, self.shoots = project, shoots
        self.events: list[str] = []
        self.reports: list[dict[str, Any]] = []

    @contextmanager
    def held(self, kube: object, *, namespace: str, name: str, **kwargs: Any) -> Iterator[None]:
        self.events.append(f"lease {namespace}/{name}")
        yield
        self.events.append("release")

    def find(self, *args: str) -> Any:
        if len(args) == 1:  # Projects.find(project)
            return self.project
        return shoot(args[1]) if args[1] in self.shoots else None  # Shoots.find

    def machines_by_shoot(self, project: Project) -> dict[str, int]:
        self.events.append("count")
        return dict(self.shoots)

    def apply(self, manifest: dict[str, Any]) -> dict[str, Any]:
        self.events.append(f"apply {manifest['metadata']['name']}")
        return manifest

    def report(self, project: str, name: str, **kwargs: Any) -> None:
        self.reports.append(kwargs)


def apply_within(fleet: Fleet, monkeypatch: pytest.MonkeyPatch, desired: dict[str, Any]) -> None:
    monkeypatch.setattr(sr.lease, "held", fleet.held)
    sr.apply_within_quota(object(), fleet, fleet, desired, holder="pod-1")  # type: ignore[arg-type]


def test_the_quota_is_counted_and_the_shoot_written_holding_the_projects_lease(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fleet = Fleet(Project("team", owner="o", quota=Quota(max_shoots=2)), {"web": 3})
    apply_within(fleet, monkeypatch, shoot())
    assert fleet.events == ["lease garden-team/project-quota", "count", "apply dev", "release"]


def test_a_shoot_past_the_quota_is_refused_with_its_code_and_not_written(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fleet = Fleet(Project("team", owner="o", quota=Quota(max_shoots=1)), {"web": 3})
    with pytest.raises(KnownCause) as err:
        apply_within(fleet, monkeypatch, shoot())
    assert err.value.cause is Cause.PROJECT_QUOTA
    assert "quota maxShoots=1 and 1 shoot(s) (web): shoot 'dev' is refused" in str(err.value)
    assert fleet.events == ["lease garden-team/project-quota", "count", "release"]
    assert fleet.reports == []  # no Shoot to report on: nothing was created


def test_an_existing_shoot_grown_past_the_quota_says_why_on_its_status(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fleet = Fleet(Project("team", owner="o", quota=Quota(max_machines=3)), {"web": 2, "dev": 1})
    with pytest.raises(KnownCause):
        apply_within(fleet, monkeypatch, shoot())  # dev's pools may have 2 now: 4 in all
    [report] = fleet.reports
    assert [tuple(e.codes) for e in report["errors"]] == [(ErrorCode.INFRA_QUOTA_EXCEEDED,)]
    assert "maxMachines=3" in report["description"]


def test_without_its_project_nothing_is_written(monkeypatch: pytest.MonkeyPatch) -> None:
    fleet = Fleet(None, {})
    with pytest.raises(KnownCause, match="project 'team' does not exist") as err:
        apply_within(fleet, monkeypatch, shoot())
    assert err.value.cause is Cause.INVALID_SPEC
    assert "apply dev" not in fleet.events
