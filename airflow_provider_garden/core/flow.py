"""A small graph of named tasks, after Gardener's ``pkg/utils/flow``.

A multi-step procedure (reconcile a shoot, restore etcd) is declared as tasks with
human-readable names and explicit dependencies. The graph is checked when it is
built, runs in dependency order, and reports progress in terms a person reads in
``status.lastOperation.description``. A failure names the task that failed and
what had already been done, so a re-run can be reasoned about.

:class:`Graph` is the builder: ``add`` returns a :class:`TaskID` and later tasks
name their dependencies by those ids, so a name is written once and a dependency
on a task that does not exist (yet) cannot be expressed.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import itertools
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


class TaskState(enum.StrEnum):
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    SKIPPED = "Skipped"
    FAILED = "Failed"


class PermanentError(Exception):
    """Raised by a task function to stop its retries: waiting will not fix this."""


class FlowDefinitionError(ValueError):
    """The graph itself is wrong (unknown dependency, cycle, duplicate name)."""


@dataclass(frozen=True, kw_only=True)
class Task:
    """One step. ``fn`` is retried until it succeeds or ``retry_timeout`` has passed.

    ``skip_if`` is evaluated just before the task would run, so it can depend on what
    earlier tasks found; a skipped task counts as done for its dependents.
    """

    name: str
    fn: Callable[[], object]
    dependencies: Sequence[str] = ()
    skip_if: bool | Callable[[], bool] = False
    retry_timeout: dt.timedelta = dt.timedelta(0)
    retry_interval: dt.timedelta = dt.timedelta(seconds=5)

    def __post_init__(self) -> None:
        object.__setattr__(self, "dependencies", tuple(self.dependencies))


@dataclass(frozen=True, kw_only=True)
class Retry:
    """How long and how often a task's function is tried again until it succeeds."""

    timeout: dt.timedelta
    interval: dt.timedelta = dt.timedelta(seconds=5)

    def __post_init__(self) -> None:
        if self.timeout < dt.timedelta(0) or self.interval <= dt.timedelta(0):
            raise FlowDefinitionError(
                f"retry needs timeout >= 0 and interval > 0, got {self.timeout}, {self.interval}"
            )


ONCE = Retry(timeout=dt.timedelta(0))


@dataclass(frozen=True)
class TaskID:
    """What :meth:`Graph.add` returns; the only way to name a dependency in a graph."""

    name: str
    graph: int = field(repr=False)


class Graph:
    """Builds a :class:`Flow` task by task; each task depends on ids returned earlier."""

    _serial = itertools.count()

    def __init__(self, name: str) -> None:
        self.name = name
        self._id = next(self._serial)
        self._tasks: dict[str, Task] = {}

    def add(
        self,
        name: str,
        fn: Callable[[], object],
        *,
        dependencies: Iterable[TaskID] = (),
        skip_if: bool | Callable[[], bool] = False,
        retry: Retry = ONCE,
    ) -> TaskID:
        """Add a task after ``dependencies``; raise :class:`FlowDefinitionError` at once
        for an empty or repeated name, or a dependency that is not an id of this graph."""
        if not name.strip():
            raise FlowDefinitionError(f"flow {self.name!r}: a task has an empty name")
        if name in self._tasks:
            raise FlowDefinitionError(f"flow {self.name!r}: duplicate task name {name!r}")
        deps = tuple(dependencies)
        for dep in deps:
            if not isinstance(dep, TaskID):
                raise FlowDefinitionError(
                    f"flow {self.name!r}: task {name!r} names dependency {dep!r}; "
                    "dependencies are the ids add() returned, not names"
                )
            if dep.graph != self._id or dep.name not in self._tasks:
                raise FlowDefinitionError(
                    f"flow {self.name!r}: task {name!r} depends on unknown task {dep.name!r}"
                )
        self._tasks[name] = Task(
            name=name,
            fn=fn,
            dependencies=[d.name for d in deps],
            skip_if=skip_if,
            retry_timeout=retry.timeout,
            retry_interval=retry.interval,
        )
        return TaskID(name, self._id)

    def compile(self) -> Flow:
        """The checked, runnable flow of every task added so far."""
        return Flow(name=self.name, tasks=list(self._tasks.values()))


