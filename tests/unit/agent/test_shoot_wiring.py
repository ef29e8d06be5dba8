"""Reconcile and delete as wirings of the same components (fakes record what ran when).

The real components are proven on the seed (tests/integration/shoots); here only the
order: delete destroys a component only after everything that needed it is gone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import fields, replace

import pytest

from airflow_provider_garden.agent.components import ShootComponents
from airflow_provider_garden.agent.shoot_delete import delete_flow
from airflow_provider_garden.agent.shoot_reconcile import operation_type, reconcile_flow
from airflow_provider_garden.core.component import NotReady
from airflow_provider_garden.core.error_codes import Cause, KnownCause
from airflow_provider_garden.core.flow import Flow, FlowError, TaskState
from airflow_provider_garden.core.status import LastOperation, OperationState, OperationType
from airflow_provider_garden.drivers.base import MachineState


class Journal:
    def __init__(self) -> None:
        self.entries: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def write(self, verb: str, component: str) -> None:
        with self._lock:
            self.entries.append((verb, component))

    def index(self, verb: str, component: str) -> int:
        return self.entries.index((verb, component))


class FakeComponent:
    """Records each call; ``wait_cleanup`` fails until ``destroy`` ran."""

    def __init__(self, name: str, journal: Journal) -> None:
        self.name = name
        self.journal = journal
        self.destroyed = False
        self.machines: dict[str, list[MachineState]] | None = None

    def deploy(self) -> None:
        self.journal.write("deploy", self.name)

    def wait(self) -> None:
        self.journal.write("wait", self.name)

    def destroy(self) -> None:
        self.journal.write("destroy", self.name)
        self.destroyed = True

    def wait_cleanup(self) -> None:
        if not self.destroyed:
            raise NotReady(f"{self.name} is still there")
        self.journal.write("gone", self.name)


NOT_COMPONENTS = (
    "has_workers",
    "shoot_reachable",
    "shoot_answers",
    "check_spec",
    "restore_closed",
)
# What reaches into the shoot through its API (the admin kubeconfig).
IN_THE_SHOOT = ("member_access", "secrets_at_rest", "machine_controller", "worker_pools")
COMPONENTS = [f.name for f in fields(ShootComponents) if f.name not in NOT_COMPONENTS]


def fakes(
    journal: Journal,
    *,
    workers: bool = True,
    reachable: bool = True,
    check_spec: Callable[[], None] = lambda: None,
    restore_closed: Callable[[], None] = lambda: None,
) -> ShootComponents:
    made = {name: FakeComponent(name, journal) for name in COMPONENTS}
    return ShootComponents(
        **made,  # type: ignore[arg-type]
        has_workers=workers,
        shoot_reachable=lambda: reachable,
        shoot_answers=lambda: journal.write("answers", "shoot API"),
        check_spec=check_spec,
        restore_closed=restore_closed,
    )


def needs(flow: Flow, journal: Journal) -> set[tuple[str, str]]:
    """(a, b) for every component b whose reconcile tasks depend (transitively) on a's."""
    touched: dict[str, set[str]] = {}
    for task in flow.tasks:  # which components each task calls
        journal.entries.clear()
        task.fn()
        touched[task.name] = {c for _, c in journal.entries if c in COMPONENTS}
    deps = {t.name: set(t.dependencies) for t in flow.tasks}

    def before(name: str) -> set[str]:
        found = set(deps[name])
        for dep in deps[name]:
            found |= before(dep)
        return found

    return {
        (a, b)
        for task in flow.tasks
        for earlier in before(task.name)
        for a in touched[earlier]
        for b in touched[task.name]
        # a task waiting for two components at once does not make one need the other
        if a not in touched[task.name] and b not in touched[earlier]
    }


def test_reconcile_deploys_each_component_and_waits_for_it() -> None:
    journal = Journal()
    reconcile_flow(fakes(journal), name="Create shoot p/s").run(max_workers=2)
    assert {c for verb, c in journal.entries if verb == "deploy"} == set(COMPONENTS)
    waited = {c for verb, c in journal.entries if verb == "wait"}
    assert waited == {
        "etcd",
        "kube_apiserver",
        "kube_controller_manager",
        "kube_scheduler",
        "machine_controller",
        "worker_pools",
    }
    for component in waited:
        assert journal.index("deploy", component) < journal.index("wait", component)


def test_nothing_reaches_into_the_shoot_before_its_api_answers_the_agent() -> None:
    """A Deployment's readiness is the seed's view; a shoot made again under its name
    may meet its old address in the seed's DNS cache for a while."""
    journal = Journal()
    reconcile_flow(fakes(journal), name="Create shoot p/s").run(max_workers=2)
    answered = journal.index("answers", "shoot API")
    assert journal.index("deploy", "admin_kubeconfig") < answered
    for component in IN_THE_SHOOT:
        assert answered < journal.index("deploy", component), component


def test_reconcile_deploys_nothing_when_the_spec_check_fails() -> None:
    journal = Journal()

    def missing_secret() -> None:
        raise KnownCause(Cause.INVALID_SPEC, "Secret garden-p/creds does not exist")

    flow = reconcile_flow(fakes(journal, check_spec=missing_secret), name="Create shoot p/s")
    with pytest.raises(FlowError) as failed:
        flow.run(max_workers=2)
    assert failed.value.failed_tasks == ("Checking the spec and the Secrets it names",)
    assert failed.value.failed[0].attempts == 1
    assert journal.entries == []


