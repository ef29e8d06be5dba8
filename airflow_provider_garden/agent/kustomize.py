"""`garden-agent kustomize apply|diff`: render an overlay and apply it to a target.

Runs in the operator pod (the source shipped as an archive, or cloned from git)
or from a shell (``--source-dir``). The target is the seed (in-cluster, or the
global ``--kubeconfig``) or a shoot (``--kubeconfig-file``, the mounted admin
kubeconfig Secret). ``diff`` changes nothing and reports whether apply would.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from airflow_provider_garden.agent.options import add_setting_seconds
from airflow_provider_garden.core.kustomize_inventory import inventory_name
from airflow_provider_garden.core.kustomize_result import Mode

DEFAULT_INVENTORY_NAMESPACE = "kube-system"


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Render the overlay, then apply it (or diff it) against the target."""
    from airflow_provider_garden.agent.kustomize_apply import ApplyOptions, KustomizeRun
    from airflow_provider_garden.agent.kustomize_source import Source, build, materialise
    from airflow_provider_garden.core.kustomize_source import SourceLimits, SourcePolicy
    from airflow_provider_garden.kube.dynamic import DynamicClient

    source = Source(
        directory=Path(args.source_dir) if args.source_dir else None,
        archive=Path(args.source_archive) if args.source_archive else None,
        git_url=args.git_url,
        git_ref=args.git_ref or "",
        git_path=args.git_path,
    )
    policy = SourcePolicy(
        allow_remote_bases=args.allow_remote_bases, allow_exec_plugins=args.allow_exec_plugins
    )
    with tempfile.TemporaryDirectory(prefix="garden-kustomize-") as work:
        root = materialise(source, Path(work), SourceLimits())
        rendered = build(root, args.overlay, policy)
    kube = DynamicClient.from_kubeconfig(args.kubeconfig_file or args.kubeconfig)
    opts = ApplyOptions(
        mode=Mode(args.mode),
        target=args.target,
        inventory_id=args.inventory_id,
        inventory_namespace=args.inventory_namespace,
        default_namespace=args.default_namespace,
        source=f"{source.describe()} overlay {args.overlay}",
        prune=args.prune,
        prune_allow_kinds=frozenset(args.prune_allow_kind),
        force_conflicts=args.force_conflicts,
        recreate_on_immutable=frozenset(args.recreate_on_immutable),
        wait_timeout=args.wait_timeout,
    )
    return KustomizeRun(kube, opts).run(rendered)


def _inventory_id(value: str) -> str:
    try:
        inventory_name(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return value


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``kustomize apply`` and ``kustomize diff`` to garden-agent's verbs."""
    modes = verbs.add_parser("kustomize", help="kustomize overlays").add_subparsers(
        dest="mode", required=True
    )
    for mode, text in (
        (Mode.APPLY, "server-side apply an overlay, prune from the inventory, wait healthy"),
        (Mode.DIFF, "report what apply would change; change nothing"),
    ):
        p = modes.add_parser(mode.value, help=text)
        src = p.add_mutually_exclusive_group(required=True)
        src.add_argument("--source-dir", help="kustomize root directory (shell runs)")
        src.add_argument("--source-archive", help="tar.gz of the root, as the operator ships it")
        src.add_argument("--git-url", help="git repository holding the kustomize root")
        p.add_argument("--git-ref", help="branch, tag or full commit id (with --git-url)")
        p.add_argument("--git-path", default=".", help="kustomize root inside the repository")
        p.add_argument("--overlay", default=".", help="overlay directory inside the root")
        p.add_argument("--target", default="seed", help="what the target is called in results")
        p.add_argument(
            "--kubeconfig-file", help="target kubeconfig (a shoot); default: the seed itself"
        )
        p.add_argument(
            "--inventory-id", required=True, type=_inventory_id, help="names garden-inventory-<id>"
        )
        p.add_argument("--inventory-namespace", default=DEFAULT_INVENTORY_NAMESPACE)
        p.add_argument(
            "--default-namespace", default="default", help="for namespaced objects without one"
        )
        p.add_argument("--prune", action="store_true", help="delete what is no longer rendered")
        p.add_argument(
            "--prune-allow-kind",
            action="append",
            default=[],
            choices=["Namespace", "CustomResourceDefinition", "PersistentVolume"],
            help="a protected kind that prune may delete (repeatable)",
        )
        p.add_argument("--force-conflicts", action="store_true")
        p.add_argument(
            "--recreate-on-immutable",
            action="append",
            default=[],
            metavar="KIND",
            help="delete and recreate objects of KIND whose immutable fields change",
        )
        p.add_argument("--allow-remote-bases", action="store_true")
        p.add_argument("--allow-exec-plugins", action="store_true")
        add_setting_seconds(
            p,
            "--wait-timeout",
            setting="kustomize_wait_timeout",
            help="rollout health wait in seconds; 0 = none",
            type=float,
        )
        p.set_defaults(run=run)
