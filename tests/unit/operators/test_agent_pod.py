"""The pod spec the shared pod path composes (no cluster needed).

What every operator pod must carry: its task instance exactly (annotations) and as
labels a retry can select on, the provider label the reaper selects on, the
termination-message policy that explains crashes, Secrets only as read-only
volumes, and nothing secret in its environment.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from airflow.providers.cncf.kubernetes.callbacks import KubernetesPodOperatorCallback

from airflow_provider_garden.operators.pod import (
    DAG_ANNOTATION,
    MAP_INDEX_ANNOTATION,
    OPERATION_LABEL,
    PROVIDER_LABEL,
    PROVIDER_LABEL_VALUE,
    RUN_ANNOTATION,
    TASK_ANNOTATION,
    TRY_ANNOTATION,
    AgentPodOperator,
    SecretMount,
)

RUN_ID = "manual__2026-11-30T03:42:35.566840+00:00"  # not a valid label value as it is


class _Check(AgentPodOperator):
    verb = ("check", "it")


def context(map_index: int = -1) -> dict[str, Any]:
    ti = SimpleNamespace(dag_id="d", task_id="t", run_id=RUN_ID, map_index=map_index, try_number=3)
    return {"ti": ti, "run_id": RUN_ID, "dag": SimpleNamespace()}


def pod(**kwargs: Any) -> Any:
    """The manifest as KubernetesPodOperator hands it to the API: built, then its callbacks."""
    op = _Check(task_id="t", **kwargs)
    built = op.build_pod_request_obj(context(), dry_run=True)  # type: ignore[arg-type]
    for callback in op.callbacks:
        callback.on_pod_manifest_created(
            pod_request=built, client=None, mode="sync", context=context(), operator=op
        )
    return built


def test_callbacks_a_dag_passes_run_beside_the_task_identity() -> None:
    seen: list[str] = []

    class Theirs(KubernetesPodOperatorCallback):
        @staticmethod
        def on_pod_manifest_created(*, pod_request: Any, **kwargs: Any) -> None:
            seen.append(pod_request.metadata.annotations[TASK_ANNOTATION])

    built = pod(callbacks=Theirs)
    assert built.metadata.annotations[TRY_ANNOTATION] == "3"
    assert seen == ["t"], "the DAG's callback runs after the identity is written"


def test_the_pod_names_its_task_instance_exactly_and_as_selectable_labels() -> None:
    built = pod()
    assert built.metadata.annotations == {
        DAG_ANNOTATION: "d",
        RUN_ANNOTATION: RUN_ID,
        TASK_ANNOTATION: "t",
        MAP_INDEX_ANNOTATION: "-1",
        TRY_ANNOTATION: "3",
    }
    labels = built.metadata.labels
    assert labels[PROVIDER_LABEL] == PROVIDER_LABEL_VALUE
    assert labels[OPERATION_LABEL] == "check-it"
    assert (labels["dag_id"], labels["task_id"]) == ("d", "t")
    assert labels["run_id"] != RUN_ID, "labels are sanitised: the annotation is the truth"


def test_the_base_container_explains_crashes_and_runs_the_verb() -> None:
    [base] = pod(agent_args=["--x", "1"]).spec.containers
    assert base.termination_message_policy == "FallbackToLogsOnError"
    assert base.command == ["garden-agent"]
    assert base.args == ["--garden-namespace", "garden-system", "check", "it", "--x", "1"]
    assert pod().spec.restart_policy == "Never"


def test_secrets_arrive_only_as_read_only_volumes_never_as_environment() -> None:
    built = pod(secret_mounts=[SecretMount(secret_name="dev.kubeconfig", mount_path="/kc")])
    [volume] = built.spec.volumes
    assert volume.name == "secret-dev-kubeconfig"
    assert volume.secret.secret_name == "dev.kubeconfig"
    assert volume.secret.default_mode == 0o400
    [mount] = built.spec.containers[0].volume_mounts
    assert (mount.name, mount.mount_path, mount.read_only) == ("secret-dev-kubeconfig", "/kc", True)
    assert not built.spec.containers[0].env
    assert not built.spec.containers[0].env_from


def test_cleanup_defaults_can_be_overridden_by_the_dag_author() -> None:
    default = _Check(task_id="t")
    kept = _Check(task_id="t", on_finish_action="keep_pod", on_kill_action="keep_pod")
    assert (default.on_finish_action.value, default.on_kill_action.value) == (
        "delete_pod",
        "delete_pod",
    )
    assert (kept.on_finish_action.value, kept.on_kill_action.value) == ("keep_pod", "keep_pod")
    assert default.reattach_on_restart is True
    assert default.do_xcom_push is False, "no XCom sidecar"
    assert default.log_pod_spec_on_failure is False
