"""Long steps announce themselves, beat every interval with elapsed time and detail, and end."""

from __future__ import annotations

import io
import itertools
import re
import sys
import threading

import pytest

from airflow_provider_garden.localseed.progress import run_reporting, step


class _Watched(io.StringIO):
    """Output that tells the test when `beats` heartbeat lines have been written."""

    def __init__(self, beats: int) -> None:
        super().__init__()
        self.wanted = beats
        self.enough = threading.Event()

    def write(self, text: str) -> int:
        written = super().write(text)
        if self.getvalue().count("so far: ") >= self.wanted:
            self.enough.set()
        return written


def _fake_clock(step_seconds: float) -> itertools.count[float]:
    return itertools.count(0.0, step_seconds)


def test_heartbeat_names_the_step_its_elapsed_time_and_detail() -> None:
    out = _Watched(beats=2)
    clock = _fake_clock(30.0)
    with step("go build kubernetes", stream=out, heartbeat=0.001, clock=clock.__next__) as s:
        s.detail = "12 packages compiled, last k8s.io/api/core/v1"
        assert out.enough.wait(timeout=60), out.getvalue()
    lines = out.getvalue().splitlines()
    assert lines[0] == "==> [local-seed] go build kubernetes ..."
    # Beats before the detail was set carry none; each beat reads the clock once.
    beats = [re.fullmatch(r"    go build kubernetes: (\d+)s so far(: .*)?", x) for x in lines[1:-1]]
    assert all(beats), lines
    seconds = [int(b[1]) for b in beats if b]
    assert seconds == [30 * k for k in range(1, len(seconds) + 1)]
    details = [b[2] for b in beats if b and b[2]]
    assert details[:2] == [": 12 packages compiled, last k8s.io/api/core/v1"] * 2
    assert re.fullmatch(r"    go build kubernetes: done in \d+\.0s", lines[-1])


def test_no_heartbeat_within_the_interval_and_failure_is_reported() -> None:
    out = io.StringIO()
    clock = _fake_clock(1.5)
    with (
        pytest.raises(RuntimeError),
        step("apt-get install make", stream=out, clock=clock.__next__),
    ):
        raise RuntimeError("boom")
    assert out.getvalue().splitlines() == [
        "==> [local-seed] apt-get install make ...",
        "    apt-get install make: failed after 1.5s",
    ]


def test_run_reporting_keeps_the_latest_recognised_line_and_all_output() -> None:
    out = io.StringIO()
    script = "echo noise; echo 'STEP 1/2: FROM x'; echo 'STEP 2/2: RUN y' >&2; echo tail; exit 3"
    with step("image x", stream=out, heartbeat=3600) as s:
        done = run_reporting(
            [sys.executable, "-c", f"import subprocess; subprocess.run({script!r}, shell=True)"],
            s,
            describe=lambda line: line if line.startswith("STEP ") else None,
        )
        assert s.detail == "STEP 2/2: RUN y"
    assert done.returncode == 0  # python's exit, the shell's 3 is not propagated by run()
    assert done.stdout.splitlines() == ["noise", "STEP 1/2: FROM x", "STEP 2/2: RUN y", "tail"]


def test_run_reporting_returns_the_exit_code() -> None:
    with step("fails", stream=io.StringIO(), heartbeat=3600) as s:
        done = run_reporting(["sh", "-c", "echo oops >&2; exit 3"], s, describe=lambda _: None)
    assert (done.returncode, done.stdout, s.detail) == (3, "oops\n", "")
