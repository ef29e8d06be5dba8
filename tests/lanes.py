"""Integration lanes: the integration stage of `make test` as K pytest processes at once.

Most of the integration stage is waiting on pods, not CPU, so independent modules run
side by side on the one seed, each lane a pytest process of its own (its own Airflow
home and sqlite database, its own log). Three kinds of module:

- ``pytestmark = pytest.mark.serial``: cannot share the seed (it fills the node's CPU,
  takes over the provider's installation, or touches the seed itself). These run first,
  in one process, alone on the seed.
- ``pytest.mark.lane_group("name")``: must not run beside the other modules of that
  group (they act on the same fleet-wide thing); a group goes to one lane as one unit.
- every other module: assigned alone.

Units are assigned longest first, each to the lane with the least planned work (LPT),
by each module's seconds in the last run (`.test-reports/modules.jsonl`, also its copy
`modules.previous.jsonl` that `tests/budget.py` keeps while the next run starts), else
the committed `tests/integration/durations.json`, else ``UNKNOWN_SECONDS``.

The lanes' module timings are merged into the run's `modules.jsonl` (stage
``integration``, with the lane's name); the stage's duration is the wall time of this
runner. `.test-reports/lanes/` keeps each lane's log and `lanes.json` (plan, wall time
and exit of each lane), which the closing table summarises.

Seed capacity: a shoot's control plane requests 220m CPU (etcd 50m, kube-apiserver
100m, kube-controller-manager 50m, kube-scheduler 20m; 240m with the local machine
driver's kwok), the seed's add-ons 60m, and the seed's one node offers its cores (2000m
here): eight control planes fit, a ninth is refused "Insufficient cpu". A module keeps
at most three alive at once, so two lanes stay within it (up to six), three could not.

The session fixtures that several lanes share go through this module too (`once`,
`run_lock`, `enter`/`leave`): set up the seed once per run, never sweep another lane's
kept backups. Outside lanes (``make integration``: one process) they do what one
session always did.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Any

from budget import STAGE_ENV, TIMINGS_ENV, read_timings

ROOT = Path(__file__).resolve().parents[1]
INTEGRATION = "tests/integration"
DEFAULT_DURATIONS = ROOT / INTEGRATION / "durations.json"
UNKNOWN_SECONDS = 60.0  # a module no run has measured yet
STAGE = "integration"
SERIAL = "serial"  # the name of the serial phase and of the marker
GROUP_MARK = "lane_group"
LONG_MARK = "long"  # deselected by `make test` (tests/conftest.py): not planned
LANE_ENV = "GARDEN_TEST_LANE"  # the lane a pytest process is: "serial", "lane1", ...
RUN_DIR_ENV = "GARDEN_TEST_RUN_DIR"  # what the processes of one run share (locks, state)
# Seed capacity (see the docstring): control planes that fit, and the most one module keeps.
SEED_CONTROL_PLANES = 8
MODULE_CONTROL_PLANES = 3


# --- which modules, which marks --------------------------------------------------------
@dataclass(frozen=True)
class Module:
    path: str  # relative to the repository root, as pytest names it
    serial: bool = False
    group: str | None = None
    long: bool = False


def _mark(node: ast.expr) -> tuple[str, list[ast.expr]] | None:
    """``pytest.mark.NAME`` or ``pytest.mark.NAME(args)``: (NAME, args)."""
    args: list[ast.expr] = []
    if isinstance(node, ast.Call):
        args, node = list(node.args), node.func
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "mark"
        and isinstance(node.value.value, ast.Name)
        and node.value.value.id == "pytest"
    ):
        return node.attr, args
    return None


def module_marks(source: str, path: str) -> Module:
    """The lane marks of a module's ``pytestmark`` (read, not imported: the planner must
    not import Airflow). A mark set elsewhere is not seen here; a lane refuses a serial
    test it was given (tests/integration/conftest.py), so that cannot go unnoticed."""
    serial, group, long = False, None, False
    for node in ast.parse(source, filename=path).body:
        if not (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets)
        ):
            continue
        value = node.value
        items = value.elts if isinstance(value, ast.List | ast.Tuple) else [value]
        for item in items:
            mark = _mark(item)
            if mark is None:
                continue
            name, args = mark
            if name == SERIAL:
                serial = True
            elif name == LONG_MARK:
                long = True
            elif name == GROUP_MARK:
                if len(args) != 1 or not (
                    isinstance(args[0], ast.Constant) and isinstance(args[0].value, str)
                ):
                    raise ValueError(f"{path}: {GROUP_MARK} takes one group name (a string)")
                group = args[0].value
    return Module(path, serial=serial, group=group, long=long)


def discover(root: Path = ROOT, directory: str = INTEGRATION) -> list[Module]:
    """Every integration test module, sorted by path."""
    found = []
    for path in sorted((root / directory).rglob("test_*.py")):
        relative = path.relative_to(root).as_posix()
        found.append(module_marks(path.read_text(), relative))
    return found


# --- durations -----------------------------------------------------------------------
def measured(path: Path) -> dict[str, float]:
    """An integration module's seconds in a modules.jsonl (a module run twice: its longest)."""
    seconds: dict[str, float] = {}
    for row in read_timings(path):
        if row.stage in (STAGE, "integration-lanes"):
            seconds[row.module] = max(seconds.get(row.module, 0.0), row.seconds)
    return seconds


