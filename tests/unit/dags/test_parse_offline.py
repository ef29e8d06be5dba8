"""Parsing a bundled DAG file touches no network: a guard against parse-time API calls.

The dag-processor parses every DAG file every few minutes; a DAG (or a provider module
it imports) that asked the seed for something while being parsed would slow every
parse with the fleet's size and fail whenever the seed is away. Here each bundled file
is parsed by Airflow's own DagBag while every way out is refused at the socket level
(connect, connect_ex, sendto and sendmsg on any socket, and the name lookups), so any
library's attempt fails loudly and the test names the file, the target and the line
that tried. The provider's modules are imported afresh under the guard, as a fresh
dag-processor would, so module-level I/O in them is caught as well as the DAG's own.

`benchmarks/dag_parse.py` measures the same property against the live seed (parse
times with 1,000 Shoots vs 1, API calls counted by a proxy in front of the seed); this
test needs no seed and runs with the unit tests.
"""

from __future__ import annotations

import re
import socket
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from airflow.dag_processing.dagbag import DagBag

REPO = Path(__file__).resolve().parents[3]
DAGS = REPO / "dags"
FILES = sorted(DAGS.glob("garden_*.py"))
OURS = ("airflow_provider_garden", "dags")


class NetworkAtParseTime(RuntimeError):
    """Raised by every blocked socket call: not an OSError, so no client retries it away."""


def _caller() -> str:
    """Where the attempt came from: the DAG file's line, and the innermost line of this
    repository's code (the provider module that opened the socket) when that is another."""
    ours = [
        f"{Path(f.filename).relative_to(REPO)}:{f.lineno}"
        for f in traceback.extract_stack()[:-3]  # not _caller, refuse, blocked
        if Path(f.filename).is_relative_to(REPO)
    ]
    if not ours:
        return "outside this repository"
    dag = next((line for line in ours if line.startswith("dags/")), None)
    return " via ".join(dict.fromkeys(line for line in (dag, ours[-1]) if line))


class SocketGuard:
    """Refuses every connection and name lookup; remembers each attempt."""

    def __init__(self) -> None:
        self.attempts: list[str] = []

    def refuse(self, what: str) -> None:
        attempt = f"{what} (from {_caller()})"
        self.attempts.append(attempt)
        raise NetworkAtParseTime(f"network at DAG parse time: {attempt}")

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        def method(verb: str, target_at: int) -> Callable[..., Any]:
            def blocked(sock: socket.socket, *args: Any, **kwargs: Any) -> Any:
                target = args[target_at] if args else kwargs
                self.refuse(f"{verb} to {target!r} ({sock.family.name})")

            return blocked

        def lookup(name: str) -> Callable[..., Any]:
            def blocked(host: object, *args: Any, **kwargs: Any) -> Any:
                self.refuse(f"{name} of {host!r}")

            return blocked

        monkeypatch.setattr(socket.socket, "connect", method("connect", 0))
        monkeypatch.setattr(socket.socket, "connect_ex", method("connect_ex", 0))
        monkeypatch.setattr(socket.socket, "sendto", method("sendto", -1))
        monkeypatch.setattr(socket.socket, "sendmsg", method("sendmsg", -1))
        for name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex"):
            monkeypatch.setattr(socket, name, lookup(name))


@pytest.fixture
def fresh_provider_modules() -> Iterator[None]:
    """Import the provider afresh inside the test; afterwards, exactly the modules of before."""
    before = {name: mod for name, mod in sys.modules.items() if name.split(".")[0] in OURS}
    for name in before:
        del sys.modules[name]
    try:
        yield
    finally:
        for name in [n for n in sys.modules if n.split(".")[0] in OURS]:
            del sys.modules[name]
        sys.modules.update(before)


def parse_offline(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[SocketGuard, DagBag]:
    guard = SocketGuard()
    with monkeypatch.context() as patched:
        guard.install(patched)
        bag = DagBag(dag_folder=str(path))
    return guard, bag


def test_the_guard_refuses_and_names_the_target(monkeypatch: pytest.MonkeyPatch) -> None:
    guard = SocketGuard()
    guard.install(monkeypatch)
    with pytest.raises(NetworkAtParseTime, match=r"getaddrinfo of 'seed\.invalid'"):
        socket.create_connection(("seed.invalid", 6443), timeout=1)
    with (
        socket.socket() as sock,
        pytest.raises(NetworkAtParseTime, match=re.escape("('127.0.0.1', 9)")),
    ):
        sock.connect(("127.0.0.1", 9))
    assert guard.attempts[-1].startswith("connect to ('127.0.0.1', 9) (AF_INET) (from tests/")


@pytest.mark.usefixtures("fresh_provider_modules")
@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_a_bundled_dag_parses_with_the_network_blocked(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    guard, bag = parse_offline(path, monkeypatch)
    if guard.attempts:
        tried = "\n  ".join(guard.attempts)
        pytest.fail(f"{path.name} tried the network while parsed:\n  {tried}", pytrace=False)
    assert not bag.import_errors, f"{path.name} failed to parse offline: {bag.import_errors}"
    assert bag.dag_ids == [path.stem]
