"""The test budget: how long each stage of `make test` and each test module took.

Two parts. A pytest plugin (registered by tests/conftest.py when GARDEN_TEST_TIMINGS
names a file) appends one JSON line per test module at the end of a session: the
stage, the module's path, the seconds of its tests' setup, call and teardown (a
module-scoped fixture's setup counts to the module that first asked for it) and how
many tests ran. And a runner, `python tests/budget.py STAGE...`, that runs
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
STAGE_ENV = "GARDEN_TEST_STAGE"
WARM_BUDGET_MINUTES = 60
COLD_BUDGET_MINUTES = 80
CI_CAP_MINUTES = 90
# Short names in the table for the make targets of `make test`.
STAGE_NAMES = {"seed-teardown-test": "teardown", "integration-lanes": "integration"}


# --- the pytest plugin --------------------------------------------------------------
class ModuleTimings:
    """Sums each test module's phase durations; writes them when the session ends."""

    def __init__(self, path: Path, stage: str) -> None:
        self.path = path
        self.stage = stage
        self.seconds: dict[str, float] = defaultdict(float)
        self.tests: dict[str, int] = defaultdict(int)

    def pytest_runtest_logreport(self, report: Any) -> None:
        module = report.nodeid.split("::", 1)[0]
        self.seconds[module] += report.duration
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            self.tests[module] += 1

    def pytest_sessionfinish(self) -> None:
        if not self.seconds:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as out:
            for module, seconds in sorted(self.seconds.items()):
                line = {
                    "stage": self.stage,
                    "module": module,
                    "seconds": round(seconds, 2),
                    "tests": self.tests[module],
                }
                out.write(json.dumps(line) + "\n")


def register(config: Any) -> None:
    """Called from tests/conftest.py: records module timings when the runner asks."""
    path = os.environ.get(TIMINGS_ENV)
    if path and not config.pluginmanager.has_plugin("garden-module-timings"):
        plugin = ModuleTimings(Path(path), os.environ.get(STAGE_ENV, "pytest"))
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
) -> str:
    """The closing table: every stage, the total, ``notes`` (the integration lanes, when
    they ran) and the `top` slowest modules."""
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
            env = {**os.environ, TIMINGS_ENV: str(timings), STAGE_ENV: stage}
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
    else it is dropped and an older previous one stays."""
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
    report = table(results, modules, top=args.top, notes=notes)
    (args.reports / "budget.txt").write_text(report + "\n")
    print(f"\n==> [budget] durations (also in {args.reports / 'budget.txt'})", flush=True)
    print(report, flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
