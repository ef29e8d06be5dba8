"""The test budget: how long each stage of `make test` and each test module took.

Two parts. A pytest plugin (registered by tests/conftest.py when GARDEN_TEST_TIMINGS
names a file) appends one JSON line per test module at the end of a session: the
stage, the module's path, the seconds of its tests' setup, call and teardown (a
module-scoped fixture's setup counts to the module that first asked for it) and how
many tests ran; and, when GARDEN_TEST_FAILURES names a file, one line per failed test,
so the closing table can name them (CI shows only the tail of a run's output, and a lane's
own summary lies far above it). And a runner, `python tests/budget.py STAGE...`, that runs
`make STAGE` one after another, stops at the first failure like make, and always
ends with the table, also when a stage failed or the run was interrupted.

CI allows 90 minutes for `.ci/run`; the project keeps a warm run (build caches
present) under 60 and a cold one under 80 (README, "Tests and their budget").
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

TIMINGS_ENV = "GARDEN_TEST_TIMINGS"
FAILURES_ENV = "GARDEN_TEST_FAILURES"
FAILURES_FILE = "failures.jsonl"  # in the reports directory of `make test`
FAILURES_LISTED = 15  # at most, in the closing table
STAGE_ENV = "GARDEN_TEST_STAGE"
WARM_BUDGET_MINUTES = 60
COLD_BUDGET_MINUTES = 80
CI_CAP_MINUTES = 90
# Short names in the table for the make targets of `make test`.
STAGE_NAMES = {"seed-teardown-test": "teardown", "integration-lanes": "integration"}


# --- the pytest plugin --------------------------------------------------------------
class ModuleTimings:
    """Sums each test module's phase durations; writes them when the session ends."""

    def __init__(self, path: Path, stage: str, failures: Path | None = None) -> None:
        self.path = path
        self.failures_path = failures
        self.stage = stage
        self.seconds: dict[str, float] = defaultdict(float)
        self.tests: dict[str, int] = defaultdict(int)
        self.failures: list[dict[str, str]] = []

    def pytest_runtest_logreport(self, report: Any) -> None:
        module = report.nodeid.split("::", 1)[0]
        self.seconds[module] += report.duration
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            self.tests[module] += 1
        if report.failed:
            self.failures.append(
                {
                    "stage": self.stage,
                    "test": report.nodeid,
                    "when": report.when,
                    "lane": os.environ.get("GARDEN_TEST_LANE", ""),
                    "reason": failure_reason(report),
                }
            )

    def pytest_sessionfinish(self) -> None:
        if not self.seconds:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.failures and self.failures_path is not None:
            # One file for the whole run: each lane (tests/lanes.py) appends to it too.
            with self.failures_path.open("a") as out:
                out.writelines(json.dumps(row) + "\n" for row in self.failures)
        with self.path.open("a") as out:
            for module, seconds in sorted(self.seconds.items()):
                line = {
                    "stage": self.stage,
                    "module": module,
                    "seconds": round(seconds, 2),
                    "tests": self.tests[module],
                }
                out.write(json.dumps(line) + "\n")


def failure_reason(report: Any, width: int = 160) -> str:
    """The one line that says why a test failed: the exception's own message, as pytest
    shows it in its short summary, cut to ``width``."""
    crash = getattr(report.longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(report.longrepr)
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return line if len(line) <= width else line[: width - 1] + "…"


def register(config: Any) -> None:
    """Called from tests/conftest.py: records module timings when the runner asks."""
    path = os.environ.get(TIMINGS_ENV)
    if path and not config.pluginmanager.has_plugin("garden-module-timings"):
        failures = os.environ.get(FAILURES_ENV)
        plugin = ModuleTimings(
            Path(path), os.environ.get(STAGE_ENV, "pytest"), Path(failures) if failures else None
        )
        config.pluginmanager.register(plugin, "garden-module-timings")


# --- the table ----------------------------------------------------------------------
@dataclass(frozen=True)
class StageResult:
    name: str
    seconds: float | None  # None: not run (an earlier stage failed)
    returncode: int | None = None


@dataclass(frozen=True)
class ModuleTiming:
    stage: str
    module: str
    seconds: float
    tests: int


def read_timings(path: Path) -> list[ModuleTiming]:
    """The plugin's lines; a module run twice in a stage (a rerun) counts once per run."""
    if not path.exists():
        return []
    found = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            found.append(
                ModuleTiming(row["stage"], row["module"], float(row["seconds"]), int(row["tests"]))
            )
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f"{path}:{number}: not a module timing line ({err})") from err
    return found


@dataclass(frozen=True)
class Failure:
    stage: str
    test: str
    when: str  # setup, call or teardown
    lane: str
    reason: str


def read_failures(path: Path) -> list[Failure]:
    if not path.exists():
        return []
    found = []
    for line in path.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            found.append(
                Failure(row["stage"], row["test"], row["when"], row.get("lane", ""), row["reason"])
            )
    return found


def _clock(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes:d}:{rest:02d}"


def _verdict(total: float) -> str:
    if total < WARM_BUDGET_MINUTES * 60:
        return "within the warm budget"
    if total < COLD_BUDGET_MINUTES * 60:
        return "over the warm budget, within the cold one"
    return "OVER the cold budget"


