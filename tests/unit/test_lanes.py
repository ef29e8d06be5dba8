"""tests/lanes.py: which modules run where, the lanes' shared state, and the merged report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import lanes
import pytest
from budget import STAGE_ENV, TIMINGS_ENV, ModuleTiming, StageResult, keep_previous, table
from lanes import Module, module_marks, plan

ROOT = Path(__file__).resolve().parents[2]


# --- marks ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("pytestmark = pytest.mark.integration\n", Module("m.py")),
        (
            "pytestmark = [pytest.mark.integration, pytest.mark.serial]\n",
            Module("m.py", serial=True),
        ),
        (
            'pytestmark = (pytest.mark.integration, pytest.mark.lane_group("kept"))\n',
            Module("m.py", group="kept"),
        ),
        ("pytestmark = [pytest.mark.long, pytest.mark.timeout(9)]\n", Module("m.py", long=True)),
        ("import pytest\n\ndef test_a():\n    pass\n", Module("m.py")),
    ],
)
def test_a_modules_lane_marks_are_read_from_its_pytestmark(source: str, expected: Module) -> None:
    assert module_marks(source, "m.py") == expected


def test_a_lane_group_without_one_name_is_refused() -> None:
    with pytest.raises(ValueError, match=r"m\.py: lane_group takes one group name"):
        module_marks("pytestmark = pytest.mark.lane_group()\n", "m.py")


def test_discover_finds_every_test_module_with_its_marks(tmp_path: Path) -> None:
    (tmp_path / "tests/integration/a").mkdir(parents=True)
    (tmp_path / "tests/integration/a/test_x.py").write_text("pytestmark = pytest.mark.serial\n")
    (tmp_path / "tests/integration/test_y.py").write_text("")
    (tmp_path / "tests/integration/a/helpers.py").write_text("")
    assert lanes.discover(tmp_path) == [
        Module("tests/integration/a/test_x.py", serial=True),
        Module("tests/integration/test_y.py"),
    ]


def test_the_repositorys_modules_that_cannot_share_the_seed_are_marked() -> None:
    """The hazards of README "Tests and their budget": a module that fills the node, takes
    over garden-system or touches the seed runs alone; fleet-wide neighbours share a lane."""
    found = {m.path: m for m in lanes.discover(ROOT)}
    assert {p for p, m in found.items() if m.serial} == {
        "tests/integration/test_local_seed.py",
        "tests/integration/test_local_seed_host.py",
        "tests/integration/shoots/test_error_codes.py",
        "tests/integration/helm/test_chart_install.py",
    }
    groups: dict[str, set[str]] = {}
    for path, m in found.items():
        if m.group:
            groups.setdefault(m.group, set()).add(path)
    assert groups["kept-backups"] == {
        "tests/integration/etcd/test_backup_restore.py",
        "tests/integration/backup/test_kept_backups.py",
    }
    assert groups["machines"] == {p for p in found if p.startswith("tests/integration/machines/")}
    # Second installs in namespaces of their own and a bare API server on free ports: free.
    for free in (
        "tests/integration/settings/test_garden_namespace.py",
        "tests/integration/connection/test_garden_connection.py",
        "tests/integration/connection/test_garden_connection_tasks.py",
    ):
        assert found[free] == Module(free), free


def test_every_planned_module_has_a_committed_duration() -> None:
    wanted = {m.path for m in lanes.discover(ROOT) if not m.long}
    assert wanted == set(lanes.committed())


# --- the plan ------------------------------------------------------------------------
def _modules(*paths: str, **marks: Module) -> list[Module]:
    return [*(Module(p) for p in paths), *marks.values()]


def test_units_go_longest_first_to_the_least_loaded_lane() -> None:
    seconds = {"a": 600, "b": 500, "c": 400, "d": 300, "e": 200, "f": 100}
    made = plan(_modules(*seconds), {k: float(v) for k, v in seconds.items()}, 2)
    # 600->1, 500->2, 400->2 (500<600), 300->1 (600<900), 200->1 (900=900: first), 100->2
    assert made.lanes == [["a", "d", "e"], ["b", "c", "f"]]
    assert made.planned == [1100.0, 1000.0]
    assert made.serial == []


def test_serial_modules_are_kept_apart_and_long_ones_not_planned() -> None:
    modules = [Module("s", serial=True), Module("x"), Module("l", long=True), Module("y")]
    made = plan(modules, {"s": 30.0, "x": 10.0, "y": 20.0, "l": 9999.0}, 2)
    assert made.serial == ["s"]
    assert made.serial_seconds == 30.0
    assert made.lanes == [["y"], ["x"]]
    assert "l" not in made.estimates


def test_a_lane_group_is_one_unit_in_one_lane_its_longest_module_first() -> None:
    modules = [
        Module("g1", group="g"),
        Module("big"),
        Module("g2", group="g"),
        Module("small"),
    ]
    made = plan(modules, {"g1": 100.0, "g2": 300.0, "big": 350.0, "small": 10.0}, 2)
    assert made.lanes == [["g2", "g1"], ["big", "small"]]
    assert made.planned == [400.0, 360.0]


def test_an_unmeasured_module_is_planned_at_the_unknown_figure() -> None:
    made = plan([Module("new"), Module("old")], {"old": 1.0}, 1)
    assert made.estimates == {"new": lanes.UNKNOWN_SECONDS, "old": 1.0}
    assert made.lanes == [["new", "old"]]


def test_more_lanes_than_units_leaves_lanes_empty_and_zero_lanes_is_refused() -> None:
    assert plan([Module("a")], {"a": 1.0}, 3).lanes == [["a"], [], []]
    with pytest.raises(ValueError, match="at least 1"):
        plan([Module("a")], {}, 0)


def test_the_repositorys_two_lanes_are_balanced_within_the_longest_unit() -> None:
    made = plan(lanes.discover(ROOT), lanes.committed(), 2)
    longest = max(made.estimates.values())
    assert abs(made.planned[0] - made.planned[1]) <= longest
    planned = [p for lane in made.lanes for p in lane] + made.serial
    assert sorted(planned) == sorted(made.estimates), "every module once"


# --- durations -----------------------------------------------------------------------
def _timings(path: Path, *rows: tuple[str, str, float]) -> None:
    path.write_text(
        "".join(
            json.dumps({"stage": s, "module": m, "seconds": sec, "tests": 1}) + "\n"
            for s, m, sec in rows
        )
    )


def test_the_last_runs_figures_override_the_committed_ones(tmp_path: Path) -> None:
    default = tmp_path / "durations.json"
    default.write_text(json.dumps({"seconds": {"a": 1, "b": 2, "c": 3}}))
    _timings(
        tmp_path / "modules.previous.jsonl",
        ("integration", "a", 10.0),
        ("integration", "b", 20.0),
        ("unit", "c", 99.0),  # not an integration figure
    )
    _timings(
        tmp_path / "modules.jsonl",
        ("integration", "b", 200.0),
        ("integration", "b", 150.0),  # a rerun: its longest counts
        ("lint", "a", 5.0),
    )
    assert lanes.durations(tmp_path, default) == {"a": 10.0, "b": 200.0, "c": 3.0}
    (tmp_path / "lanes").mkdir()
    _timings(tmp_path / "lanes" / "lane2.jsonl", ("integration", "c", 30.0))
    assert lanes.durations(tmp_path, default)["c"] == 30.0, "the last lanes' own figures"


def test_budget_keeps_the_last_integration_figures_for_the_next_plan(tmp_path: Path) -> None:
    last, previous = tmp_path / "modules.jsonl", tmp_path / "modules.previous.jsonl"
    _timings(last, ("integration", "a", 10.0))
    keep_previous(tmp_path)
    assert not last.exists()
    assert "10.0" in previous.read_text()
    _timings(last, ("lint", "x", 1.0))  # a run that stopped before integration
    keep_previous(tmp_path)
    assert not last.exists()
    assert "10.0" in previous.read_text(), "the older integration figures stay"


# --- what the lanes share ------------------------------------------------------------
def test_outside_lanes_everything_is_for_this_session(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(lanes.RUN_DIR_ENV, raising=False)
    made: list[str] = []
    assert lanes.once("x", lambda: made.append("x") or "v") == "v"
    assert lanes.once("x", lambda: made.append("x") or "v") == "v"
    assert made == ["x", "x"]
    lanes.enter("kept")
    assert lanes.leave("kept")


def test_in_lanes_set_up_is_once_and_the_last_one_out_cleans_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(lanes.RUN_DIR_ENV, str(tmp_path))
    made: list[str] = []
    assert lanes.once("seed", lambda: made.append("first") or "before") == "before"
    assert lanes.once("seed", lambda: made.append("second") or "other") == "before"
    assert made == ["first"]
    lanes.enter("kept")
    other = tmp_path / "kept.in" / str(os.getppid())  # a live process of the run
    dead = tmp_path / "kept.in" / "999999999"  # a lane that died without leaving
    other.touch()
    dead.touch()
    assert not lanes.leave("kept"), "another lane is still in"
    other.unlink()
    lanes.enter("kept")
    assert lanes.leave("kept"), "only a dead one is left"


# --- the runner and the merged report ---------------------------------------------------
FAKE_PYTEST = """
    import json, os, sys, time
    modules = sys.argv[1:]
    lane = os.environ["GARDEN_TEST_LANE"]
    with open(os.environ["GARDEN_TEST_TIMINGS"], "a") as out:
        for m in modules:
            out.write(json.dumps({"stage": os.environ["GARDEN_TEST_STAGE"], "module": m,
                                  "seconds": 2.5, "tests": 1}) + "\\n")
    with open(os.path.join(os.environ["GARDEN_TEST_RUN_DIR"], "order"), "a") as out:
        out.write(f"{lane} {time.monotonic()} {os.environ['AIRFLOW_HOME']}\\n")
    print(f"{lane} ran {' '.join(modules)}")
    sys.exit(3 if "bad" in modules else 0)
