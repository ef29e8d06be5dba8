"""`garden backups ls PROJECT/NAME`: a shoot's etcd snapshots, good or not and why.

Snapshots live where only the seed can read them (a volume in the seed, or a bucket
whose credentials are a Secret there), so this runs `garden-agent etcd ls` in a
short-lived pod beside the shoot's control plane and prints its result.
"""

from __future__ import annotations

import argparse
import json
import os
import uuid

from airflow_provider_garden.cli.shoots import project_and_name
from airflow_provider_garden.core import naming
from airflow_provider_garden.core.controlplane import etcd_pod
from airflow_provider_garden.core.shoot_spec import parse_shoot
from airflow_provider_garden.core.toolbox import TOOLBOX_IMAGE, TOOLBOX_UID
from airflow_provider_garden.kube.client import KubeClient, Manifest
from airflow_provider_garden.kube.shoots import Shoots


def _pod(
    namespace: str, args: list[str], volumes: list[Manifest], mounts: list[Manifest]
) -> Manifest:
    image = os.environ.get("GARDEN_TOOLBOX_IMAGE", TOOLBOX_IMAGE)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"garden-backups-ls-{uuid.uuid4().hex[:6]}", "namespace": namespace},
        "spec": {
            "restartPolicy": "Never",
            "serviceAccountName": "garden-etcd",
            "automountServiceAccountToken": False,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": TOOLBOX_UID,
                "runAsGroup": TOOLBOX_UID,
                "fsGroup": TOOLBOX_UID,
            },
            "containers": [
                {
                    "name": "ls",
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["garden-agent", *args],
                    "volumeMounts": mounts,
                    "terminationMessagePolicy": "FallbackToLogsOnError",
                }
            ],
            "volumes": volumes,
        },
    }


def backups_ls(args: argparse.Namespace) -> int:
    """List a shoot's etcd snapshots (newest last): good, or why not."""
    project, name = args.shoot
    kube = KubeClient.from_kubeconfig(args.kubeconfig)
    spec = parse_shoot(Shoots(kube).get(project, name))
    if spec.backup is None:
        print(f"{project}/{name} has no spec.backup: no snapshots are taken")
        return 1
    volumes, mounts, store_args = etcd_pod.store_volumes(spec.backup)
    pod = _pod(
        naming.controlplane_namespace(project, name), ["etcd", "ls", *store_args], volumes, mounts
    )
    namespace, pod_name = pod["metadata"]["namespace"], pod["metadata"]["name"]
    kube.create(pod)
    try:
        kube.wait_for(
            f"pod {namespace}/{pod_name}",
            lambda: (
                (kube.get("v1", "Pod", pod_name, namespace).get("status") or {}).get("phase")
                in ("Succeeded", "Failed")
            ),
            timeout=120,
        )
        done = kube.get("v1", "Pod", pod_name, namespace)
        state = done["status"]["containerStatuses"][0]["state"].get("terminated") or {}
        if done["status"]["phase"] != "Succeeded":
            print(f"listing failed: {state.get('message', '').strip()[-500:]}")
            return 1
        result = json.loads(state["message"])
    finally:
        kube.delete("v1", "Pod", pod_name, namespace)
    last = Shoots(kube).status(project, name).last_backup
    recorded = last.snapshot if last else "-"
    print(f"{result['count']} snapshot(s) of {project}/{name}; newest good recorded: {recorded}")
    for snap in result["snapshots"]:
        print(
            f"  {'good' if snap['good'] else 'BAD '}  {snap['key']}"
            + (f"  ({snap['problem']})" if snap["problem"] else "")
        )
    return 0


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    backups = commands.add_parser("backups", help="etcd snapshots of shoots").add_subparsers(
        dest="backups_cmd", required=True
    )
    ls = backups.add_parser("ls", help=backups_ls.__doc__)
    ls.add_argument("shoot", type=project_and_name, metavar="PROJECT/NAME")
    ls.set_defaults(run=backups_ls)