def committed(path: Path = DEFAULT_DURATIONS) -> dict[str, float]:
    if not path.exists():
        return {}
    return {str(k): float(v) for k, v in json.loads(path.read_text())["seconds"].items()}


def durations(reports: Path, default: Path = DEFAULT_DURATIONS) -> dict[str, float]:
    """Each module's seconds: the last run's, where it measured the module, else the
    committed figure. The last run is `modules.jsonl`, or, while `make test` runs (it
    starts a new `modules.jsonl`), the copy of the previous one it kept, and the last
    lanes' own files (`make integration-lanes` run alone merges them nowhere else)."""
    found = committed(default)
    newer = [reports / "modules.previous.jsonl", reports / "modules.jsonl"]
    newer += sorted((reports / "lanes").glob("*.jsonl"))  # the last lanes, also run alone
    for path in newer:  # the newer overrides
        found.update(measured(path))
    return found


# --- the plan ------------------------------------------------------------------------
@dataclass(frozen=True)
class Unit:
    modules: tuple[str, ...]
    seconds: float


@dataclass
class Plan:
    serial: list[str]
    lanes: list[list[str]]
    planned: list[float]  # seconds of each lane, by the durations it was made from
    serial_seconds: float = 0.0
    estimates: dict[str, float] = field(default_factory=dict)


def plan(modules: Sequence[Module], seconds: dict[str, float], lanes: int) -> Plan:
    """Serial modules apart; the rest in units (a lane group is one), longest first, each
    to the lane with the least planned seconds (the first such lane on a tie)."""
    if lanes < 1:
        raise ValueError(f"lanes must be at least 1, got {lanes}")
    wanted = [m for m in modules if not m.long]
    estimate = {m.path: seconds.get(m.path, UNKNOWN_SECONDS) for m in wanted}
    serial = [m.path for m in wanted if m.serial]
    grouped: dict[str, list[str]] = {}
    units: list[Unit] = []
    for m in wanted:
        if m.serial:
            continue
        if m.group is None:
            units.append(Unit((m.path,), estimate[m.path]))
        else:
            grouped.setdefault(m.group, []).append(m.path)
    for paths in grouped.values():
        paths.sort(key=lambda p: (-estimate[p], p))
        units.append(Unit(tuple(paths), sum(estimate[p] for p in paths)))
    units.sort(key=lambda u: (-u.seconds, u.modules))
    assigned: list[list[str]] = [[] for _ in range(lanes)]
    load = [0.0] * lanes
    for unit in units:
        lane = min(range(lanes), key=lambda i: (load[i], i))
        assigned[lane].extend(unit.modules)
        load[lane] += unit.seconds
    return Plan(
        serial=serial,
        lanes=assigned,
        planned=load,
        serial_seconds=sum(estimate[p] for p in serial),
        estimates=estimate,
    )


# --- what the lanes' pytest sessions share ---------------------------------------------
def current_lane() -> str | None:
    return os.environ.get(LANE_ENV) or None


def _run_dir() -> Path | None:
    value = os.environ.get(RUN_DIR_ENV)
    return Path(value) if value else None