"""


def test_the_serial_phase_then_the_lanes_and_one_merged_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "fake_pytest.py"
    script.write_text(textwrap.dedent(FAKE_PYTEST))
    timings = tmp_path / "modules.jsonl"
    monkeypatch.setenv(TIMINGS_ENV, str(timings))
    monkeypatch.setenv(STAGE_ENV, "integration-lanes")
    the_plan = lanes.Plan(serial=["s"], lanes=[["a", "bad"], ["c"]], planned=[5.0, 2.5])

    code = lanes.run(
        the_plan,
        reports=tmp_path / "reports",
        command=(sys.executable, str(script)),
        cwd=tmp_path,
        airflow_base=tmp_path / "airflow",
        heartbeat=0.0,
    )

    assert code == 3, "a failed lane fails the stage; the other lanes still ran"
    rows = [json.loads(line) for line in timings.read_text().splitlines()]
    assert {(r["lane"], r["module"], r["stage"]) for r in rows} == {
        ("serial", "s", "integration"),
        ("lane1", "a", "integration"),
        ("lane1", "bad", "integration"),
        ("lane2", "c", "integration"),
    }
    order = (tmp_path / "reports/lanes/run/order").read_text().splitlines()
    assert order[0].split()[0] == "serial", "the serial phase runs first, alone"
    homes = {line.split()[0]: line.split()[2] for line in order}
    assert homes == {n: str(tmp_path / "airflow" / n) for n in ("serial", "lane1", "lane2")}
    summary = json.loads((tmp_path / "reports/lanes/lanes.json").read_text())
    assert [(r["name"], r["returncode"]) for r in summary["runs"]] == [
        ("serial", 0),
        ("lane1", 3),
        ("lane2", 0),
    ]
    assert summary["module_seconds"] == 10.0
    assert "lane1 ran a bad" in (tmp_path / "reports/lanes/lane1.log").read_text()
    out = capsys.readouterr().out
    assert "[lane2] lane2 ran c" in out
    notes = lanes.summary_lines(tmp_path / "reports/lanes/lanes.json")
    assert notes[0].startswith("integration lanes (2 lanes; wall ")
    assert notes[2].split()[0] == "lane1"
    assert notes[2].endswith("2 modules  exit 3")
    closing = table(
        [StageResult("integration-lanes", summary["wall"], code)],
        [ModuleTiming("integration", "a", 2.5, 1)],
        notes=notes,
    )
    assert closing.splitlines()[1].startswith("integration ")
    assert notes[0] in closing


# --- the marks as pytest sees them (collection only: no seed is touched) ------------------
def _collect(*args: str, lane: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in (TIMINGS_ENV, STAGE_ENV, lanes.LANE_ENV, lanes.RUN_DIR_ENV)
    }
    if lane:
        env[lanes.LANE_ENV] = lane
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_pytest_sees_the_serial_modules_the_planner_reads() -> None:
    """A serial mark the planner cannot read (set other than in pytestmark) would put a
    module in a lane: the collected marks and the read ones must agree."""
    done = _collect("-m", "serial", "tests/integration")
    assert done.returncode == 0, done.stdout + done.stderr
    collected = {line.split("::")[0] for line in done.stdout.splitlines() if "::" in line}
    assert collected == {m.path for m in lanes.discover(ROOT) if m.serial}


def test_a_lane_refuses_a_serial_module_naming_it() -> None:
    done = _collect("tests/integration/shoots/test_error_codes.py", lane="lane1")
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout + done.stderr
    assert "lane1 was given tests marked serial" in done.stderr
    assert "tests/integration/shoots/test_error_codes.py" in done.stderr
    alone = _collect("tests/integration/shoots/test_error_codes.py", lane=lanes.SERIAL)
    assert alone.returncode == 0, alone.stdout + alone.stderr


def test_an_interrupted_serial_phase_starts_no_lane(tmp_path: Path) -> None:
    """SIGTERM to the runner (CI's cap, or ^C) reaches the running phase; none starts after."""
    script = tmp_path / "fake_pytest.py"
    script.write_text(
        textwrap.dedent(
            """
            import os, signal, sys, time
            if os.environ["GARDEN_TEST_LANE"] == "serial":
                os.kill(os.getppid(), signal.SIGTERM)  # as CI stopping the run would
                time.sleep(0.5)
            sys.exit(0)
            """
        )
    )
    the_plan = lanes.Plan(serial=["s"], lanes=[["a"]], planned=[1.0])
    code = lanes.run(
        the_plan,
        reports=tmp_path / "reports",
        command=(sys.executable, str(script)),
        cwd=tmp_path,
        airflow_base=tmp_path / "airflow",
    )
    summary = json.loads((tmp_path / "reports/lanes/lanes.json").read_text())
    assert [(r["name"], r["returncode"]) for r in summary["runs"]] == [
        ("serial", 128 + 15),  # the fake has no handler: SIGTERM ended it
        ("lane1", None),
    ]
    assert code == 128 + 15
    assert lanes.summary_lines(tmp_path / "reports/lanes/lanes.json")[2].endswith("not run")


# --- what tests judge, with other lanes' pods beside theirs -----------------------------
def test_an_agent_pod_is_judged_by_the_project_and_shoot_it_is_told() -> None:
    from reconcile_pods import acts_on

    def pod(*args: str) -> dict[str, object]:
        return {"spec": {"containers": [{"command": ["garden-agent"], "args": list(args)}]}}

    mine = pod("--garden-namespace", "garden-system", "shoot", "reconcile", "--project",
               "lease", "--name", "lock-1")  # fmt: skip
    assert acts_on(mine, "lease")
    assert acts_on(mine, "lease", "lock-1")
    assert not acts_on(mine, "lease", "lock-2")
    assert not acts_on(mine, "maint")
    assert acts_on(pod("--project", "123"), 123), "a project given as a number"
    assert not acts_on(pod("--name", "lease"), "lease")
