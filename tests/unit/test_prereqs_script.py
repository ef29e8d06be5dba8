"""hack/prereqs.sh's decisions, its functions called one by one (the script, sourced,
only defines them). The whole script runs on a bare Debian 12 in
tests/integration/prereqs."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from airflow_provider_garden.localseed import versions

SCRIPT = Path(__file__).resolve().parents[2] / "hack" / "prereqs.sh"


def _bash(command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", f"set -euo pipefail; source {SCRIPT}; {command}"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_the_script_wants_the_go_release_versions_py_names() -> None:
    assert _bash("wanted_go").stdout.strip() == versions.GO


@pytest.mark.parametrize(
    ("have", "want", "enough"),
    [
        ("1.26.8", "1.26.0", True),
        ("1.26.0", "1.26.0", True),
        ("1.25.9", "1.26.0", False),
        ("1.9", "1.21", False),  # compared as versions, not as text
        ("1.23", "1.21", True),
        ("", "1.21", False),  # no working go
    ],
)
def test_version_at_least(have: str, want: str, enough: bool) -> None:
    assert (_bash(f"version_at_least '{have}' '{want}'").returncode == 0) is enough


def test_go_version_reads_a_go_binary(tmp_path: Path) -> None:
    fake = tmp_path / "go"
    fake.write_text('#!/bin/sh\n[ "$GOTOOLCHAIN" = local ] && echo go1.23.4 || echo go1.26.0\n')
    fake.chmod(0o755)
    assert _bash(f"go_version {fake}").stdout.strip() == "1.23.4"
    # a broken go on PATH is passed over, not the end of the script (set -e)
    missing = _bash(f'have=$(go_version {tmp_path / "missing"}); echo "[$have]"')
    assert (missing.returncode, missing.stdout) == (0, "[]\n")


def test_a_module_that_cannot_be_loaded_is_named(tmp_path: Path) -> None:
    """modprobe stands in here; the container test runs the real one."""
    fake = tmp_path / "modprobe"
    fake.write_text('#!/bin/sh\necho "modprobe: FATAL: Module $1 not found" >&2\nexit 1\n')
    fake.chmod(0o755)
    done = _bash(f"PATH={tmp_path}:$PATH; id() {{ echo 0; }}; ensure_module br_netfilter false")
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "prereqs: the kernel module br_netfilter is missing and could not be loaded "
        "(modprobe br_netfilter: modprobe: FATAL: Module br_netfilter not found); the local "
        "seed needs it: use a kernel with br_netfilter built in or loadable"
    )


def test_a_present_module_is_not_loaded(tmp_path: Path) -> None:
    fake = tmp_path / "modprobe"
    fake.write_text(f"#!/bin/sh\ntouch {tmp_path}/called\n")
    fake.chmod(0o755)
    done = _bash(f"PATH={tmp_path}:$PATH; ensure_module overlay true")
    assert (done.returncode, done.stderr) == (0, "==> [prereqs] kernel: overlay present\n")
    assert not (tmp_path / "called").exists()


def test_heartbeat_beats_while_the_command_runs_and_keeps_its_exit_code(tmp_path: Path) -> None:
    """The command waits for the first beat in the log (bounded), so nothing hangs on timing."""
    log = tmp_path / "err"
    waits = tmp_path / "waits.sh"
    waits.write_text(
        f"for i in $(seq 600); do grep -q 'so far' {log} && exit 3; sleep 0.1; done; exit 9\n"
    )
    done = subprocess.run(
        ["bash", "-c", f'{SCRIPT.with_name("heartbeat.sh")} "pip install" sh {waits} 2>{log}'],
        env={"PATH": "/usr/bin:/bin", "GARDEN_HEARTBEAT_SECONDS": "0.2"},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 3
    lines = log.read_text().splitlines()
    assert re.fullmatch(r"    pip install: \d+s so far", lines[0])
    assert re.fullmatch(r"    pip install: failed after \d+s \(exit 3\)", lines[-1])