def table(
    stages: Sequence[StageResult],
    modules: Sequence[ModuleTiming],
    *,
    top: int = 10,
    notes: Sequence[str] = (),
    failures: Sequence[Failure] = (),
) -> str:
    """The closing table: every stage, the total, ``notes`` (the integration lanes, when
    they ran), the `top` slowest modules and, last, the tests that failed."""
    lines = [f"{'stage':<12} {'m:ss':>7} {'seconds':>9}  result"]
    total = 0.0
    for stage in stages:
        name = STAGE_NAMES.get(stage.name, stage.name)
        if stage.seconds is None:
            lines.append(f"{name:<12} {'-':>7} {'-':>9}  not run")
            continue
        total += stage.seconds
        result = "ok" if stage.returncode == 0 else f"FAILED (exit {stage.returncode})"
        lines.append(f"{name:<12} {_clock(stage.seconds):>7} {stage.seconds:>9.1f}  {result}")
    lines.append(f"{'total':<12} {_clock(total):>7} {total:>9.1f}  {_verdict(total)}")
    lines.append(
        f"budget: warm < {WARM_BUDGET_MINUTES} min, cold < {COLD_BUDGET_MINUTES} min "
        f"(CI stops .ci/run at {CI_CAP_MINUTES} min)"
    )
    lines += notes
    slowest = sorted(modules, key=lambda m: m.seconds, reverse=True)[:top]
    if slowest:
        lines.append(f"slowest {len(slowest)} of {len(modules)} test modules:")
        for m in slowest:
            stage = STAGE_NAMES.get(m.stage, m.stage)
            lines.append(
                f"  {stage:<10} {_clock(m.seconds):>7} {m.seconds:>9.1f}  {m.module} ({m.tests} tests)"
            )
    if failures:
        lines.append(f"failed tests ({len(failures)}):")
        for f in failures[:FAILURES_LISTED]:
            where = STAGE_NAMES.get(f.stage, f.stage) + (f" {f.lane}" if f.lane else "")
            in_phase = "" if f.when == "call" else f" (in {f.when})"
            lines.append(f"  {where}: {f.test}{in_phase}: {f.reason}")
        if len(failures) > FAILURES_LISTED:
            lines.append(f"  ... and {len(failures) - FAILURES_LISTED} more")
    return "\n".join(lines)


# --- the runner ---------------------------------------------------------------------
class _Interrupted(Exception):
    pass


def run_stages(
    stages: Sequence[str],
    *,
    reports: Path,
    command: Sequence[str] = ("make", "--no-print-directory"),
) -> tuple[list[StageResult], int]:
    """Run `command STAGE` for each stage in order, timing each; stop at the first failure.

    A SIGTERM or SIGINT to the runner is passed on to the running stage; the results
    so far are returned (the stage counted as failed) so the table is still printed.
    """
    timings = reports / "modules.jsonl"
    failures = reports / FAILURES_FILE
    results: list[StageResult] = []
    running: list[subprocess.Popen[bytes]] = []

    def forward(signum: int, _frame: FrameType | None) -> None:
        for process in running:
            process.send_signal(signum)
        raise _Interrupted(signal.Signals(signum).name)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGINT)}
    failed = 0
    try:
        for stage in stages:
            if failed:
                results.append(StageResult(stage, None))
                continue
            env = {
                **os.environ,
                TIMINGS_ENV: str(timings),
                STAGE_ENV: stage,
                FAILURES_ENV: str(failures.resolve()),
            }
            began = time.monotonic()
            process = subprocess.Popen([*command, stage], env=env)
            running.append(process)
            try:
                code = process.wait()
            except _Interrupted:
                code = process.wait()
                failed = code or 130
                results.append(StageResult(stage, time.monotonic() - began, failed))
                raise
            finally:
                running.remove(process)
            results.append(StageResult(stage, time.monotonic() - began, code))
            # One line as each stage ends: seen even if the run is killed before the table.
            print(
                f"==> [budget] {stage}: {_clock(results[-1].seconds or 0)} exit {code}", flush=True
            )
            failed = code
    except _Interrupted:
        done = {r.name for r in results}
        results += [StageResult(s, None) for s in stages if s not in done]
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return results, failed


def keep_previous(reports: Path) -> None:
    """Start a new modules.jsonl; the last one becomes modules.previous.jsonl when it
    timed integration modules (the lanes are planned by those figures: tests/lanes.py),
    else it is dropped and an older previous one stays. The last run's failures go."""
    (reports / FAILURES_FILE).unlink(missing_ok=True)
    last = reports / "modules.jsonl"
    if not last.exists():
        return
    try:
        integration = any(t.stage.startswith("integration") for t in read_timings(last))
    except ValueError:
        integration = False
    if integration:
        last.replace(reports / "modules.previous.jsonl")
    else:
        last.unlink()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stages", nargs="+", help="make targets, run in this order")
    parser.add_argument("--reports", type=Path, default=Path(".test-reports"))
    parser.add_argument("--top", type=int, default=10, help="slowest modules listed")
    args = parser.parse_args(argv)
    args.reports.mkdir(parents=True, exist_ok=True)
    keep_previous(args.reports)
    results, code = run_stages(args.stages, reports=args.reports)
    modules = read_timings(args.reports / "modules.jsonl")
    notes: list[str] = []
    if any(r.name == "integration-lanes" and r.seconds is not None for r in results):
        from lanes import summary_lines  # tests/lanes.py, beside this file

        notes = summary_lines(args.reports / "lanes" / "lanes.json")
    failures = read_failures(args.reports / FAILURES_FILE)
    report = table(results, modules, top=args.top, notes=notes, failures=failures)
    (args.reports / "budget.txt").write_text(report + "\n")
    print(f"\n==> [budget] durations (also in {args.reports / 'budget.txt'})", flush=True)
    print(report, flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
