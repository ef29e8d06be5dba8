"""`helm lint` and `helm template` of the chart with several values sets.

The chart and `garden install` (kube/bootstrap.py) must create the same objects,
so a seed installed either way runs the operators under the same accounts, and
the two can take turns on one namespace (the e2e suite installs with helm, the
integration fixtures with `install()`).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from helm_chart_helpers import Render, run_helm

from airflow_provider_garden import __version__
from airflow_provider_garden.cli.main import build_parser
from airflow_provider_garden.cli.projects import requested_project
from airflow_provider_garden.core.project import project_resource
from airflow_provider_garden.core.seed_policy import admission_policy
from airflow_provider_garden.kube.bootstrap import crds
from airflow_provider_garden.kube.cloudprofile import CloudProfile
from airflow_provider_garden.kube.projects import PROJECT_API_VERSION
from airflow_provider_garden.kube.rbac import ACCOUNTS
from airflow_provider_garden.localseed.profile import local_profile

LOCAL_VALUES = {
    "cloudProfile": {
        "kubernetesVersions": list(local_profile().kubernetes_versions),
        "machineImages": {k: list(v) for k, v in local_profile().machine_images.items()},
        "seedNetworks": list(local_profile().seed_networks),
    }
}
S3_VALUES = {
    "projects": [
        {"name": "team-a", "owner": "alice", "viewers": ["vic"], "quota": {"maxShoots": 3}},
        {
            "name": "team-b",
            "owner": "bob",
            "admins": ["bob", "carol"],
            "s3Credentials": {"accessKeyID": "AKID-B", "secretAccessKey": "SECRET-B"},
        },
    ],
    "snapstore": {
        "s3": {
            "createSecret": True,
            "secretName": "backups",
            "endpoint": "https://s3.example.com",
            "accessKeyID": "AKID",
            "secretAccessKey": "SECRET",
        }
    },
}


def _is_hook(obj: dict[str, Any]) -> bool:
    return "helm.sh/hook" in (obj["metadata"].get("annotations") or {})


def _for_helm_test(obj: dict[str, Any]) -> bool:
    return (obj["metadata"].get("labels") or {}).get("app.kubernetes.io/component") == "helm-test"


def _installed(objs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The provider's objects: not the CRDs (crds/), nor what `helm test` uses."""
    return [o for o in objs if o["kind"] != "CustomResourceDefinition" and not _for_helm_test(o)]


def _without_labels(obj: dict[str, Any]) -> dict[str, Any]:
    meta = {k: v for k, v in obj["metadata"].items() if k != "labels"}
    return {**obj, "metadata": meta}


def _key(obj: dict[str, Any]) -> tuple[str, str, str]:
    return obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"]


def _install_objects(namespace: str, profile: CloudProfile) -> list[dict[str, Any]]:
    """What `install()` applies besides the CRDs and the namespace itself."""
    accounts = [m for a in ACCOUNTS for m in a.manifests(namespace)]
    return [*accounts, profile.to_configmap(namespace), *admission_policy(namespace)]


@pytest.mark.parametrize(
    "values", [{}, LOCAL_VALUES, S3_VALUES], ids=["defaults", "local-seed", "s3-projects"]
)
def test_lint_passes_strict(helm: Path, chart: Path, tmp_path: Path, values: Any) -> None:
    values_file = tmp_path / "values.yaml"
    values_file.write_text(yaml.safe_dump(values))
    out = run_helm(helm, "lint", "--strict", str(chart), "--values", str(values_file))
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("namespace", ["garden-system", "fleet-ops"])
def test_objects_equal_what_garden_install_applies(render: Render, namespace: str) -> None:
    rendered = {_key(o): _without_labels(o) for o in _installed(render(LOCAL_VALUES, namespace))}
    expected = {_key(o): o for o in _install_objects(namespace, local_profile())}
    assert rendered.keys() == expected.keys()
    for key, obj in expected.items():
        assert rendered[key] == obj, key


def test_crd_is_the_package_crd(render: Render) -> None:
    rendered = [o for o in render() if o["kind"] == "CustomResourceDefinition"]

    def by_name(crd: dict[str, Any]) -> str:
        return str(crd["metadata"]["name"])

    # helm renders crds/ in file-name order, `garden install` applies the Shoot's first
    assert sorted(rendered, key=by_name) == sorted(crds(), key=by_name)


def test_every_operator_kind_gets_an_account_and_only_its_rules(render: Render) -> None:
    objs = _installed(render())
    kinds = Counter(o["kind"] for o in objs)
    in_namespace = [a for a in ACCOUNTS if not a.per_controlplane]
    assert kinds["ServiceAccount"] == len(in_namespace)
    assert kinds["ClusterRole"] == sum(1 for a in ACCOUNTS if a.rules)
    assert kinds["ClusterRoleBinding"] == sum(1 for a in in_namespace if a.rules)
    # No wildcard anywhere, and no verb that widens access itself.
    for role in (o for o in objs if o["kind"] == "ClusterRole"):
        for rule in role["rules"]:
            assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"], role
            assert not {"escalate", "impersonate"} & set(rule["verbs"]), role
            if "bind" in rule["verbs"]:
                assert rule.get("resourceNames"), f"{role['metadata']['name']} binds any role"
    accounts = {o["metadata"]["name"]: o for o in objs if o["kind"] == "ServiceAccount"}
    assert accounts["garden-selfcheck"]["automountServiceAccountToken"] is False