@contextlib.contextmanager
def run_lock(name: str) -> Iterator[None]:
    """One process of the run at a time (an flock); nothing outside lanes."""
    run_dir = _run_dir()
    if run_dir is None:
        yield
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    with (run_dir / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def once(name: str, make: Callable[[], str]) -> str:
    """``make()`` by the first process of the run to ask (under a lock), its result read
    back by every later one. Outside lanes: ``make()``."""
    run_dir = _run_dir()
    if run_dir is None:
        return make()
    with run_lock(name):
        done = run_dir / f"{name}.done"
        if done.exists():
            return done.read_text()
        value = make()
        done.write_text(value)
        return value


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def enter(name: str) -> None:
    """This process uses ``name`` (e.g. the seed's kept backups) until `leave`."""
    run_dir = _run_dir()
    if run_dir is None:
        return
    with run_lock(name):
        (run_dir / f"{name}.in").mkdir(parents=True, exist_ok=True)
        (run_dir / f"{name}.in" / str(os.getpid())).touch()


def leave(name: str) -> bool:
    """This process is done with ``name``: True when no other live process of the run is
    still in it (so the last one out cleans up). Outside lanes: True."""
    run_dir = _run_dir()
    if run_dir is None:
        return True
    with run_lock(name):
        members = run_dir / f"{name}.in"
        (members / str(os.getpid())).unlink(missing_ok=True)
        others = [p for p in members.iterdir() if p.name.isdigit() and _alive(int(p.name))]
        return not others


# --- the runner ----------------------------------------------------------------------
@dataclass
class LaneRun:
    name: str
    modules: list[str]
    planned: float
    log: Path
    timings: Path
    process: subprocess.Popen[bytes] | None = None
    began: float = 0.0
    seconds: float | None = None
    returncode: int | None = None
    reader: threading.Thread | None = None


def lane_env(
    name: str, *, run_dir: Path, timings: Path, airflow_base: Path, base: dict[str, str]
) -> dict[str, str]:
    """A lane's environment: its name, the run's shared directory, a timings file and an
    Airflow home (sqlite database, logs, config) of its own."""
    return {
        **base,
        LANE_ENV: name,
        RUN_DIR_ENV: str(run_dir),
        TIMINGS_ENV: str(timings),
        STAGE_ENV: STAGE,
        "AIRFLOW_HOME": str(airflow_base / name),
    }


def _pump(source: IO[bytes], log: Path, prefix: str, lock: threading.Lock) -> None:
    with log.open("wb") as out:
        for line in iter(source.readline, b""):
            out.write(line)
            out.flush()
            with lock:
                sys.stdout.write(f"[{prefix}] {line.decode(errors='replace')}")
                sys.stdout.flush()


def merge(runs: Sequence[LaneRun], into: Path | None) -> list[dict[str, Any]]:
    """The lanes' module timings as the stage's rows (stage ``integration``, each with its
    lane), appended to ``into`` when given."""
    rows = []
    for run in runs:
        for timing in read_timings(run.timings):
            rows.append(
                {
                    "stage": STAGE,
                    "module": timing.module,
                    "seconds": timing.seconds,
                    "tests": timing.tests,
                    "lane": run.name,
                }
            )
    if into is not None and rows:
        into.parent.mkdir(parents=True, exist_ok=True)
        with into.open("a") as out:
            out.writelines(json.dumps(row) + "\n" for row in rows)
    return rows


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes:d}:{rest:02d}"


def summary_lines(lanes_json: Path) -> list[str]:
    """The closing table's lines on the lanes (tests/budget.py): each lane's wall time,
    planned and measured seconds, modules and exit."""
    if not lanes_json.exists():
        return []
    data = json.loads(lanes_json.read_text())
    lines = [
        f"integration lanes ({data['lanes']} lanes; wall {_clock(data['wall'])}; "
        f"its modules' own times add up to {_clock(data['module_seconds'])}):"
    ]
    for lane in data["runs"]:
        exit_ = lane["returncode"]
        result = "not run" if exit_ is None else "ok" if exit_ == 0 else f"exit {exit_}"
        lines.append(
            f"  {lane['name']:<8} wall {_clock(lane['seconds']):>6}  planned "
            f"{_clock(lane['planned']):>6}  modules {_clock(lane['module_seconds']):>6}  "
            f"{len(lane['modules'])} modules  {result}"
        )
    return lines


