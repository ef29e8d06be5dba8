"""What operators/pod.py takes from the installed KubernetesPodOperator, recorded.

AgentPodOperator (and the operators built on it) override some upstream methods
where no public callback can do the work, and call a few private ones. A new
cncf-kubernetes release may change them without a word in its changelog; these
tests fail first. To bump the provider: read the upstream changes of each method
named here, adapt operators/pod.py, then re-record the signatures below (and the
pin in airflow_provider_garden/pins.txt).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
from airflow.providers.cncf.kubernetes.callbacks import KubernetesPodOperatorCallback
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

import airflow_provider_garden.operators as operators_package
from airflow_provider_garden.operators.pod import AgentPodOperator

#: upstream signatures of the methods AgentPodOperator overrides, as recorded
OVERRIDDEN = {
    "execute": "(self, context: 'Context')",
    "invoke_defer_method": "(self, last_log_time: 'DateTime | None' = None, context: 'Context | None' = None) -> 'None'",
    "trigger_reentry": "(self, context: 'Context', event: 'dict[str, Any]') -> 'Any'",
    "_write_logs": "(self, pod: 'k8s.V1Pod', follow: 'bool' = False, since_time: 'DateTime | None' = None) -> 'None'",
    "get_or_create_pod": "(self, pod_request_obj: 'k8s.V1Pod', context: 'Context') -> 'k8s.V1Pod'",
    "await_pod_start": "(self, pod: 'k8s.V1Pod') -> 'None'",
    "cleanup": "(self, pod: 'k8s.V1Pod', remote_pod: 'k8s.V1Pod', xcom_result: 'dict | None' = None, context: 'Context | None' = None) -> 'None'",
    "on_kill": "(self) -> 'None'",
}
#: upstream methods AgentPodOperator calls or implements without overriding them (some private)
CALLED = {
    (KubernetesPodOperator, "_build_find_pod_label_selector"): (
        "(self, context: 'Context | None' = None, *, exclude_checked=True) -> 'str'"
    ),
    (KubernetesPodOperatorCallback, "on_pod_manifest_created"): (
        "(*, pod_request: 'k8s.V1Pod', client: 'client_type', mode: 'str', "
        "operator: 'KubernetesPodOperator', context: 'Context', **kwargs) -> 'None'"
    ),
}
#: keyword arguments AgentPodOperator passes to KubernetesPodOperator.__init__
INIT_KWARGS = {
    "kubernetes_conn_id", "namespace", "image", "startup_timeout_seconds",
    "startup_check_interval_seconds", "name", "image_pull_policy", "security_context",
    "durable", "on_finish_action", "on_kill_action", "service_account_name", "cmds",
    "arguments", "labels", "volumes", "volume_mounts", "termination_message_policy",
    "do_xcom_push", "log_pod_spec_on_failure", "callbacks",
}  # fmt: skip


def _overridden(cls: type) -> set[str]:
    ours = {n for n, v in vars(cls).items() if callable(v) and n != "__init__"}
    return {n for n in ours if hasattr(KubernetesPodOperator, n)}


def _operator_classes() -> list[type]:
    for module in pkgutil.iter_modules(operators_package.__path__):
        importlib.import_module(f"{operators_package.__name__}.{module.name}")
    found, pending = [], [AgentPodOperator]
    while pending:
        cls = pending.pop()
        if cls.__module__.startswith(operators_package.__name__):
            found.append(cls)  # not classes tests define
        pending.extend(cls.__subclasses__())
    return found


def test_every_override_of_upstream_is_recorded() -> None:
    # A new override must be recorded here, so the next bump checks it too.
    assert _overridden(AgentPodOperator) == set(OVERRIDDEN)


def test_operators_built_on_it_override_only_what_is_recorded() -> None:
    classes = _operator_classes()
    assert len(classes) > 5, "the operator modules were not found"
    unrecorded = {
        f"{cls.__module__}.{cls.__qualname__}.{name}"
        for cls in classes
        for name in _overridden(cls) - set(OVERRIDDEN)
    }
    assert not sorted(unrecorded)


@pytest.mark.parametrize("name", sorted(OVERRIDDEN))
def test_overridden_upstream_method_keeps_its_signature(name: str) -> None:
    upstream = str(inspect.signature(getattr(KubernetesPodOperator, name)))
    assert upstream == OVERRIDDEN[name], f"KubernetesPodOperator.{name} changed upstream"


@pytest.mark.parametrize(("owner", "name"), sorted(CALLED, key=lambda k: k[1]))
def test_called_upstream_method_keeps_its_signature(owner: type, name: str) -> None:
    upstream = str(inspect.signature(getattr(owner, name)))
    assert upstream == CALLED[owner, name], f"{owner.__name__}.{name} changed upstream"


def test_upstream_init_still_takes_what_we_pass() -> None:
    params = inspect.signature(KubernetesPodOperator.__init__).parameters
    assert not sorted(INIT_KWARGS - set(params))


def test_upstream_still_marks_processed_pods_with_the_label_we_read() -> None:
    assert KubernetesPodOperator.POD_CHECKED_KEY == "already_checked"


def test_upstream_still_never_calls_the_resuming_callback() -> None:
    # trigger_reentry is overridden because no callback runs on resume; when upstream
    # starts calling on_operator_resuming, see whether the override can move there.
    source = inspect.getsource(inspect.getmodule(KubernetesPodOperator))
    assert "on_operator_resuming" not in source
