"""The kill matrix: every operator, mode and exit path through the real Airflow, on the seed.

For each case: within the grace period after the task ended no pod of it remains,
never more than one pod of it exists at a time, and the task's final state tells
the truth (failed; success only where the user marked it so, or where the pod
succeeded and its result validated). All cases run concurrently on one stack; the
table of outcomes goes into the "Airflow e2e stack" section of the summary.
"""

from __future__ import annotations

import time
import warnings

import pytest
from faults import fault
from kill_matrix import operators
from kill_matrix.harness import GRACE_SECONDS, MatrixRunner, Outcome, run_lanes
from kill_matrix.operators import (
    EXECUTION_TIMEOUT,
    REGISTRY,
    Case,
    ExitPath,
    Mode,
    Needs,
    cases,
    exported_operator_classes,
    missing_entries,
)

CASES = cases()
PARALLEL_CASES = 6

EXPECTED_STATE = {
    ExitPath.MARK_FAILED: "failed",
    ExitPath.MARK_SUCCESS: "success",  # the user's word; the pod is deleted all the same
    ExitPath.EXECUTION_TIMEOUT: "failed",
    ExitPath.SIGTERM_WORKER: "failed",
    ExitPath.STARTUP_IMAGE: "failed",
    ExitPath.STARTUP_UNSCHEDULABLE: "failed",
    ExitPath.CRASH_BEFORE_RESULT: "failed",
    ExitPath.KILL_AND_RETRY: "success",  # the retry reattached and the result validated
}
# What the task's log must say about why it ended.
EVIDENCE: dict[tuple[ExitPath, Mode | None], tuple[str, ...]] = {
    (ExitPath.EXECUTION_TIMEOUT, Mode.SYNC): ("AirflowTaskTimeout",),
    (ExitPath.EXECUTION_TIMEOUT, Mode.DEFERRABLE): ("execution_timeout deadline",),
    (ExitPath.SIGTERM_WORKER, None): ("AgentKilledError", "was stopped while its pod ran"),
    (ExitPath.STARTUP_IMAGE, None): ("AgentStartupError", "ErrImageNeverPull", "pod events:"),
    (ExitPath.STARTUP_UNSCHEDULABLE, None): (
        "AgentStartupError",
        "not scheduled within 5s",
        "FailedScheduling",
    ),
    (ExitPath.CRASH_BEFORE_RESULT, None): ("did not succeed", "exited 1", "ValueError"),
    (ExitPath.KILL_AND_RETRY, None): ("reattaching to pod",),
}


def lanes(all_cases: list[Case]) -> tuple[list[Case], list[Case], list[Case]]:
    """Cases that may run at once; lease-bound ones one by one; shoot-bound retries last.

    A retry lets its verb run for real (reconcile, backup, restore of the one matrix
    shoot), so those run alone, after everything else.
    """
    last = [c for c in all_cases if c.path is ExitPath.KILL_AND_RETRY and Needs.SHOOT in c.op.needs]
    serial = [c for c in all_cases if c.op.lease_bound and c not in last]
    parallel = [c for c in all_cases if c not in last and c not in serial]
    parallel.sort(key=lambda c: Needs.SHOOT in c.op.needs)  # the shoot comes up meanwhile
    return parallel, serial, last


@pytest.fixture(scope="module")
def kill_matrix(
    matrix_runner: MatrixRunner, e2e_report: list[str], request: pytest.FixtureRequest
) -> dict[str, Outcome]:
    """Runs every selected case (`-k` narrows the matrix too) and reports the table."""
    began = time.monotonic()
    selected = {
        item.callspec.params["case"].id
        for item in request.session.items
        if hasattr(item, "callspec") and "case" in item.callspec.params
    }
    parallel, serial, last = lanes([c for c in CASES if c.id in selected])
    results = run_lanes(matrix_runner, parallel, serial, last, workers=PARALLEL_CASES)
    e2e_report.append(
        f"kill matrix: {len(results)} cases in {time.monotonic() - began:.0f}s "
        f"({PARALLEL_CASES} at once)"
    )
    e2e_report.append(matrix_runner.watcher.ledger.summary())
    in_windows = sorted(o.samples_in_window for o in results.values() if not o.error)
    if in_windows:
        e2e_report.append(
            f"pod watcher samples in each case's critical window: fewest {in_windows[0]}, "
            f"median {in_windows[len(in_windows) // 2]}; lost there: "
            f"{sum(bool(o.watcher_problems) for o in results.values())} cases"
        )
    waived = [(o.case.id, o.waiver) for o in results.values() if o.waiver is not None]
    e2e_report.append(
        f"Airflow race waivers (grace checks skipped; the reaper must remove the pod): "
        f"{len(waived)}"
    )
    for case_id, waiver in waived:
        verdict = "; ".join(waiver.problems()) or "the reaper removed it"
        e2e_report.append(f"  {case_id}: {', '.join(waiver.pods)}: {verdict}")
    e2e_report.extend(table(results))
    return results