@dataclass(frozen=True, kw_only=True)
class TaskOutcome:
    name: str
    state: TaskState
    attempts: int
    seconds: float
    error: BaseException | None = None


@dataclass(frozen=True, kw_only=True)
class Progress:
    """Reported whenever a task starts or ends."""

    flow: str
    task: str
    state: TaskState
    done: int
    total: int
    running: tuple[str, ...]

    @property
    def percent(self) -> int:
        return self.done * 100 // self.total if self.total else 100

    @property
    def description(self) -> str:
        """What is happening now, for ``lastOperation.description``."""
        return ", ".join(self.running) if self.running else f"{self.task}: {self.state}"


@dataclass(frozen=True, kw_only=True)
class FlowResult:
    flow: str
    outcomes: tuple[TaskOutcome, ...]

    def names(self, state: TaskState) -> tuple[str, ...]:
        return tuple(o.name for o in self.outcomes if o.state is state)


class FlowError(Exception):
    """One or more tasks failed; lists what failed, what succeeded and what never ran."""

    def __init__(self, *, flow: str, outcomes: Sequence[TaskOutcome], not_run: Sequence[str]):
        self.flow = flow
        self.failed = tuple(o for o in outcomes if o.state is TaskState.FAILED)
        self.succeeded = tuple(o.name for o in outcomes if o.state is TaskState.SUCCEEDED)
        self.skipped = tuple(o.name for o in outcomes if o.state is TaskState.SKIPPED)
        self.not_run = tuple(not_run)
        failures = "; ".join(
            f"task {o.name!r} failed after {o.attempts} attempt(s): {o.error}" for o in self.failed
        )
        super().__init__(
            f"flow {flow!r}: {failures}. Succeeded: {_listing(self.succeeded)}. "
            f"Skipped: {_listing(self.skipped)}. Not run: {_listing(self.not_run)}."
        )

    @property
    def failed_tasks(self) -> tuple[str, ...]:
        return tuple(o.name for o in self.failed)


class Flow:
    """A validated task graph; ``run`` executes it."""

    def __init__(self, *, name: str, tasks: Sequence[Task]) -> None:
        self.name = name
        self.tasks = tuple(tasks)
        _validate(name, self.tasks)

    def run(
        self,
        *,
        on_progress: Callable[[Progress], None] | None = None,
        max_workers: int = 1,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> FlowResult:
        """Run every task after its dependencies; up to ``max_workers`` at once.

        After the first failure no new task starts; running ones are awaited.
        Raises :class:`FlowError` if any task failed.
        """
        if max_workers < 1:
            raise ValueError(f"max_workers must be >= 1, got {max_workers}")
        order = {t.name: i for i, t in enumerate(self.tasks)}
        waiting_on = {t.name: set(t.dependencies) for t in self.tasks}
        pending = [t.name for t in self.tasks]
        running: dict[Future[TaskOutcome], str] = {}
        outcomes: list[TaskOutcome] = []
        failed = False

        def report(task: str, state: TaskState) -> None:
            log.info("flow %r: task %r %s", self.name, task, state.lower())
            if on_progress is None:
                return
            progress = Progress(
                flow=self.name,
                task=task,
                state=state,
                done=len(outcomes),
                total=len(self.tasks),
                running=tuple(sorted(running.values(), key=order.__getitem__)),
            )
            try:
                on_progress(progress)
            except Exception:
                # Progress is a report about the work; failing to write it must not
                # abort the work itself (the next report will try again).
                log.warning("flow %r: progress callback failed", self.name, exc_info=True)

        by_name = {t.name: t for t in self.tasks}
        with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="flow") as pool:
            while True:
                ready = [n for n in pending if not waiting_on[n]] if not failed else []
                for name in ready[: max_workers - len(running)]:
                    pending.remove(name)
                    running[pool.submit(_execute, by_name[name], sleep, clock)] = name
                    report(name, TaskState.RUNNING)
                if not running:
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=lambda f: order[running[f]]):
                    name = running.pop(future)
                    outcome = future.result()
                    outcomes.append(outcome)
                    if outcome.state is TaskState.FAILED:
                        failed = True
                    else:
                        for deps in waiting_on.values():
                            deps.discard(name)
                    report(name, outcome.state)
        if failed:
            error = FlowError(flow=self.name, outcomes=outcomes, not_run=pending)
            raise error from error.failed[0].error
        return FlowResult(flow=self.name, outcomes=tuple(outcomes))


