"""PID-file bookkeeping and port ownership, with real (tiny) processes."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from airflow_provider_garden.localseed.errors import SeedError
from airflow_provider_garden.localseed.processes import (
    ProcessTable,
    boot_id,
    executable_of,
    identity_of,
    listeners,
    start_ticks,
    terminate,
    wait_until,
)

SLEEP = shutil.which("sleep") or "/bin/sleep"


@pytest.fixture
def table(tmp_path: Path) -> ProcessTable:
    return ProcessTable(run_dir=tmp_path / "run", log_dir=tmp_path / "logs")


def test_started_process_is_found_by_pid_file_and_stopped(table: ProcessTable) -> None:
    pid = table.start("sleeper", [SLEEP, "60"], fingerprint="v1")
    assert table.pid("sleeper") == pid
    assert table.fingerprint("sleeper") == "v1"
    assert table.log_file("sleeper").read_text().startswith("--- ")
    assert table.stop("sleeper", timeout=5)
    assert table.pid("sleeper") is None
    assert not table.pid_file("sleeper").exists()
    assert not table.stop("sleeper")  # stopping twice is harmless


def test_pid_file_of_another_program_is_stale(table: ProcessTable) -> None:
    table.run_dir.mkdir(parents=True)
    # Our own PID runs python, not the executable the file names: never signal it.
    table.pid_file("ghost").write_text(f"{os.getpid()}\n/usr/bin/not-this\nx\n")
    assert table.pid("ghost") is None
    assert not table.stop("ghost")


def test_listener_on_a_port_is_named_with_its_pid() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        found = listeners([port])
    assert [(held.port, held.pid) for held in found] == [(port, os.getpid())]
    assert listeners([port]) == []


def test_wait_fails_at_once_when_the_process_died() -> None:
    with pytest.raises(SeedError, match="etcd: exited"):
        wait_until(lambda: "not yet", timeout=60, what="etcd", alive=lambda: "exited")


def test_wait_reports_the_last_reason_on_timeout() -> None:
    with pytest.raises(SeedError, match="not ready after 0s: connection refused"):
        wait_until(lambda: "connection refused", timeout=0, what="kube-apiserver")


def test_pid_file_with_another_start_time_is_never_signalled(table: ProcessTable) -> None:
    # A process the seed did not start, with the same PID and executable as in the
    # file (as the system's containerd can have after a reboot): only its start
    # time differs.
    foreign = subprocess.Popen([SLEEP, "60"])
    try:
        who = identity_of(foreign.pid)
        assert who is not None
        table.run_dir.mkdir(parents=True)
        table.pid_file("containerd").write_text(
            f"{foreign.pid}\n{executable_of(foreign.pid)}\nfp\n{who.start_ticks - 1}\n{who.boot_id}\n"
        )
        assert table.pid("containerd") is None
        assert not table.stop("containerd", timeout=1)
        assert foreign.poll() is None  # still running
        assert terminate(replace(who, start_ticks=who.start_ticks + 1), timeout=1) is False
        table.pid_file("containerd").write_text(
            f"{foreign.pid}\n{executable_of(foreign.pid)}\nfp\n{who.start_ticks}\nother-boot\n"
        )
        assert table.pid("containerd") is None
        assert foreign.poll() is None
    finally:
        foreign.kill()
        foreign.wait()


def test_started_process_records_its_start_time_and_boot(table: ProcessTable) -> None:
    pid = table.start("sleeper", [SLEEP, "60"])
    try:
        lines = table.pid_file("sleeper").read_text().splitlines()
        assert lines[3] == str(start_ticks(pid))
        assert lines[4] == boot_id()
    finally:
        assert table.stop("sleeper", timeout=5)


def test_legacy_pid_file_is_adopted_only_for_a_process_of_the_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    table = ProcessTable(run_dir=home / "run", log_dir=home / "logs", home=home)
    # Like every daemon of the seed, it names a file in the home on its command line.
    ours = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", f"{home}/x"])
    theirs = subprocess.Popen([SLEEP, "61"])
    try:
        table.run_dir.mkdir(parents=True)
        for name, proc in (("etcd", ours), ("containerd", theirs)):
            table.pid_file(name).write_text(f"{proc.pid}\n{executable_of(proc.pid)}\nfp\n")
        assert table.pid("etcd") == ours.pid  # trusted by its command line until adopted
        assert table.pid("containerd") is None
        assert table.adopt_legacy("etcd")
        assert len(table.pid_file("etcd").read_text().splitlines()) == 5
        assert table.pid("etcd") == ours.pid
        assert table.fingerprint("etcd") == "fp"
        assert not table.adopt_legacy("containerd")
        assert not table.pid_file("containerd").exists()
        assert theirs.poll() is None
    finally:
        for proc in (ours, theirs):
            proc.kill()
            proc.wait()
