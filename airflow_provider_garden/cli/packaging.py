"""What ships beside the Python package: the images under docker/ and the Helm chart.

    python -m airflow_provider_garden.cli.packaging chart-sync   # chart files from the code
    python -m airflow_provider_garden.cli.packaging chart        # sync, lint, package
    python -m airflow_provider_garden.cli.packaging images       # toolbox + Airflow images
    python -m airflow_provider_garden.cli.packaging chart-install  # into the local seed

The code is the one source of what the chart installs; `chart-sync` writes the
generated files and a unit test fails while they drift: the ServiceAccounts and
roles render from files/accounts.yaml (from `kube.rbac.ACCOUNTS`); the CRDs of
`core/crds/` (the Shoot's generated from `core/shoot_schema.py`) into the package
(kube/crds/, which `garden install` applies) and the chart's crds/.
Copies rather than symlinks: helm warns about every symlink on every command,
and `docker build` copies a symlink that points out of the package as dangling.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from airflow_provider_garden.core.crds import CRDS, Crd
from airflow_provider_garden.core.seed_policy import admission_policy
from airflow_provider_garden.core.settings import DEFAULT_NAMESPACE
from airflow_provider_garden.kube.cloudprofile import CloudProfile
from airflow_provider_garden.kube.rbac import ACCOUNTS
from airflow_provider_garden.localseed import airflow_image
from airflow_provider_garden.localseed.errors import SeedError
from airflow_provider_garden.localseed.helm import ensure_helm
from airflow_provider_garden.localseed.images import docker_dir
from airflow_provider_garden.localseed.paths import SeedPaths
from airflow_provider_garden.localseed.profile import local_profile

CHART_NAME = "airflow-provider-garden"
ACCOUNTS_FILE = "files/accounts.yaml"
POLICY_FILE = "files/admission-policy.yaml"
_REFRESH = """\
# Refresh with `python -m airflow_provider_garden.cli.packaging chart-sync`;
# tests/integration/chart fails while this file and the code disagree.
"""


def chart_dir() -> Path:
    return docker_dir().parent / "helm" / CHART_NAME


def accounts_document() -> dict[str, Any]:
    return {
        "accounts": [
            {
                "name": a.name,
                "perControlplane": a.per_controlplane,
                "rules": list(a.rules),
                # roles it may bind, named "<release namespace>:<account>" by the template
                **({"binds": list(a.binds)} if a.binds else {}),
            }
            for a in ACCOUNTS
        ]
    }


class _PlainDumper(yaml.SafeDumper):
    """No anchors for lists the rules share (WRITE): the file stays readable."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _yaml(document: dict[str, Any], *, flow: bool | None = None) -> str:
    return yaml.dump(
        document, Dumper=_PlainDumper, sort_keys=False, default_flow_style=flow, width=100
    )


def accounts_file_text() -> str:
    header = "# Generated from airflow_provider_garden/kube/rbac.py (ACCOUNTS): do not edit.\n"
    return header + _REFRESH + _yaml(accounts_document())


def policy_file_text() -> str:
    header = "# Generated from airflow_provider_garden/core/seed_policy.py: do not edit.\n"
    return header + _REFRESH + _yaml({"objects": admission_policy()}, flow=False)


def crd_text(crd: Crd) -> str:
    header = f"# Generated from airflow_provider_garden/{crd.source}: do not edit.\n"
    return header + _REFRESH + crd.header + _yaml(crd.manifest(), flow=False)


def package_crd_path(name: str) -> Path:
    return Path(__file__).resolve().parents[1] / "kube" / "crds" / name


def crd_texts() -> dict[str, str]:
    """CRD file name -> its text, in the order `garden install` applies them."""
    return {crd.file: crd_text(crd) for crd in CRDS}


def generated_files() -> dict[str, str]:
    """Path in the chart -> the text `chart-sync` writes there."""
    crds = {f"crds/{name}": text for name, text in crd_texts().items()}
    return {ACCOUNTS_FILE: accounts_file_text(), POLICY_FILE: policy_file_text(), **crds}


def sync_chart(chart: Path) -> list[Path]:
    """Write the generated files (the chart's and the package's CRD); return those that changed."""
    changed = []
    targets = {chart / name: text for name, text in generated_files().items()}
    for name, text in crd_texts().items():
        targets[package_crd_path(name)] = text
    for target, text in targets.items():
        if target.exists() and target.read_text() == text:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        changed.append(target)
    return changed