def _execute(task: Task, sleep: Callable[[float], None], clock: Callable[[], float]) -> TaskOutcome:
    started = clock()
    done = functools.partial(TaskOutcome, name=task.name)
    try:
        skip = task.skip_if() if callable(task.skip_if) else task.skip_if
    except Exception as exc:
        return done(state=TaskState.FAILED, attempts=0, seconds=clock() - started, error=exc)
    if skip:
        return done(state=TaskState.SKIPPED, attempts=0, seconds=0.0)
    deadline = started + task.retry_timeout.total_seconds()
    attempts = 0
    while True:
        attempts += 1
        try:
            task.fn()
        except Exception as exc:
            remaining = deadline - clock()
            if isinstance(exc, PermanentError) or remaining <= 0:
                return done(
                    state=TaskState.FAILED, attempts=attempts, seconds=clock() - started, error=exc
                )
            log.info("task %r attempt %d failed, retrying: %s", task.name, attempts, exc)
            sleep(min(task.retry_interval.total_seconds(), remaining))
        else:
            return done(state=TaskState.SUCCEEDED, attempts=attempts, seconds=clock() - started)


def _validate(flow: str, tasks: Sequence[Task]) -> None:
    names: set[str] = set()
    for task in tasks:
        if not task.name.strip():
            raise FlowDefinitionError(f"flow {flow!r}: a task has an empty name")
        if task.name in names:
            raise FlowDefinitionError(f"flow {flow!r}: duplicate task name {task.name!r}")
        names.add(task.name)
        if task.retry_timeout < dt.timedelta(0) or task.retry_interval <= dt.timedelta(0):
            raise FlowDefinitionError(
                f"flow {flow!r}: task {task.name!r} needs retry_timeout >= 0 and retry_interval > 0"
            )
    for task in tasks:
        for dep in task.dependencies:
            if dep not in names:
                raise FlowDefinitionError(
                    f"flow {flow!r}: task {task.name!r} depends on unknown task {dep!r}"
                )
    cycle = _find_cycle({t.name: tuple(t.dependencies) for t in tasks})
    if cycle:
        raise FlowDefinitionError(
            f"flow {flow!r}: dependency cycle (each needs the next): {' -> '.join(cycle)}"
        )


def _find_cycle(deps: dict[str, tuple[str, ...]]) -> list[str]:
    """Return one cycle as a path whose first and last names are equal, or []."""
    visiting: list[str] = []
    finished: set[str] = set()

    def visit(name: str) -> list[str]:
        if name in visiting:
            return [*visiting[visiting.index(name) :], name]
        if name in finished:
            return []
        visiting.append(name)
        for dep in deps[name]:
            cycle = visit(dep)
            if cycle:
                return cycle
        visiting.pop()
        finished.add(name)
        return []

    for name in deps:
        cycle = visit(name)
        if cycle:
            return cycle
    return []


def _listing(names: Sequence[str]) -> str:
    return ", ".join(repr(n) for n in names) if names else "none"
