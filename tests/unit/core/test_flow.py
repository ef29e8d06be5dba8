from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

import pytest

from airflow_provider_garden.core.flow import (
    Flow,
    FlowDefinitionError,
    FlowError,
    Graph,
    PermanentError,
    Progress,
    Retry,
    Task,
    TaskID,
    TaskState,
)


class FakeTime:
    """A clock that only moves when the flow sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def recorder(log: list[str], name: str) -> Callable[[], None]:
    return lambda: log.append(name)


def noop() -> None:
    return None


@pytest.mark.parametrize(
    ("tasks", "message"),
    [
        ([Task(name="a", fn=noop), Task(name="a", fn=noop)], "duplicate task name 'a'"),
        ([Task(name="a", fn=noop, dependencies=["z"])], "task 'a' depends on unknown task 'z'"),
        ([Task(name="a", fn=noop, dependencies=["a"])], "dependency cycle .*'?a'? -> a"),
        (
            [
                Task(name="a", fn=noop, dependencies=["c"]),
                Task(name="b", fn=noop, dependencies=["a"]),
                Task(name="c", fn=noop, dependencies=["b"]),
            ],
            "dependency cycle \\(each needs the next\\): a -> c -> b -> a",
        ),
        ([Task(name=" ", fn=noop)], "empty name"),
        (
            [Task(name="a", fn=noop, retry_interval=dt.timedelta(0))],
            "task 'a' needs retry_timeout >= 0 and retry_interval > 0",
        ),
    ],
)
def test_invalid_graphs_fail_when_built(tasks: list[Task], message: str) -> None:
    with pytest.raises(FlowDefinitionError, match=message):
        Flow(name="f", tasks=tasks)


def test_runs_in_dependency_order_not_declaration_order() -> None:
    ran: list[str] = []
    flow = Flow(
        name="reconcile",
        tasks=[
            Task(name="deploy apiserver", fn=recorder(ran, "api"), dependencies=["deploy etcd"]),
            Task(name="deploy etcd", fn=recorder(ran, "etcd"), dependencies=["make certs"]),
            Task(name="make certs", fn=recorder(ran, "certs")),
            Task(name="wait ready", fn=recorder(ran, "ready"), dependencies=["deploy apiserver"]),
        ],
    )
    result = flow.run()
    assert ran == ["certs", "etcd", "api", "ready"]
    assert result.names(TaskState.SUCCEEDED) == (
        "make certs",
        "deploy etcd",
        "deploy apiserver",
        "wait ready",
    )


def test_progress_reports_names_and_counts() -> None:
    events: list[Progress] = []
    flow = Flow(
        name="f",
        tasks=[
            Task(name="A", fn=noop),
            Task(name="B", fn=noop, dependencies=["A"], skip_if=True),
            Task(name="C", fn=noop, dependencies=["B"]),
        ],
    )
    flow.run(on_progress=events.append)
    assert [(e.task, e.state, e.done, e.total, e.percent) for e in events] == [
        ("A", TaskState.RUNNING, 0, 3, 0),
        ("A", TaskState.SUCCEEDED, 1, 3, 33),
        ("B", TaskState.RUNNING, 1, 3, 33),
        ("B", TaskState.SKIPPED, 2, 3, 66),
        ("C", TaskState.RUNNING, 2, 3, 66),
        ("C", TaskState.SUCCEEDED, 3, 3, 100),
    ]
    assert events[0].description == "A"
    assert events[-1].description == "C: Succeeded"


def test_skip_condition_is_evaluated_when_the_task_is_due() -> None:
    found = {"etcd_exists": False}
    ran: list[str] = []

    def probe() -> None:
        found["etcd_exists"] = True

    flow = Flow(
        name="f",
        tasks=[
            Task(name="probe", fn=probe),
            Task(
                name="create etcd",
                fn=recorder(ran, "create"),
                dependencies=["probe"],
                skip_if=lambda: found["etcd_exists"],
            ),
        ],
    )
    result = flow.run()
    assert ran == []
    assert result.names(TaskState.SKIPPED) == ("create etcd",)


def test_failure_names_the_task_and_what_succeeded() -> None:
    ran: list[str] = []

    def broken() -> None:
        raise RuntimeError("etcd pod CrashLoopBackOff")

    flow = Flow(
        name="reconcile shoot",
        tasks=[
            Task(name="Generating certificates", fn=recorder(ran, "certs")),
            Task(name="Skipped step", fn=noop, skip_if=True),
            Task(name="Deploying etcd", fn=broken, dependencies=["Generating certificates"]),
            Task(name="Deploying kube-apiserver", fn=noop, dependencies=["Deploying etcd"]),
        ],
    )
    with pytest.raises(FlowError) as info:
        flow.run()
    err = info.value
    assert err.failed_tasks == ("Deploying etcd",)
    assert err.succeeded == ("Generating certificates",)
    assert err.skipped == ("Skipped step",)
    assert err.not_run == ("Deploying kube-apiserver",)
    assert str(err) == (
        "flow 'reconcile shoot': task 'Deploying etcd' failed after 1 attempt(s): "
        "etcd pod CrashLoopBackOff. Succeeded: 'Generating certificates'. "
        "Skipped: 'Skipped step'. Not run: 'Deploying kube-apiserver'."
    )
    assert isinstance(err.__cause__, RuntimeError)


@pytest.mark.parametrize(
    ("failures_before_success", "timeout_s", "interval_s", "attempts", "sleeps", "ok"),
    [
        (0, 0, 5, 1, [], True),  # success first time
        (1, 0, 5, 1, [], False),  # no retry budget: one attempt
        (2, 60, 5, 3, [5, 5], True),  # retried until success
        (100, 12, 5, 4, [5, 5, 2], False),  # last sleep is cut to the deadline, one last try
        (100, 10, 5, 3, [5, 5], False),  # deadline hit exactly after a sleep: one last try
    ],
)
def test_retry_until_timeout(
    failures_before_success: int,
    timeout_s: float,
    interval_s: float,
    attempts: int,
    sleeps: list[float],
    ok: bool,
) -> None:
    fake = FakeTime()
    calls = {"n": 0}

    def flaky() -> None:
        calls["n"] += 1
        if calls["n"] <= failures_before_success:
            raise ConnectionError(f"attempt {calls['n']}")

    task = Task(
        name="wait for /readyz",
        fn=flaky,
        retry_timeout=dt.timedelta(seconds=timeout_s),
        retry_interval=dt.timedelta(seconds=interval_s),
    )
    flow = Flow(name="f", tasks=[task])
    if ok:
        (outcome,) = flow.run(sleep=fake.sleep, clock=fake.clock).outcomes
        assert outcome.attempts == attempts
    else:
        with pytest.raises(FlowError, match=f"after {attempts} attempt\\(s\\): attempt {attempts}"):
            flow.run(sleep=fake.sleep, clock=fake.clock)
    assert calls["n"] == attempts
    assert fake.sleeps == sleeps


def test_permanent_error_is_not_retried() -> None:
    fake = FakeTime()

    def misconfigured() -> None:
        raise PermanentError("ERR_CONFIGURATION_PROBLEM: bad CIDR")

    task = Task(name="t", fn=misconfigured, retry_timeout=dt.timedelta(minutes=5))
    with pytest.raises(FlowError, match="after 1 attempt"):
        Flow(name="f", tasks=[task]).run(sleep=fake.sleep, clock=fake.clock)
    assert fake.sleeps == []


def test_failing_skip_condition_fails_the_task() -> None:
    def boom() -> bool:
        raise LookupError("cannot read Shoot")

    with pytest.raises(FlowError, match="task 't' failed after 0 attempt\\(s\\): cannot read"):
        Flow(name="f", tasks=[Task(name="t", fn=noop, skip_if=boom)]).run()


def test_independent_tasks_run_in_parallel() -> None:
    # Both tasks must be inside the barrier at once, which only parallel execution allows.
    barrier = threading.Barrier(2, timeout=5)
    tasks = [
        Task(name="deploy scheduler", fn=barrier.wait),
        Task(name="deploy controller-manager", fn=barrier.wait),
        Task(name="wait", fn=noop, dependencies=["deploy scheduler", "deploy controller-manager"]),
    ]
    events: list[Progress] = []
    Flow(name="f", tasks=tasks).run(max_workers=2, on_progress=events.append)
    assert events[1].running == ("deploy scheduler", "deploy controller-manager")
    assert events[1].description == "deploy scheduler, deploy controller-manager"
    assert events[-1].task == "wait"


def test_after_a_failure_no_new_task_starts_but_running_ones_finish() -> None:
    started = threading.Event()
    failure_seen = threading.Event()
    ran: list[str] = []

    def slow() -> None:
        started.set()
        failure_seen.wait(5)
        ran.append("slow")

    def fail() -> None:
        started.wait(5)
        raise RuntimeError("boom")

    def watch(progress: Progress) -> None:
        if progress.state is TaskState.FAILED:
            failure_seen.set()

    tasks = [
        Task(name="slow", fn=slow),
        Task(name="fail", fn=fail),
        Task(name="later", fn=recorder(ran, "later")),
    ]
    with pytest.raises(FlowError) as info:
        Flow(name="f", tasks=tasks).run(max_workers=2, on_progress=watch)
    assert ran == ["slow"]
    assert info.value.succeeded == ("slow",)
    assert info.value.not_run == ("later",)


def test_progress_callback_errors_do_not_stop_the_flow() -> None:
    def broken_status_writer(_: Progress) -> None:
        raise ConnectionError("seed unreachable")

    ran: list[str] = []
    Flow(name="f", tasks=[Task(name="a", fn=recorder(ran, "a"))]).run(
        on_progress=broken_status_writer
    )
    assert ran == ["a"]


def test_rejects_zero_workers() -> None:
    with pytest.raises(ValueError, match="max_workers"):
        Flow(name="f", tasks=[]).run(max_workers=0)


def test_empty_flow_succeeds() -> None:
    assert Flow(name="f", tasks=[]).run().outcomes == ()


# --- the builder: tasks named once, dependencies by the ids add() returned ----------
def test_graph_add_returns_ids_that_order_the_run() -> None:
    ran: list[str] = []
    g = Graph("reconcile")
    certs = g.add("make certs", recorder(ran, "certs"))
    etcd = g.add("deploy etcd", recorder(ran, "etcd"), dependencies=[certs])
    api = g.add("deploy apiserver", recorder(ran, "api"), dependencies=[certs])
    g.add("wait ready", recorder(ran, "ready"), dependencies=[etcd, api])
    flow = g.compile()
    assert (certs.name, etcd.name) == ("make certs", "deploy etcd")
    assert [t.dependencies for t in flow.tasks] == [
        (),
        ("make certs",),
        ("make certs",),
        ("deploy etcd", "deploy apiserver"),
    ]
    flow.run()
    assert ran == ["certs", "etcd", "api", "ready"]


def test_graph_rejects_a_name_as_dependency() -> None:
    g = Graph("f")
    g.add("a", noop)
    with pytest.raises(FlowDefinitionError, match="names dependency 'a'; dependencies are the ids"):
        g.add("b", noop, dependencies=["a"])  # type: ignore[list-item]


def test_graph_rejects_an_id_of_another_graph() -> None:
    # The only way to name a task that is not in this graph (so also the only way a
    # cycle could be written): every id must come from this graph's own add().
    other = Graph("other").add("a", noop)
    g = Graph("f")
    g.add("a", noop)
    with pytest.raises(FlowDefinitionError, match="task 'b' depends on unknown task 'a'"):
        g.add("b", noop, dependencies=[other])


def test_graph_rejects_an_id_of_a_task_not_added() -> None:
    g = Graph("f")
    forged = TaskID("later", g.add("a", noop).graph)
    with pytest.raises(FlowDefinitionError, match="depends on unknown task 'later'"):
        g.add("b", noop, dependencies=[forged])


@pytest.mark.parametrize(("name", "message"), [("a", "duplicate task name 'a'"), (" ", "empty")])
def test_graph_rejects_bad_names_when_added(name: str, message: str) -> None:
    g = Graph("f")
    g.add("a", noop)
    with pytest.raises(FlowDefinitionError, match=message):
        g.add(name, noop)


def test_graph_retry_setting_reaches_the_task() -> None:
    fake = FakeTime()
    calls = {"n": 0}

    def flaky() -> None:
        calls["n"] += 1
        if calls["n"] < 3:
            raise ConnectionError("not yet")

    g = Graph("f")
    retry = Retry(timeout=dt.timedelta(seconds=10), interval=dt.timedelta(seconds=2))
    g.add("wait", flaky, retry=retry)
    g.add("once", flaky)  # no retry unless asked: the fourth call succeeds at once
    g.compile().run(sleep=fake.sleep, clock=fake.clock)
    assert (calls["n"], fake.sleeps) == (4, [2.0, 2.0])


def test_graph_without_retry_tries_once() -> None:
    def broken() -> None:
        raise ConnectionError("down")

    g = Graph("f")
    g.add("t", broken)
    with pytest.raises(FlowError, match="after 1 attempt"):
        g.compile().run(sleep=FakeTime().sleep)


@pytest.mark.parametrize(("timeout_s", "interval_s"), [(-1, 1), (1, 0)])
def test_retry_rejects_impossible_settings(timeout_s: int, interval_s: int) -> None:
    with pytest.raises(FlowDefinitionError, match="retry needs timeout >= 0 and interval > 0"):
        Retry(timeout=dt.timedelta(seconds=timeout_s), interval=dt.timedelta(seconds=interval_s))
