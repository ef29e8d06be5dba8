"""PID-file bookkeeping and port ownership, with real (tiny) processes."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

from airflow_provider_garden.localseed.errors import SeedError
from airflow_provider_garden.localseed.processes import ProcessTable, listeners, wait_until

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