def test_default_profile_configmap_is_the_one_install_writes(render: Render) -> None:
    (cm,) = [o for o in render() if o["kind"] == "ConfigMap"]
    body = json.loads(cm["data"]["profile.json"])
    profile = CloudProfile(
        kubernetes_versions=tuple(body["kubernetesVersions"]),
        machine_images={k: tuple(v) for k, v in body["machineImages"].items()},
        seed_networks=tuple(body["seedNetworks"]),
    )
    assert cm["data"] == profile.to_configmap("garden-system")["data"]
    assert body["seedNetworks"] == []


def test_projects_get_namespaces_kept_on_uninstall_and_s3_credentials(render: Render) -> None:
    objs = _installed(render(S3_VALUES))
    namespaces = {o["metadata"]["name"]: o for o in objs if o["kind"] == "Namespace"}
    assert sorted(namespaces) == ["garden-team-a", "garden-team-b"]
    for ns in namespaces.values():
        assert ns["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
        assert ns["metadata"]["labels"]["garden.airflow.io/project"] in {"team-a", "team-b"}
    secrets = [o for o in objs if o["kind"] == "Secret"]
    assert sorted(s["metadata"]["namespace"] for s in secrets) == sorted(namespaces)
    own = {"garden-team-a": ("AKID", "SECRET"), "garden-team-b": ("AKID-B", "SECRET-B")}
    for secret in secrets:
        assert secret["metadata"]["name"] == "backups"
        key, password = own[secret["metadata"]["namespace"]]  # team-b has its own
        # the file names the agent's S3 backend reads from the mounted Secret
        assert secret["stringData"] == {
            "accessKeyID": key,
            "secretAccessKey": password,
            "endpoint": "https://s3.example.com",
        }


def test_each_project_is_the_project_garden_projects_create_applies(render: Render) -> None:
    rendered = [_without_labels(o) for o in _installed(render(S3_VALUES)) if o["kind"] == "Project"]
    for obj in rendered:
        assert obj["metadata"].pop("annotations") == {"helm.sh/resource-policy": "keep"}
    argv = [
        ["team-a", "--owner", "alice", "--viewer", "vic", "--max-shoots", "3"],
        ["team-b", "--owner", "bob", "--admin", "bob", "--admin", "carol"],
    ]
    parser = build_parser()
    expected = [
        project_resource(
            requested_project(parser.parse_args(["projects", "create", *args])),
            api_version=PROJECT_API_VERSION,
        )
        for args in argv
    ]
    assert rendered == expected


def test_no_project_namespace_or_secret_by_default(render: Render) -> None:
    kinds = {o["kind"] for o in _installed(render())}
    assert not kinds & {"Namespace", "Secret", "Project"}


def test_rbac_can_be_left_to_garden_install(render: Render) -> None:
    kinds = {o["kind"] for o in _installed(render({"rbac": {"create": False}}))}
    assert kinds == {"ConfigMap"}


def test_test_hook_runs_the_toolbox_without_privileges(render: Render) -> None:
    for_test = [o for o in render() if _for_helm_test(o)]
    (pod,) = [o for o in for_test if o["kind"] == "Pod"]
    (account,) = [o for o in for_test if o["kind"] == "ServiceAccount"]
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert [o for o in render() if _is_hook(o)] == [pod]
    (container,) = pod["spec"]["containers"]
    assert container["image"] == f"localhost/garden/toolbox:{__version__}"
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert pod["spec"]["serviceAccountName"] == account["metadata"]["name"]
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    # its account has no role: discovery alone proves the CRD is served
    bound = {
        s["name"] for o in render() if o["kind"] == "ClusterRoleBinding" for s in o["subjects"]
    }
    assert account["metadata"]["name"] not in bound


def test_image_and_labels_are_configurable(render: Render) -> None:
    values = {
        "image": {"repository": "registry.example.com/garden/toolbox", "tag": "9.9.9",
                  "pullPolicy": "Never"},
        "imagePullSecrets": [{"name": "regcred"}],
        "commonLabels": {"team": "platform"},
    }  # fmt: skip
    objs = render(values)
    (pod,) = [o for o in objs if o["kind"] == "Pod"]
    assert pod["spec"]["containers"][0]["image"] == "registry.example.com/garden/toolbox:9.9.9"
    assert pod["spec"]["containers"][0]["imagePullPolicy"] == "Never"
    assert pod["spec"]["imagePullSecrets"] == [{"name": "regcred"}]
    for obj in objs:
        if obj["kind"] != "CustomResourceDefinition":
            assert obj["metadata"]["labels"]["team"] == "platform", _key(obj)


def test_a_profile_with_version_life_cycles_is_the_one_install_writes(render: Render) -> None:
    from airflow_provider_garden.cli.packaging import profile_values
    from airflow_provider_garden.kube.cloudprofile import from_json

    body = {
        "kubernetesVersions": [
            {"version": "1.33.1", "classification": "preview"},
            "1.32.13",
            {"version": "1.32.11", "classification": "deprecated",
             "expirationDate": "2027-03-01T00:00:00Z"},
        ],
        "machineImages": {"gardenlinux": [{"version": "1592.1", "classification": "expired"},
                                          "1592.2"]},
        "seedNetworks": ["10.0.0.0/16"],
    }  # fmt: skip
    profile = from_json(body)
    [rendered] = [o for o in render(profile_values(profile)) if o["kind"] == "ConfigMap"]
    assert rendered["data"] == profile.to_configmap("garden-system")["data"]