def run(
    the_plan: Plan,
    *,
    reports: Path,
    pytest_args: Sequence[str] = (),
    command: Sequence[str] = (sys.executable, "-m", "pytest"),
    cwd: Path = ROOT,
    airflow_base: Path | None = None,
    heartbeat: float = 60.0,
) -> int:
    """The serial phase alone, then the lanes at once; every phase runs (a failed lane
    does not stop the others), the first non-zero exit is the result."""
    lanes_dir = reports / "lanes"
    shutil.rmtree(lanes_dir, ignore_errors=True)
    run_dir = lanes_dir / "run"
    run_dir.mkdir(parents=True)
    base_home = airflow_base or Path(os.environ.get("AIRFLOW_HOME", ROOT / ".airflow")) / "lanes"
    started = time.monotonic()
    phases: list[list[LaneRun]] = []

    def lane(name: str, modules: list[str], planned: float) -> LaneRun:
        return LaneRun(
            name, modules, planned, lanes_dir / f"{name}.log", lanes_dir / f"{name}.jsonl"
        )

    if the_plan.serial:
        phases.append([lane(SERIAL, the_plan.serial, the_plan.serial_seconds)])
    phases.append(
        [
            lane(f"lane{i + 1}", modules, the_plan.planned[i])
            for i, modules in enumerate(the_plan.lanes)
            if modules
        ]
    )
    print_lock = threading.Lock()
    live: list[LaneRun] = []
    interrupted: list[int] = []

    def forward(signum: int, _frame: FrameType | None) -> None:
        interrupted.append(signum)  # no phase starts after this
        for r in live:
            if r.process is not None and r.process.poll() is None:
                r.process.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        for phase in phases:
            if interrupted:
                break
            for r in phase:
                env = lane_env(
                    r.name,
                    run_dir=run_dir,
                    timings=r.timings,
                    airflow_base=base_home,
                    base=dict(os.environ),
                )
                print(
                    f"==> [lanes] {r.name}: {len(r.modules)} modules, planned "
                    f"{_clock(r.planned)}: {' '.join(r.modules)}",
                    flush=True,
                )
                r.began = time.monotonic()
                r.process = subprocess.Popen(
                    [*command, *pytest_args, *r.modules],
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    cwd=cwd,
                )
                assert r.process.stdout is not None
                r.reader = threading.Thread(
                    target=_pump, args=(r.process.stdout, r.log, r.name, print_lock), daemon=True
                )
                r.reader.start()
                live.append(r)
            _wait(phase, started, heartbeat, print_lock)
            live.clear()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    runs = [r for phase in phases for r in phase]
    rows = merge(runs, Path(os.environ[TIMINGS_ENV]) if os.environ.get(TIMINGS_ENV) else None)
    wall = time.monotonic() - started
    per_lane: dict[str, float] = {}
    for row in rows:
        per_lane[row["lane"]] = per_lane.get(row["lane"], 0.0) + row["seconds"]
    summary = {
        "lanes": len(the_plan.lanes),
        "wall": round(wall, 1),
        "module_seconds": round(sum(per_lane.values()), 1),
        "runs": [
            {
                "name": r.name,
                "modules": r.modules,
                "planned": round(r.planned, 1),
                "seconds": None if r.seconds is None else round(r.seconds, 1),
                "module_seconds": round(per_lane.get(r.name, 0.0), 1),
                "returncode": r.returncode,
            }
            for r in runs
        ],
    }
    (lanes_dir / "lanes.json").write_text(json.dumps(summary, indent=2) + "\n")
    for line in summary_lines(lanes_dir / "lanes.json"):
        print(f"==> [lanes] {line}", flush=True)
    codes = [r.returncode for r in runs if r.returncode]
    if codes:
        return codes[0]
    return 128 + interrupted[0] if interrupted else 0


def _wait(phase: list[LaneRun], started: float, heartbeat: float, lock: threading.Lock) -> None:
    last_beat = time.monotonic()
    while any(r.returncode is None for r in phase):
        for r in phase:
            if r.returncode is None and r.process is not None and r.process.poll() is not None:
                code = r.process.returncode
                r.returncode = (
                    code if code >= 0 else 128 - code
                )  # killed by a signal: as a shell says
                r.seconds = time.monotonic() - r.began
                if r.reader is not None:
                    r.reader.join(timeout=10)
                with lock:
                    print(
                        f"==> [lanes] {r.name} ended: exit {r.returncode} after "
                        f"{_clock(r.seconds)}",
                        flush=True,
                    )
        now = time.monotonic()
        if now - last_beat >= heartbeat:
            last_beat = now
            running = [f"{r.name} {_clock(now - r.began)}" for r in phase if r.returncode is None]
            with lock:
                print(
                    f"==> [lanes] {_clock(now - started)} elapsed; running: {', '.join(running)}",
                    flush=True,
                )
        time.sleep(0.5)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lanes", type=int, default=2, help="concurrent pytest processes")
    parser.add_argument("--reports", type=Path, default=ROOT / ".test-reports")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and run nothing")
    parser.add_argument("pytest_args", nargs="*", help="passed to each pytest (after --)")
    args = parser.parse_args(argv)
    modules = discover()
    the_plan = plan(modules, durations(args.reports), args.lanes)
    if args.lanes * MODULE_CONTROL_PLANES > SEED_CONTROL_PLANES:
        print(
            f"==> [lanes] warning: {args.lanes} lanes may keep up to "
            f"{args.lanes * MODULE_CONTROL_PLANES} control planes alive; the seed's node "
            f"fits {SEED_CONTROL_PLANES} (tests/lanes.py, seed capacity)",
            flush=True,
        )
    if args.dry_run:
        print(f"serial ({_clock(the_plan.serial_seconds)}): {' '.join(the_plan.serial)}")
        for i, (modules_of, planned) in enumerate(
            zip(the_plan.lanes, the_plan.planned, strict=True)
        ):
            print(f"lane{i + 1} ({_clock(planned)}): {' '.join(modules_of)}")
        return 0
    return run(the_plan, reports=args.reports, pytest_args=args.pytest_args)


if __name__ == "__main__":
    sys.exit(main())