def _helm(helm: Path, *args: str) -> str:
    out = subprocess.run([str(helm), *args], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SeedError(f"helm {args[0]} failed:\n{(out.stderr or out.stdout).strip()}")
    return out.stdout


def profile_values(profile: CloudProfile) -> dict[str, Any]:
    return {
        "cloudProfile": {
            "kubernetesVersions": profile.kubernetes.to_json(),
            "machineImages": {name: v.to_json() for name, v in profile.images.items()},
            "seedNetworks": list(profile.seed_networks),
        }
    }


def install_chart(
    *,
    kubeconfig: Path,
    namespace: str,
    profile: CloudProfile,
    release: str = "garden",
    values: dict[str, Any] | None = None,
) -> str:
    """`helm upgrade --install` of the chart; helm's output (with NOTES).

    --take-ownership: objects `garden install` (kube/bootstrap.py) created become the
    release's. The chart renders the same objects (tests/integration/chart proves it), so
    either may run against the namespace afterwards.
    """
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as file:
        yaml.safe_dump({**profile_values(profile), **(values or {})}, file)
        file.flush()
        return _helm(
            ensure_helm(), "upgrade", "--install", release, str(chart_dir()),
            "--kubeconfig", str(kubeconfig), "--namespace", namespace, "--create-namespace",
            "--take-ownership", "--values", file.name, "--wait", "--timeout", "2m",
        )  # fmt: skip


def _chart(args: argparse.Namespace) -> int:
    chart = chart_dir()
    for path in sync_chart(chart):
        print(f"updated {path}")
    if args.command == "chart-sync":
        return 0
    helm = ensure_helm()
    print(_helm(helm, "lint", "--strict", str(chart)).strip())
    Path(args.destination).mkdir(parents=True, exist_ok=True)
    print(_helm(helm, "package", str(chart), "--destination", args.destination).strip())
    return 0


def _chart_install(args: argparse.Namespace) -> int:
    """Into the local seed: its CloudProfile, and its images are never pulled."""
    out = install_chart(
        kubeconfig=Path(args.kubeconfig),
        namespace=args.namespace,
        profile=local_profile(),
        values={"image": {"pullPolicy": "Never"}},
    )
    print(out.strip())
    return 0


def _images(args: argparse.Namespace) -> int:
    paths = SeedPaths.default()
    began = time.monotonic()
    built = airflow_image.ensure_release_images(paths, airflow=not args.toolbox_only)
    print(f"{'image':<48} {'size':>9} {'archive':>9} {'build':>7}")
    for image in built:
        print(
            f"{image.ref:<48} {image.size_bytes / 2**20:>6.0f}MiB "
            f"{image.archive_bytes / 2**20:>6.0f}MiB {image.build_seconds:>6.1f}s"
        )
    print(f"(this run: {time.monotonic() - began:.1f}s; build = the last real build)")
    return 0


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sync = commands.add_parser("chart-sync", help="write the chart's files generated from code")
    sync.set_defaults(run=_chart)
    chart = commands.add_parser("chart", help="chart-sync, then helm lint and helm package")
    chart.add_argument("--destination", default="dist", help="where the .tgz goes")
    chart.set_defaults(run=_chart)
    install = commands.add_parser(
        "chart-install", help="helm upgrade --install the chart into the local seed"
    )
    install.add_argument("--kubeconfig", default=str(SeedPaths.default().kubeconfig))
    install.add_argument("--namespace", default=DEFAULT_NAMESPACE)
    install.set_defaults(run=_chart_install)
    images = commands.add_parser(
        "images", help="build the toolbox and Airflow images (OCI archives in the cache)"
    )
    images.add_argument(
        "--toolbox-only", action="store_true", help="skip the Airflow image and its stand-in base"
    )
    images.set_defaults(run=_images)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_garden.cli.packaging", description=__doc__
    )
    add_commands(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    args = parser.parse_args(argv)
    try:
        status: int = args.run(args)
    except SeedError as err:
        print(f"packaging: error: {err}", file=sys.stderr)
        return 1
    return status


if __name__ == "__main__":
    sys.exit(main())