def table(results: dict[str, Outcome]) -> list[str]:
    """Markdown: one row per operator, one column per exit path and mode."""
    columns = [(p, m) for p in ExitPath for m in Mode]
    header = "| operator | " + " | ".join(f"{p} ({m})" for p, m in columns) + " |"
    lines = [header, "|" + "---|" * (len(columns) + 1)]
    for op in REGISTRY:
        cells = []
        for path, mode in columns:
            outcome = results.get(Case(op=op, mode=mode, path=path).id)
            cells.append(cell(outcome))
        lines.append(f"| {op.cls.__name__} | " + " | ".join(cells) + " |")
    return lines


def cell(outcome: Outcome | None) -> str:
    if outcome is None:
        return "n/a"
    if outcome.error:
        return f"ERROR {outcome.error[:60]}"
    verdict = "ok" if not problems(outcome) else "FAIL"
    gone = f"{outcome.to_gone:.0f}s" if outcome.to_gone is not None else "?"
    if outcome.waiver is not None:
        return f"{verdict}: {outcome.state}, Airflow race left the pod, reaped {gone}"
    return f"{verdict}: {outcome.state}, pod gone {gone}"


def problems(outcome: Outcome) -> list[str]:
    """What is wrong with a case's outcome (empty: the case passed)."""
    case = outcome.case
    found = []
    if outcome.state != EXPECTED_STATE[case.path]:
        found.append(f"state {outcome.state}, expected {EXPECTED_STATE[case.path]}")
    if outcome.pods_max > 1:
        found.append(f"{outcome.pods_max} pods of the case existed at once")
    found += outcome.watcher_problems
    found += [f"its kustomize source ConfigMap {name} outlived its pod" for name in outcome.leaked]
    if outcome.waiver is not None:
        found += outcome.waiver.problems()
    if outcome.to_gone is None:
        found.append("its pod never went away")
    elif outcome.waiver is None:
        ended = outcome.to_final or 0.0
        if outcome.to_gone - ended > GRACE_SECONDS:
            found.append(
                f"pod gone {outcome.to_gone - ended:.1f}s after the task ended "
                f"(grace {GRACE_SECONDS:.0f}s)"
            )
        limit = GRACE_SECONDS
        if case.path is ExitPath.EXECUTION_TIMEOUT:
            limit += EXECUTION_TIMEOUT.total_seconds()
        acted_on = case.path in (
            ExitPath.MARK_FAILED,
            ExitPath.MARK_SUCCESS,
            ExitPath.SIGTERM_WORKER,
            ExitPath.EXECUTION_TIMEOUT,
        )
        if acted_on and outcome.to_gone > limit:
            found.append(f"pod gone {outcome.to_gone:.1f}s after the action (limit {limit:.0f}s)")
    for key in ((case.path, case.mode), (case.path, None)):
        for words in EVIDENCE.get(key, ()):  # type: ignore[arg-type]
            if words not in outcome.log:
                found.append(f"the task log does not say {words!r}")
    if case.path is ExitPath.KILL_AND_RETRY:
        if outcome.try_number != 2:
            found.append(f"try {outcome.try_number}, expected the retry (2)")
        if len(outcome.pod_uids) != 1 or outcome.gaps:
            found.append(
                f"the retry did not reattach: pods {outcome.pod_uids}, {outcome.gaps} gaps"
            )
        if "return_value" not in outcome.xcom_keys:
            found.append("no validated result was pushed")
    elif "return_value" in outcome.xcom_keys:
        found.append("a result was pushed although the pod did not finish")
    return found


def test_every_exported_operator_has_a_registry_entry() -> None:
    entries = REGISTRY[1:] if fault("unregistered-operator") else REGISTRY
    missing = missing_entries(entries)
    assert not missing, (
        f"operators without a kill-matrix entry: {', '.join(missing)}; add one to "
        f"REGISTRY in {operators.__file__}"
    )
    exported = set(exported_operator_classes())
    extra = sorted(e.cls.__name__ for e in entries if e.cls not in exported)
    if extra:
        warnings.warn(
            "in the kill matrix but not exported by get_provider_info: " + ", ".join(extra),
            stacklevel=1,
        )


def test_the_registry_check_names_an_operator_left_out() -> None:
    """The check above can fail: without any one entry, it names that entry's operator."""
    exported = set(exported_operator_classes())
    for i, entry in enumerate(REGISTRY):
        if entry.cls in exported:
            assert missing_entries(REGISTRY[:i] + REGISTRY[i + 1 :]) == [entry.cls.__name__]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_exit_path(case: Case, kill_matrix: dict[str, Outcome]) -> None:
    outcome = kill_matrix[case.id]
    assert outcome.error is None, outcome.error
    found = problems(outcome)
    window = f"pod watcher: {outcome.samples_in_window} samples in the case's critical window"
    assert not found, "\n".join([*found, window, "--- task log (tail) ---", outcome.log[-4000:]])


def test_the_pod_watcher_lost_at_most_its_share(
    kill_matrix: dict[str, Outcome], matrix_runner: MatrixRunner
) -> None:
    """Each case checks its own critical window; this, the watcher's whole run so far."""
    ledger = matrix_runner.watcher.ledger
    assert not ledger.share_problems(), ledger.summary()
