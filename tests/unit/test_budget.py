"""tests/budget.py: the stage runner, the module timings plugin and the closing table."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from budget import (
    Failure,
    ModuleTiming,
    StageResult,
    read_failures,
    read_timings,
    run_stages,
    table,
)

ROOT = Path(__file__).resolve().parents[2]


def _stage_script(tmp_path: Path, body: str) -> list[str]:
    script = tmp_path / "stage.py"
    script.write_text(textwrap.dedent(body))
    return [sys.executable, str(script)]


def test_stages_run_in_order_and_stop_at_the_first_failure(tmp_path: Path) -> None:
    log = tmp_path / "ran"
    command = _stage_script(
        tmp_path,
        f"""
        import sys
        open({str(log)!r}, "a").write(sys.argv[1] + "\\n")
        sys.exit(3 if sys.argv[1] == "b" else 0)
        """,
    )
    results, code = run_stages(["a", "b", "c"], reports=tmp_path, command=command)
    assert code == 3
    assert log.read_text().split() == ["a", "b"]
    assert [(r.name, r.returncode) for r in results] == [("a", 0), ("b", 3), ("c", None)]
    assert results[2].seconds is None
    assert "not run" in table(results, [])
    assert "FAILED (exit 3)" in table(results, [])


def test_the_table_lists_stages_total_and_the_slowest_modules_first() -> None:
    stages = [StageResult("unit", 11.0, 0), StageResult("seed-teardown-test", 18.5, 0)]
    modules = [
        ModuleTiming("unit", "tests/unit/test_a.py", 1.0, 3),
        ModuleTiming("integration", "tests/integration/test_b.py", 700.0, 4),
        ModuleTiming("unit", "tests/unit/test_c.py", 5.0, 1),
    ]
    text = table(stages, modules, top=2)
    lines = text.splitlines()
    assert lines[2].split()[:3] == ["teardown", "0:18", "18.5"]
    assert lines[3].split()[:3] == ["total", "0:30", "29.5"]
    assert "within the warm budget" in lines[3]
    slow = lines[lines.index("slowest 2 of 3 test modules:") + 1 :]
    assert [line.split()[3] for line in slow] == [
        "tests/integration/test_b.py",
        "tests/unit/test_c.py",
    ]


@pytest.mark.parametrize(
    ("seconds", "verdict"),
    [(59 * 60, "within the warm"), (61 * 60, "within the cold"), (81 * 60, "OVER the cold")],
)
def test_the_total_is_judged_against_both_budgets(seconds: float, verdict: str) -> None:
    assert verdict in table([StageResult("e2e", seconds, 0)], []).splitlines()[2]


def test_a_broken_timing_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "modules.jsonl"
    path.write_text('{"stage": "unit", "module": "m", "seconds": 1, "tests": 1}\n{"stage": 1}\n')
    with pytest.raises(ValueError, match=r"modules\.jsonl:2: not a module timing line"):
        read_timings(path)


def test_the_plugin_writes_one_line_per_module_with_setup_and_teardown(tmp_path: Path) -> None:
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "conftest.py").write_text(
        "import budget\n\ndef pytest_configure(config):\n    budget.register(config)\n"
    )
    (tests / "budget.py").write_text((ROOT / "tests" / "budget.py").read_text())
    (tests / "test_one.py").write_text(
        textwrap.dedent(
            """
            import time
            import pytest

            @pytest.fixture(scope="module")
            def slow():
                time.sleep(0.3)

            def test_a(slow): pass
            def test_b(slow): pass
            """
        )
    )
    (tests / "test_two.py").write_text(
        "def test_c():\n    raise AssertionError('the shoot never answered\\nsecond line')\n"
    )
    timings = tmp_path / "out" / "modules.jsonl"
    failures = tmp_path / "out" / "failures.jsonl"
    env = {
        "GARDEN_TEST_TIMINGS": str(timings),
        "GARDEN_TEST_STAGE": "unit",
        "GARDEN_TEST_FAILURES": str(failures),
        "GARDEN_TEST_LANE": "lane2",
        "PATH": "",
    }
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    rows = {row["module"]: row for row in map(json.loads, timings.read_text().splitlines())}
    assert set(rows) == {"tests/test_one.py", "tests/test_two.py"}
    assert rows["tests/test_one.py"]["tests"] == 2
    assert rows["tests/test_one.py"]["seconds"] >= 0.3, "the module fixture's setup counts"
    assert rows["tests/test_two.py"] == {
        "stage": "unit",
        "module": "tests/test_two.py",
        "seconds": rows["tests/test_two.py"]["seconds"],
        "tests": 1,
    }
    assert read_failures(failures) == [
        Failure(
            "unit",
            "tests/test_two.py::test_c",
            "call",
            "lane2",
            "AssertionError: the shoot never answered",
        )
    ]


def test_the_table_ends_naming_the_failed_tests_and_where_they_ran() -> None:
    failures = [
        Failure("integration", f"tests/integration/test_{i}.py::test_x", "call", "lane1", "boom")
        for i in range(16)
    ]
    failures[0] = Failure("e2e", "tests/e2e/test_y.py::test_z", "setup", "", "no seed")
    lines = table([StageResult("e2e", 1.0, 1)], [], failures=failures).splitlines()
    start = lines.index("failed tests (16):")
    assert lines[start + 1] == "  e2e: tests/e2e/test_y.py::test_z (in setup): no seed"
    assert lines[start + 2] == "  integration lane1: tests/integration/test_1.py::test_x: boom"
    assert lines[-1] == "  ... and 1 more"
    assert "failed tests" not in table([StageResult("e2e", 1.0, 0)], [])
