"""Every `garden` command, misused and failing, answers as kubectl does: a usage error
exits 2; any other failure exits 1 with exactly one line on stderr; never a traceback.

Only the kube client is faked (tests/cli_seed.py). A command added to the parser
without its cases here fails `test_every_command_has_its_cases`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from cli_seed import FakeKube, project, shoot

from airflow_provider_garden.cli.main import build_parser, main
from airflow_provider_garden.kube.errors import Forbidden

# (argv, what stderr says): argparse's refusals and the commands' own usage checks.
USAGE = [
    ([], "the following arguments are required: COMMAND"),
    (["frob"], "invalid choice: 'frob'"),
    (["install", "--bogus"], "unrecognized arguments: --bogus"),
    (["shoots"], "required"),
    (["shoots", "ls", "-o", "xml"], "invalid choice: 'xml'"),
    (["shoots", "ls", "extra"], "unrecognized arguments: extra"),
    (["kubeconfig", "demo", "--user", "alice"], "expected PROJECT/NAME, got 'demo'"),
    (["kubeconfig", "demo/dev"], "the following arguments are required: --user"),
    (["kubeconfig", "demo/dev", "--user", "alice", "--expiration", "99h"], "--expiration"),
    (["projects", "create", "team-b"], "the following arguments are required: --owner"),
    (["projects", "create", "a--b", "--owner", "o"], "must not contain '--'"),
    (["projects", "create", "b", "--owner", "o", "--max-shoots", "many"], "invalid int value"),
    (["projects", "ls", "-o", "xml"], "invalid choice: 'xml'"),
    (["projects", "adopt", "legacy"], "the following arguments are required: --owner"),
    (["backups", "ls"], "the following arguments are required: PROJECT/NAME"),
    (["backups", "ls", "demo"], "expected PROJECT/NAME, got 'demo'"),
    (["backups", "ls", "demo/dev", "-o", "xml"], "invalid choice: 'xml'"),
    (["local-seed"], "required"),
    (["local-seed", "up", "--bogus"], "unrecognized arguments: --bogus"),
    (["local-seed", "down", "--bogus"], "unrecognized arguments: --bogus"),
    (["local-seed", "status", "--bogus"], "unrecognized arguments: --bogus"),
    (["local-seed", "kubeconfig", "extra"], "unrecognized arguments: extra"),
    (["completion"], "the following arguments are required: shell"),
    (["completion", "cmd.exe"], "invalid choice: 'cmd.exe'"),
]

# (argv, what the one line says) against the seed of `fleet`: project demo (member
# alice) with shoot dev, which has no spec.backup and was never reconciled.
FAILURES = [
    (["kubeconfig", "demo/missing", "--user", "alice"], "shoot demo/missing does not exist"),
    (["kubeconfig", "nope/dev", "--user", "alice"], "project 'nope' does not exist"),
    (["kubeconfig", "demo/dev", "--user", "mallory"], "'mallory' is not a member"),
    (["kubeconfig", "demo/dev", "--user", "alice"], "has the shoot been reconciled?"),
    (["shoots", "ls", "--project", "nope"], "project 'nope' does not exist"),
    (["backups", "ls", "demo/missing"], "shoot demo/missing does not exist"),
    (["backups", "ls", "nope/dev"], "shoot nope/dev does not exist"),
    (["backups", "ls", "demo/dev"], "demo/dev has no spec.backup"),
    (["projects", "adopt", "nope", "--owner", "alice"], "project nope: nothing to adopt"),
    (["install", "--profile", "/nonexistent/profile.yaml"], "/nonexistent/profile.yaml"),
    (["local-seed", "kubeconfig"], "does not exist yet: run `garden local-seed up`"),
]

# Every command that talks to the seed, as the seed refuses it (403) and as the
# kubeconfig is missing: the server's message, or the kubeconfig named.
SEED_COMMANDS = [
    ["install"],
    ["shoots", "ls"],
    ["kubeconfig", "demo/dev", "--user", "alice"],
    ["projects", "create", "team-b", "--owner", "alice"],
    ["projects", "ls"],
    ["projects", "adopt", "--owner", "alice"],
    ["backups", "ls", "demo/dev"],
    ["backups", "ls", "--deleted", "demo/dev"],
]

# Commands with no failure path of their own to run here: local-seed up, down and
# status act on this machine's seed (tests/integration/test_local_seed_host.py runs
# them); completion only prints a script.
NOT_RUN = {("local-seed", "up"), ("local-seed", "down"), ("local-seed", "status"), ("completion",)}


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """`garden argv` as the console script runs it: its status and its stderr."""
    try:
        status = main(argv)
    except SystemExit as exit_:  # argparse's usage errors
        status = int(exit_.code or 0)
    return status, capsys.readouterr().err


@pytest.fixture
def fleet(seed: FakeKube, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeKube:
    monkeypatch.setenv("GARDEN_SEED_HOME", str(tmp_path / "no-seed-here"))
    monkeypatch.delenv("GARDEN_DEBUG", raising=False)
    seed.put(project("demo", owner="alice"))
    seed.put(shoot("demo", "dev"))
    return seed


def _name(argv: list[str]) -> str:
    return " ".join(argv) or "(none)"


@pytest.mark.usefixtures("fleet")
@pytest.mark.parametrize(("argv", "says"), USAGE, ids=[_name(a) for a, _ in USAGE])
def test_a_usage_error_exits_2(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, err = run(argv, capsys)
    assert status == 2, err
    assert "Traceback" not in err
    assert says in err.splitlines()[-1]


def _assert_one_line(status: int, err: str, says: str) -> None:
    assert status == 1, err
    assert "Traceback" not in err
    assert err.count("\n") == 1, f"not one line: {err!r}"
    assert err.endswith("\n")
    assert err.startswith("garden: error: "), err
    assert says in err


@pytest.mark.usefixtures("fleet")
@pytest.mark.parametrize(("argv", "says"), FAILURES, ids=[_name(a) for a, _ in FAILURES])
def test_a_failure_is_one_line_and_exits_1(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _assert_one_line(*run(argv, capsys), says)


@pytest.mark.parametrize("argv", SEED_COMMANDS, ids=_name)
def test_a_refusing_seed_is_one_line_and_exits_1(
    argv: list[str], fleet: FakeKube, capsys: pytest.CaptureFixture[str]
) -> None:
    fleet.refusal = Forbidden(
        {"code": 403, "reason": "Forbidden", "message": 'forbidden:\n User "bob" cannot'}
    )
    _assert_one_line(*run(argv, capsys), '403 Forbidden: forbidden: User "bob" cannot')


@pytest.mark.parametrize("argv", SEED_COMMANDS, ids=_name)
def test_a_missing_kubeconfig_is_one_line_and_exits_1(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere.kubeconfig"
    _assert_one_line(*run(["--kubeconfig", str(missing), *argv], capsys), f"kubeconfig {missing}")


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Every runnable command of the parser, as its words (``("projects", "create")``)."""
    subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subparsers:
        return {path}
    return {
        command
        for name, sub in subparsers[0].choices.items()
        for command in _commands(sub, (*path, name))
    }


def test_every_command_has_its_cases() -> None:
    commands = _commands(build_parser())
    assert ("projects", "adopt") in commands
    assert ("completion",) in commands

    def covered(cases: list[list[str]]) -> set[tuple[str, ...]]:
        return {c for c in commands for argv in cases if tuple(argv[: len(c)]) == c}

    assert commands - covered([argv for argv, _ in USAGE]) == set()
    failing = covered([argv for argv, _ in FAILURES] + SEED_COMMANDS)
    assert commands - failing - NOT_RUN == set()


def test_adopting_a_project_that_has_its_project_is_no_error(
    fleet: FakeKube, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["projects", "adopt", "demo", "--owner", "alice"], capsys) == (0, "")