def test_reconcile_deploys_nothing_while_a_restore_is_open() -> None:
    journal = Journal()

    def open_restore() -> None:
        raise RuntimeError("an etcd restore of snapshot s is open at phase Swapped")

    flow = reconcile_flow(fakes(journal, restore_closed=open_restore), name="Reconcile p/s")
    with pytest.raises(FlowError) as failed:
        flow.run(max_workers=2)
    assert failed.value.failed_tasks == ("Checking no etcd restore is open",)
    assert "phase Swapped" in str(failed.value)
    assert journal.entries == []


def test_delete_destroys_in_reverse_of_what_reconcile_needed() -> None:
    journal = Journal()
    edges = needs(reconcile_flow(fakes(journal), name="r"), journal)
    assert ("etcd", "kube_apiserver") in edges  # the graph was read, not assumed
    assert ("machine_controller", "worker_pools") in edges
    assert ("kube_controller_manager", "worker_pools") in edges
    journal.entries.clear()
    delete_flow(fakes(journal), name="d").run(max_workers=2)
    assert {c for verb, c in journal.entries if verb == "gone"} == set(COMPONENTS)
    for needed, needer in edges:
        assert journal.index("gone", needer) < journal.index("destroy", needed), (
            f"{needed} was destroyed before {needer} was gone"
        )
    assert journal.entries[-2:] == [("destroy", "namespace"), ("gone", "namespace")]


def test_delete_waits_until_a_destroyed_component_is_gone() -> None:
    journal = Journal()
    components = fakes(journal)
    lingering = components.etcd
    assert isinstance(lingering, FakeComponent)
    polls = {"n": 0}

    def slow_cleanup() -> None:
        polls["n"] += 1
        if polls["n"] < 3:
            raise NotReady("etcd: still there: PersistentVolumeClaim ns/data-etcd-0")
        journal.write("gone", "etcd")

    lingering.wait_cleanup = slow_cleanup  # type: ignore[method-assign]
    delete_flow(components, name="d").run(sleep=lambda _: None)
    assert polls["n"] == 3
    assert journal.index("gone", "etcd") < journal.index("destroy", "secrets")


class DownController(FakeComponent):
    def wait(self) -> None:
        raise NotReady("kube-controller-manager is not available yet")


@pytest.mark.parametrize("down", ["shoot API", "kube-controller-manager"])
def test_delete_skips_machines_when_the_shoot_cannot_delete_them(down: str) -> None:
    journal = Journal()
    components = fakes(journal, reachable=down != "shoot API")
    if down == "kube-controller-manager":
        components = replace(
            components, kube_controller_manager=DownController("kube_controller_manager", journal)
        )
    result = delete_flow(components, name="d").run()
    assert result.names(TaskState.SKIPPED) == (
        "Deleting worker_pools",
        "Waiting until nothing is left of worker_pools",
    )
    assert ("destroy", "worker_pools") not in journal.entries
    assert ("gone", "namespace") in journal.entries


def test_reconcile_without_workers_skips_machine_tasks() -> None:
    journal = Journal()
    result = reconcile_flow(fakes(journal, workers=False), name="r").run()
    assert {c for _, c in journal.entries if c in COMPONENTS} == set(COMPONENTS) - {
        "machine_controller",
        "worker_pools",
    }
    assert len(result.names(TaskState.SKIPPED)) == 4


def test_a_failed_destroy_keeps_what_depends_on_it() -> None:
    journal = Journal()
    components = fakes(journal)

    def refused() -> None:
        raise PermissionError("deployments.apps is forbidden")

    components.kube_apiserver.destroy = refused  # type: ignore[method-assign]
    with pytest.raises(FlowError) as info:
        delete_flow(components, name="d").run(sleep=lambda _: None)
    assert info.value.failed_tasks == ("Deleting kube_apiserver",)
    assert ("destroy", "etcd") not in journal.entries
    assert ("destroy", "namespace") not in journal.entries


@pytest.mark.parametrize(
    ("last", "expected"),
    [
        (None, OperationType.CREATE),
        ((OperationType.CREATE, OperationState.ERROR), OperationType.CREATE),
        ((OperationType.CREATE, OperationState.PROCESSING), OperationType.CREATE),
        ((OperationType.CREATE, OperationState.SUCCEEDED), OperationType.RECONCILE),
        ((OperationType.RECONCILE, OperationState.ERROR), OperationType.RECONCILE),
    ],
)
def test_create_until_a_create_succeeded(
    last: tuple[OperationType, OperationState] | None, expected: OperationType
) -> None:
    record = None if last is None else LastOperation(type=last[0], state=last[1])
    assert operation_type(record) is expected


def test_delete_keeps_the_backups_before_the_secrets_with_their_encryption_keys_go() -> None:
    journal = Journal()
    delete_flow(fakes(journal), name="d").run(max_workers=2)
    # The backup's destroy copies the etcd-encryption Secret beside the kept snapshots.
    assert journal.index("gone", "backup") < journal.index("destroy", "secrets")
