"""How the kill matrix drives a case through the real Airflow and watches the seed.

One `PodWatcher` lists this provider's pods in the whole seed every 200 ms for the
whole matrix and files each sample under the pod's `dag_id` label, so every case
can ask what existed at any moment (the retry case asserts "never two"). A case's
critical window runs from its action (the trigger, on paths without one) to the
first sample that saw no pod of it: no sample may be lost there. Processes
are signalled only by PID after checking that they descend from this stack's
scheduler: the task process is the TI's `pid` (REST), its parent the LocalExecutor
worker that supervises it.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psutil
from airflow_api import AirflowApi
from airflow_stack import AirflowStack
from faults import fault
from kill_matrix.operators import (
    GARDEN_NAMESPACE,
    PROJECT,
    SHOOT_CONF,
    Case,
    ExitPath,
    Mode,
    Needs,
)
from kubernetes.client import ApiClient, CoreV1Api
from kubernetes.stream import stream
from processes import ProcessFile
from sampling import SampleLedger, Sampler, Window

from airflow_provider_garden.agent.main import HOLD_RELEASE
from airflow_provider_garden.core import naming
from airflow_provider_garden.core.toolbox import TOOLBOX_IMAGE
from airflow_provider_garden.kube.client import KubeClient, NotFound
from airflow_provider_garden.operators.kustomize import (
    SOURCE_LABEL,
    KustomizeApplyOperator,
    source_owner,
)
from airflow_provider_garden.operators.pod import (
    DAG_ANNOTATION,
    MAP_INDEX_ANNOTATION,
    PROVIDER_LABEL,
    PROVIDER_LABEL_VALUE,
    RUN_ANNOTATION,
    TASK_ANNOTATION,
)

# Kubernetes' default terminationGracePeriodSeconds, which the operator pods keep.
GRACE_SECONDS = 30.0
SAMPLE_SECONDS = 0.2
FINAL_STATES = frozenset({"success", "failed", "skipped", "upstream_failed"})
TASK_ID = "op"
# Lost samples outside the cases' critical windows only blur the history; past this
# share the watcher was too often blind for "never two pods" to mean much.
MAX_LOST_SHARE = 0.02
# Kubernetes' garbage collector deletes a source ConfigMap soon after its owner pod:
# still there this long after the pod, it leaked.
SOURCE_GC_SECONDS = 30.0
# A label no pod carries: the `reaper-misses` fault scopes the reaper's run to it.
NO_POD_SELECTOR = "garden.airflow.io/kill-matrix-fault=reaper-misses"


@dataclass(frozen=True)
class PodSample:
    namespace: str
    name: str
    uid: str
    phase: str
    deleting: bool
    run_id: str
    task_id: str


class PodWatcher:
    """Samples every pod of this provider in the seed, filed under its dag_id label.

    Its ledger counts every sample lost (a failed list call): the matrix asserts the
    share of them, and each case that none fell into its critical window.
    """

    def __init__(self, kube: KubeClient) -> None:
        self.kube = kube
        self.ledger = SampleLedger("pod watcher", max_lost_share=MAX_LOST_SHARE)
        self._sampler = Sampler(
            "kill-matrix-pod-watcher", self._sample, self.ledger, every=SAMPLE_SECONDS
        )
        self._lock = threading.Lock()
        self._history: dict[str, list[tuple[float, list[PodSample]]]] = defaultdict(list)

    def start(self) -> None:
        self._sampler.start()

    def _sample(self) -> float:
        selector = f"{PROVIDER_LABEL}={PROVIDER_LABEL_VALUE}"
        pods = self.kube.list("v1", "Pod", None, label_selector=selector)
        now = time.monotonic()
        by_dag: dict[str, list[PodSample]] = defaultdict(list)
        for pod in pods:
            meta = pod["metadata"]
            dag_id = (meta.get("labels") or {}).get("dag_id")
            if dag_id:
                by_dag[dag_id].append(
                    PodSample(
                        namespace=meta["namespace"],
                        name=meta["name"],
                        uid=meta["uid"],
                        phase=(pod.get("status") or {}).get("phase", ""),
                        deleting=bool(meta.get("deletionTimestamp")),
                        run_id=(meta.get("annotations") or {}).get(RUN_ANNOTATION, ""),
                        task_id=(meta.get("annotations") or {}).get(TASK_ANNOTATION, ""),
                    )
                )
        with self._lock:
            for dag_id in set(self._history) | set(by_dag):
                self._history[dag_id].append((now, by_dag.get(dag_id, [])))
        return now

    def stop(self) -> None:
        self._sampler.stop()

    def samples(
        self, dag_id: str, run_id: str | None = None, since: float = 0.0
    ) -> list[tuple[float, list[PodSample]]]:
        """Samples of a DAG's pods (of one run, when given: pods of earlier sessions or
        other people's runs of the same DAG id do not count)."""
        with self._lock:
            history = [s for s in self._history.get(dag_id, []) if s[0] >= since]
        if run_id is None:
            return history
        return [(t, [p for p in pods if p.run_id == run_id]) for t, pods in history]

    def current(self, dag_id: str, run_id: str | None = None) -> list[PodSample]:
        samples = self.samples(dag_id, run_id)
        return samples[-1][1] if samples else []

    def gone_since(self, dag_id: str, run_id: str) -> float:
        """When the pods of the run were last seen (they are gone now)."""
        samples = self.samples(dag_id, run_id)
        last_seen = [t for t, pods in samples if pods]
        if not last_seen:
            return samples[0][0] if samples else time.monotonic()
        return next(t for t, pods in samples if t > last_seen[-1])

    def wait(
        self,
        dag_id: str,
        run_id: str,
        condition: Callable[[list[PodSample]], bool],
        timeout: float,
    ) -> float:
        """Wait until the newest sample satisfies `condition`; return when (monotonic)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            samples = self.samples(dag_id, run_id)
            if samples and condition(samples[-1][1]):
                return samples[-1][0]
            time.sleep(SAMPLE_SECONDS)
        raise TimeoutError(f"{dag_id}: pods {self.current(dag_id, run_id)} after {timeout:.0f}s")


@dataclass
class Waiver:
    """Airflow's stale-event race left a case's pod behind: the reaper's to remove.

    The grace checks are waived for that case (no code of ours was left to delete the
    pod); instead one run of the reaper (one period of the hourly garden_reaper) must
    delete every pod left, and they must be gone within their grace after that run.
    """

    pods: list[str]  # namespace/name of the pods left when the waiver was granted
    reaper_state: str | None = None
    reaped: list[str] = field(default_factory=list)  # what the reaper's run deleted
    gone: bool = False  # no pod of the run left within the grace after the reaper's run

    def problems(self) -> list[str]:
        found = []
        if self.reaper_state != "success":
            found.append(f"the reaper's run after the waiver ended {self.reaper_state}")
        missed = sorted(set(self.pods) - set(self.reaped))
        if missed:
            found.append(
                f"the reaper did not remove the waived pod {', '.join(missed)} in its run "
                f"(it deleted: {', '.join(self.reaped) or 'nothing'})"
            )
        if not self.gone:
            found.append(f"a pod of the case was still there {GRACE_SECONDS:.0f}s after the reaper")
        return found


@dataclass
class Outcome:
    case: Case
    state: str | None = None
    try_number: int = 0
    #: seconds from the action (the trigger where the test does nothing) to the TI's end_date
    to_final: float | None = None
    #: seconds from the action to the first moment no pod of the case was left
    to_gone: float | None = None
    pods_max: int = 0
    pod_uids: list[str] = field(default_factory=list)
    gaps: int = 0  # samples without a pod between the first and the last pod of the run
    #: the scheduler failed the resumed task on a stale event; the reaper had to remove the pod
    waiver: Waiver | None = None
    #: pod-watcher samples taken in the case's critical window, and what it missed there
    samples_in_window: int = 0
    watcher_problems: list[str] = field(default_factory=list)
    #: kustomize source ConfigMaps of the run still there after its pods (deleted since)
    leaked: list[str] = field(default_factory=list)
    log: str = ""
    xcom_keys: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0


class MatrixRunner:
    """Runs cases against one stack and seed; `shoot_ready` gates the shoot-bound ones."""

    def __init__(self, *, stack: AirflowStack, kube: KubeClient, watcher: PodWatcher) -> None:
        self.stack = stack
        self.api: AirflowApi = stack.api
        self.kube = kube
        self.watcher = watcher
        self.runs: list[tuple[str, str]] = []  # (dag_id, run_id) of every run triggered
        self.shoot_requested = False
        self._shoot_lock = threading.Lock()
        self._shoot_ready = threading.Event()
        self._shoot_error: str | None = None
        scheduler = ProcessFile(stack.run_dir / "scheduler.pid").running()
        if scheduler is None:
            raise RuntimeError("the stack's scheduler is not running")
        self.scheduler_pid = scheduler.pid

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        run_id = self.api.trigger(dag_id, conf)
        self.runs.append((dag_id, run_id))
        return run_id

    def sweep_kustomize_sources(self) -> list[str]:
        """Delete the source ConfigMaps any run's kustomize tasks left; name whose they were.

        Each case fails on its own leaks (`leaked_sources`); this catches those of runs
        that did not get that far (a case that errored, the canary's run).
        """
        left = []
        for dag_id, run_id in self.runs:
            for ti in self.api.task_instances(dag_id, run_id):
                if "Kustomize" not in str(ti.get("operator")):
                    continue
                selector = f"{SOURCE_LABEL}={source_owner(dag_id, ti['task_id'], run_id, -1)}"
                for namespace in (GARDEN_NAMESPACE, naming.project_namespace(PROJECT)):
                    for cm in self.kube.list("v1", "ConfigMap", namespace, label_selector=selector):
                        if self.kube.delete("v1", "ConfigMap", cm["metadata"]["name"], namespace):
                            left.append(f"{dag_id}.{ti['task_id']}")
        return left

    def leaked_sources(
        self, dag_id: str, run_id: str, task_ids: Sequence[str], namespaces: set[str]
    ) -> list[str]:
        """Source ConfigMaps of the run's kustomize tasks still there once their pods are
        gone (deleted now: the test fails on them). They are owned by their pod; the
        garbage collector gets `SOURCE_GC_SECONDS` to remove them."""
        selectors = [f"{SOURCE_LABEL}={source_owner(dag_id, t, run_id, -1)}" for t in task_ids]
        deadline = time.monotonic() + SOURCE_GC_SECONDS
        while True:
            left = [
                (cm["metadata"]["namespace"], cm["metadata"]["name"])
                for namespace in sorted(namespaces)
                for selector in selectors
                for cm in self.kube.list("v1", "ConfigMap", namespace, label_selector=selector)
            ]
            if not left or time.monotonic() > deadline:
                break
            time.sleep(1)
        for namespace, name in left:
            self.kube.delete("v1", "ConfigMap", name, namespace)
        return [f"{namespace}/{name}" for namespace, name in left]

    # -- what cases need first ---------------------------------------------------
    def request_shoot(self) -> None:
        """Start provisioning the matrix shoot (once) through garden_provision."""
        with self._shoot_lock:
            if self.shoot_requested:
                return
            self.shoot_requested = True
        threading.Thread(target=self._provision, name="kmx-provision", daemon=True).start()

    def shoot(self) -> None:
        """Wait until the matrix shoot is provisioned; raise if it could not be."""
        self.request_shoot()
        self._shoot_ready.wait()
        if self._shoot_error:
            raise RuntimeError(f"the matrix shoot is not there: {self._shoot_error}")

    def _provision(self) -> None:
        try:
            run_id = self.trigger("garden_provision", SHOOT_CONF)
            state = self.api.wait_run("garden_provision", run_id, timeout=900)
            if state != "success":
                self._shoot_error = f"garden_provision ended {state}"
        except Exception as err:
            self._shoot_error = f"garden_provision: {err}"
        finally:
            self._shoot_ready.set()

    # -- processes ---------------------------------------------------------------
    def task_process(
        self, dag_id: str, run_id: str, task_id: str = TASK_ID, timeout: float = 60
    ) -> psutil.Process:
        """The running task's process, proven to descend from this stack's scheduler."""
        deadline = time.monotonic() + timeout
        while True:
            ti = self.api.task_instance(dag_id, run_id, task_id)
            if ti.get("pid"):
                proc = psutil.Process(int(ti["pid"]))
                if self.scheduler_pid in {p.pid for p in proc.parents()}:
                    return proc
            if time.monotonic() > deadline:
                raise TimeoutError(f"{dag_id}: no task process of this stack (pid {ti.get('pid')})")
            time.sleep(0.3)

    def worker_process(self, dag_id: str, run_id: str) -> psutil.Process:
        """The LocalExecutor worker supervising the task: a direct child of the scheduler."""
        worker = self.task_process(dag_id, run_id).parent()
        if worker is None or worker.ppid() != self.scheduler_pid:
            raise RuntimeError(f"{dag_id}: the task's parent is not a worker of this scheduler")
        return worker

    def wait_trigger_started(self, dag_id: str, run_id: str, timeout: float = 60) -> None:
        """Wait until a triggerer runs the task's trigger (its first log line is there).

        A deferred task finished from the UI before any triggerer started its trigger
        has no code of ours left to delete the pod (the triggerer calls `on_kill` only
        on triggers it runs): the orphan reaper's case. "While deferred" starts here.
        """
        deadline = time.monotonic() + timeout
        while "Checking pod" not in self.api.task_logs(dag_id, run_id, TASK_ID):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{dag_id}: no triggerer started the trigger in {timeout}s")
            time.sleep(0.5)

    def let_the_retry_finish(self, dag_id: str, run_id: str, timeout: float = 240) -> None:
        """Once the retry runs beside its pod, end the pod's hold so the verb runs.

        The retry has settled when its log says it reattached or a pod of its own
        exists; either way the pods of the run are released (the case's assertions
        tell which happened).
        """
        deadline = time.monotonic() + timeout
        while True:
            retry = self.api.task_instance(dag_id, run_id, TASK_ID)
            if int(retry["try_number"]) >= 2 and retry["state"] == "running":
                log = self.api.task_logs(dag_id, run_id, TASK_ID, try_number=2)
                if "reattaching to pod" in log or "Building pod" in log:
                    break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{dag_id}: the retry did not start in {timeout}s")
            time.sleep(0.5)
        self.watcher.wait(dag_id, run_id, lambda pods: any(p.phase == "Running" for p in pods), 120)
        for pod in self.watcher.current(dag_id, run_id):
            self.release_hold(pod.namespace, pod.name)

    def release_hold(self, namespace: str, pod: str) -> None:
        """Create the agent's hold-release file in the pod (its documented test seam)."""
        api = ApiClient(self.kube.api.configuration)  # exec upgrades its client's connection
        try:
            stream(
                CoreV1Api(api).connect_get_namespaced_pod_exec,
                pod,
                namespace,
                container="base",
                command=["touch", str(HOLD_RELEASE)],
                stderr=True,
                stdout=True,
                stdin=False,
                tty=False,
            )
        finally:
            api.close()

    def airflow_killed_the_resume(self, dag_id: str, run_id: str) -> bool:
        """Did Airflow's scheduler fail the task on a stale executor event?

        Airflow 3.3 can process the executor's "success" of a task's deferral exit after
        the resumed task was queued again; it then fails the task as "state changed
        externally" and the resume never runs: the pod outlives the task with no code of
        ours left to delete it (the trigger had already fired). The event log says so.
        """
        return bool(self.api.stale_defer_exits(dag_id, run_id, TASK_ID))

    # -- one case ------------------------------------------------------------------
    def run(self, case: Case) -> Outcome:
        outcome = Outcome(case=case)
        began = time.monotonic()
        try:
            if Needs.SHOOT in case.op.needs:
                self.shoot()
            self._drive(case, outcome)
        except Exception as err:
            outcome.error = f"{type(err).__name__}: {err}"
        outcome.seconds = time.monotonic() - began
        return outcome

    def _drive(self, case: Case, outcome: Outcome) -> None:
        api, dag = self.api, case.dag_id
        run_id = self.trigger(dag)
        started = time.monotonic()
        acted, acted_wall = started, time.time()
        twin: PodSample | None = None
        path = case.path
        if path in (
            ExitPath.MARK_FAILED,
            ExitPath.MARK_SUCCESS,
            ExitPath.EXECUTION_TIMEOUT,
            ExitPath.SIGTERM_WORKER,
            ExitPath.KILL_AND_RETRY,
        ):
            self.watcher.wait(
                dag, run_id, lambda pods: any(p.phase == "Running" for p in pods), 240
            )
            holding = {"deferred"} if case.mode is Mode.DEFERRABLE else {"running"}
            api.wait_task_state(dag, run_id, TASK_ID, holding | FINAL_STATES, timeout=120)
            if case.mode is Mode.DEFERRABLE:
                self.wait_trigger_started(dag, run_id)
            twin = self._faults_while_running(case, run_id)
            if path is ExitPath.KILL_AND_RETRY:
                time.sleep(3)  # well inside the pod's hold
            acted, acted_wall = time.monotonic(), time.time()
            if path is ExitPath.MARK_FAILED:
                api.set_task_state(dag, run_id, TASK_ID, "failed")
            elif path is ExitPath.MARK_SUCCESS:
                api.set_task_state(dag, run_id, TASK_ID, "success")
            elif path is ExitPath.SIGTERM_WORKER:
                self.worker_process(dag, run_id).send_signal(signal.SIGTERM)
            elif path is ExitPath.KILL_AND_RETRY:
                self.task_process(dag, run_id).send_signal(signal.SIGKILL)
                self.let_the_retry_finish(dag, run_id)
        api.wait_run(dag, run_id, timeout=420)
        if twin is not None:
            self._delete_pod(twin.namespace, twin.name)
        ti = api.task_instance(dag, run_id, TASK_ID)
        outcome.state = ti["state"]
        outcome.try_number = int(ti["try_number"])
        if ti.get("end_date"):
            outcome.to_final = datetime.fromisoformat(ti["end_date"]).timestamp() - acted_wall
        self._wait_pods_gone(case, run_id, outcome)
        gone = self.watcher.gone_since(dag, run_id)
        outcome.to_gone = max(0.0, gone - acted)
        window = Window(f"of {case.id} (from its action to its last pod gone)", acted, gone)
        outcome.samples_in_window = self.watcher.ledger.taken_in(window)
        outcome.watcher_problems = self.watcher.ledger.window_problems([window])
        if issubclass(case.op.cls, KustomizeApplyOperator):
            namespaces = {case.op.pod_namespace, GARDEN_NAMESPACE}
            outcome.leaked = self.leaked_sources(dag, run_id, [TASK_ID], namespaces)
        self._pod_history(dag, run_id, started, outcome)
        outcome.log = "\n".join(
            api.task_logs(dag, run_id, TASK_ID, try_number=n)
            for n in range(1, outcome.try_number + 1)
        )
        outcome.xcom_keys = api.xcom_keys(dag, run_id, TASK_ID)

    def _wait_pods_gone(self, case: Case, run_id: str, outcome: Outcome) -> None:
        """Wait until no pod of the run is left; or, where Airflow's race left one, waive
        the grace checks and let one reaper run remove it (`Waiver`)."""
        dag = case.dag_id
        try:
            self.watcher.wait(dag, run_id, lambda pods: not pods, GRACE_SECONDS + 30)
        except TimeoutError:
            if not self.airflow_killed_the_resume(dag, run_id):
                raise
        else:
            if not fault("airflow-race"):
                return
            self._plant_leftover(case, run_id)
        waiver = outcome.waiver = Waiver(
            pods=[f"{p.namespace}/{p.name}" for p in self.watcher.current(dag, run_id)]
        )
        selector = f"dag_id={dag}" if not fault("reaper-misses") else NO_POD_SELECTOR
        reaper = self.trigger("kmx_reaper", {"label_selector": selector})
        waiver.reaper_state = self.api.wait_run("kmx_reaper", reaper, timeout=180)
        if waiver.reaper_state == "success":
            summary = self.api.xcom("kmx_reaper", reaper, "reap_orphan_pods") or {}
            waiver.reaped = [d["pod"] for d in summary.get("deleted", [])]
        try:
            self.watcher.wait(dag, run_id, lambda pods: not pods, GRACE_SECONDS)
            waiver.gone = True
        except TimeoutError:
            # The case fails on it (Waiver.problems); the seed is left clean all the same.
            for pod in self.watcher.current(dag, run_id):
                self._delete_pod(pod.namespace, pod.name)
            self.watcher.wait(dag, run_id, lambda pods: not pods, GRACE_SECONDS + 30)

    # -- test-only faults (GARDEN_TEST_FAULT, tests/faults.py) ----------------------
    def _faults_while_running(self, case: Case, run_id: str) -> PodSample | None:
        """Break what the case watches while its pod runs; the twin pod, if one was made."""
        if fault("leak-configmap"):
            selector = f"{SOURCE_LABEL}={source_owner(case.dag_id, TASK_ID, run_id, -1)}"
            for cm in self.kube.list(
                "v1", "ConfigMap", case.op.pod_namespace, label_selector=selector
            ):
                self.kube.merge_patch(
                    "v1",
                    "ConfigMap",
                    cm["metadata"]["name"],
                    {"metadata": {"ownerReferences": None}},
                    case.op.pod_namespace,
                )
        if not fault("two-pods"):
            return None
        [pod] = [p for p in self.watcher.current(case.dag_id, run_id) if p.phase == "Running"]
        return self._sleeping_pod(case, run_id, f"{pod.name[:50]}-twin")

    def _plant_leftover(self, case: Case, run_id: str) -> None:
        """A pod of the run that outlives its task, as Airflow's race leaves one."""
        self._sleeping_pod(case, run_id, f"kmx-race-{case.id.replace('_', '-')}"[:63])
        self.watcher.wait(case.dag_id, run_id, bool, 60)

    def _sleeping_pod(self, case: Case, run_id: str, name: str) -> PodSample:
        """A pod of this provider with the run's identity, sleeping in the toolbox image."""
        namespace = case.op.pod_namespace
        self.kube.create(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": name,
                    "namespace": namespace,
                    "labels": {PROVIDER_LABEL: PROVIDER_LABEL_VALUE, "dag_id": case.dag_id},
                    "annotations": {
                        DAG_ANNOTATION: case.dag_id,
                        RUN_ANNOTATION: run_id,
                        TASK_ANNOTATION: TASK_ID,
                        MAP_INDEX_ANNOTATION: "-1",
                    },
                },
                "spec": {
                    "restartPolicy": "Never",
                    "terminationGracePeriodSeconds": 1,
                    "automountServiceAccountToken": False,
                    "containers": [
                        {
                            "name": "base",
                            "image": TOOLBOX_IMAGE,
                            "imagePullPolicy": "IfNotPresent",
                            "command": ["sleep", "600"],
                        }
                    ],
                },
            }
        )
        return PodSample(namespace, name, "", "", False, run_id, TASK_ID)

    def _delete_pod(self, namespace: str, name: str) -> None:
        with contextlib.suppress(NotFound):
            self.kube.raw("DELETE", f"/api/v1/namespaces/{namespace}/pods/{name}")

    def _pod_history(self, dag_id: str, run_id: str, since: float, outcome: Outcome) -> None:
        samples = self.watcher.samples(dag_id, run_id, since)
        outcome.pods_max = max((len(pods) for _, pods in samples), default=0)
        uids: list[str] = []
        for _, pods in samples:
            uids += [p.uid for p in pods if p.uid not in uids]
        outcome.pod_uids = uids
        seen = [i for i, (_, pods) in enumerate(samples) if pods]
        if seen:
            outcome.gaps = sum(1 for _, pods in samples[seen[0] : seen[-1] + 1] if not pods)


def run_lanes(
    runner: MatrixRunner,
    parallel: Sequence[Case],
    serial: Sequence[Case],
    last: Sequence[Case],
    *,
    workers: int,
) -> dict[str, Outcome]:
    """`parallel` cases on `workers` threads, `serial` ones one by one beside them, then `last`."""
    results: dict[str, Outcome] = {}
    if any(Needs.SHOOT in c.op.needs for c in [*parallel, *serial, *last]):
        runner.request_shoot()
    with ThreadPoolExecutor(max_workers=workers + 1) as pool:
        futures = [pool.submit(runner.run, case) for case in parallel]

        def one_by_one() -> list[Outcome]:
            return [runner.run(case) for case in serial]

        serial_future = pool.submit(one_by_one)
        for future in futures:
            outcome = future.result()
            results[outcome.case.id] = outcome
        for outcome in serial_future.result():
            results[outcome.case.id] = outcome
    for case in last:
        results[case.id] = runner.run(case)
    return results


def wait_run(api: AirflowApi, dag_id: str, conf: dict[str, Any], timeout: float) -> str:
    """Trigger a run and wait for it; its state."""
    run_id = api.trigger(dag_id, conf)
    return api.wait_run(dag_id, run_id, timeout=timeout)
