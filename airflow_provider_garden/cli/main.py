"""`garden`: the command for people. Each command group lives in its own module.

A module joins by offering ``add_commands(commands)``, where it adds its parsers
and sets ``run`` (a function of the parsed arguments returning the exit status).
Shell completion is argcomplete's (a dependency of Airflow's own CLI, which completes
the same way): `garden completion bash` prints a script that asks `garden` itself, so
it completes from this very parser and never drifts from it.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import argcomplete
from argcomplete.shell_integration import shellcode

from airflow_provider_garden import __version__
from airflow_provider_garden.cli import backups, local_seed, projects, shoots
from airflow_provider_garden.localseed.errors import SeedError
from airflow_provider_garden.localseed.paths import SeedPaths

COMMAND_MODULES = (local_seed, shoots, projects, backups)
COMPLETION_SHELLS = ("bash", "zsh", "fish")


def completion(args: argparse.Namespace) -> int:
    """Print the shell's completion script: `source <(garden completion bash)` (zsh:
    the same in ~/.zshrc after compinit; fish: `garden completion fish | source`)."""
    sys.stdout.write(shellcode([args.prog], shell=args.shell))
    return 0


def _add_completion(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("completion", help=completion.__doc__)
    p.add_argument("shell", choices=COMPLETION_SHELLS)
    p.add_argument("--prog", default="garden", help="the command name to complete")
    p.set_defaults(run=completion)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="garden", description="Gardener-like fleet management of Kubernetes clusters."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--kubeconfig",
        default=os.environ.get("KUBECONFIG") or str(SeedPaths.default().kubeconfig),
        help="kubeconfig of the seed (default: $KUBECONFIG, else the local seed's)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.add_commands(commands)
    _add_completion(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command: its status; as kubectl, a failure is one line on stderr with
    status 1 (usage errors: 2, from argparse), never a traceback."""
    parser = build_parser()
    argcomplete.autocomplete(parser)  # only when the shell asks (_ARGCOMPLETE set): exits
    args = parser.parse_args(argv)
    try:
        status: int = args.run(args)
    except KeyboardInterrupt:
        return 130
    except Exception as err:  # every failure becomes one line (GARDEN_DEBUG=1: the traceback)
        if os.environ.get("GARDEN_DEBUG"):
            raise
        print(f"garden: error: {failure_line(err, kubeconfig=args.kubeconfig)}", file=sys.stderr)
        return 1
    return status


def failure_line(err: Exception, *, kubeconfig: str) -> str:
    """What went wrong, in one line people can act on."""
    from kubernetes.config.config_exception import ConfigException
    from urllib3.exceptions import HTTPError

    from airflow_provider_garden.kube.agent_pod import AgentPodError
    from airflow_provider_garden.kube.errors import ApiError

    if isinstance(err, ConfigException):
        return f"kubeconfig {kubeconfig}: {err}"
    if isinstance(err, HTTPError):
        reason = getattr(err, "reason", None) or err
        return f"cannot reach the seed's API server (kubeconfig {kubeconfig}): {reason}"
    if isinstance(err, ApiError | AgentPodError | SeedError | LookupError | ValueError | OSError):
        return " ".join(str(err).split())
    return f"{type(err).__name__}: {' '.join(str(err).split())}"


if __name__ == "__main__":
    sys.exit(main())
