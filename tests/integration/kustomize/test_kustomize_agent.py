"""`garden-agent kustomize` from the host against the real seed: the apply semantics."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest
from kustomize_helpers import Agent, kubectl

from airflow_provider_garden.core.kustomize_pack import pack
from airflow_provider_garden.core.kustomize_source import SourceLimits, scan_tree
from airflow_provider_garden.kube.dynamic import DynamicClient

pytestmark = pytest.mark.integration
PROD = "overlays/production"


def deployment(seed: DynamicClient, namespace: str, name: str = "hello-the-deployment") -> dict:
    obj = seed.read(seed.resource("apps/v1", "Deployment"), name, namespace)
    assert obj is not None
    return obj


def test_article_overlays_carry_labels_prefix_and_patch(
    agent: Agent, seed: DynamicClient, someapp: Path, namespace: str
) -> None:
    result = agent("apply", "--overlay", PROD, source=someapp).result
    assert result["counts"]["create"] == 3
    assert sorted(result["applied"]) == [
        f"ConfigMap/{namespace}/hello-the-map",
        f"Deployment/{namespace}/hello-the-deployment",
        f"Service/{namespace}/hello-the-service",
    ]
    dep = deployment(seed, namespace)
    assert dep["metadata"]["labels"] == {"app": "hello", "env": "production"}
    assert dep["metadata"]["annotations"]["note"] == "the article's example"
    assert dep["spec"]["replicas"] == 3
    assert dep["status"]["availableReplicas"] == 3  # waited for rollout health
    svc = seed.read(seed.resource("v1", "Service"), "hello-the-service", namespace)
    assert svc is not None
    assert svc["spec"]["selector"] == {"app": "hello", "env": "production", "deployment": "hello"}

    # staging into its own namespace: a different variant of the same base
    staging_ns = f"{namespace}-staging"
    kubectl(agent.kubeconfig, "create", "namespace", staging_ns)
    try:
        staging = Agent(agent.kubeconfig, staging_ns)
        assert staging("apply", "--overlay", "overlays/staging", source=someapp).result["changed"]
        dep = deployment(seed, staging_ns)
        assert dep["metadata"]["labels"]["env"] == "staging"
        [container] = dep["spec"]["template"]["spec"]["containers"]
        assert container["resources"]["limits"]["cpu"] == "100m"
    finally:
        kubectl(agent.kubeconfig, "delete", "namespace", staging_ns, "--wait=false")
        kubectl(
            agent.kubeconfig,
            "-n",
            "kube-system",
            "delete",
            "configmap",
            f"garden-inventory-{staging_ns}",
        )


def test_diff_reports_no_change_then_the_edit_and_applies_nothing(
    agent: Agent, seed: DynamicClient, someapp: Path, namespace: str
) -> None:
    agent.ok("apply", "--overlay", PROD, source=someapp)
    unchanged = agent("diff", "--overlay", PROD, source=someapp).result
    assert unchanged["changed"] is False
    assert unchanged["diff"] == []
    assert unchanged["counts"]["unchanged"] == 3

    patch = someapp / PROD / "replica_count.yaml"
    patch.write_text(patch.read_text().replace("replicas: 3", "replicas: 2"))
    before = deployment(seed, namespace)["metadata"]["resourceVersion"]
    edited = agent("diff", "--overlay", PROD, source=someapp)
    assert edited.result["changed"] is True
    assert edited.result["diff"] == [
        f"~ Deployment/{namespace}/hello-the-deployment: spec.replicas"
    ]
    assert "dry-run: ~ Deployment" in edited.stderr  # the diff is logged too
    after = deployment(seed, namespace)
    assert after["spec"]["replicas"] == 3
    assert after["metadata"]["resourceVersion"] == before


def test_crd_and_custom_resource_apply_in_one_run(
    agent: Agent, seed: DynamicClient, tmp_path: Path, namespace: str
) -> None:
    group = f"g{uuid.uuid4().hex[:8]}.garden.test"
    (tmp_path / "kustomization.yaml").write_text("resources: [widget.yaml, crd.yaml]\n")
    (tmp_path / "widget.yaml").write_text(
        f"apiVersion: {group}/v1\nkind: Widget\nmetadata: {{name: w1}}\nspec: {{size: 3}}\n"
    )
    (tmp_path / "crd.yaml").write_text(
        f"""apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {{name: widgets.{group}}}
spec:
  group: {group}
  scope: Namespaced
  names: {{plural: widgets, singular: widget, kind: Widget}}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {{type: object, properties: {{size: {{type: integer}}}}}}
"""
    )
    crds = seed.resource("apiextensions.k8s.io/v1", "CustomResourceDefinition")
    try:
        diff = agent("diff", source=tmp_path).result
        assert f"+ Widget/{namespace}/w1 (its CRD is new)" in diff["diff"]
        result = agent("apply", source=tmp_path).result
        assert result["applied"] == [
            f"CustomResourceDefinition/widgets.{group}",
            f"Widget/{namespace}/w1",
        ]
        widget = seed.read(seed.resource(f"{group}/v1", "Widget"), "w1", namespace)
        assert widget is not None
        assert widget["spec"] == {"size": 3}
    finally:
        seed.delete_object(crds, f"widgets.{group}")


def test_prune_deletes_only_what_the_inventory_lists(
    agent: Agent, seed: DynamicClient, someapp: Path, namespace: str
) -> None:
    base = someapp / "base"
    (base / "extra.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\ndata: {a: b}\n"
    )
    (base / "kustomization.yaml").write_text(
        (base / "kustomization.yaml").read_text() + "- extra.yaml\n"
    )
    agent.ok("apply", "--overlay", PROD, source=someapp)
    # same labels as the managed objects, but never applied by this inventory
    kubectl(
        agent.kubeconfig,
        "-n",
        namespace,
        "create",
        "configmap",
        "hello-unmanaged",
        "--from-literal=a=b",
    )
    kubectl(
        agent.kubeconfig,
        "-n",
        namespace,
        "label",
        "configmap",
        "hello-unmanaged",
        "app=hello",
        "env=production",
    )

    (base / "kustomization.yaml").write_text(
        (base / "kustomization.yaml").read_text().replace("- extra.yaml\n", "")
    )
    without_prune = agent("apply", "--overlay", PROD, source=someapp).result
    assert without_prune["kept"] == [f"ConfigMap/{namespace}/hello-extra"]
    configmaps = seed.resource("v1", "ConfigMap")
    assert seed.read(configmaps, "hello-extra", namespace) is not None

    would = agent("diff", "--overlay", PROD, "--prune", source=someapp).result
    assert would["diff"] == [f"- ConfigMap/{namespace}/hello-extra"]
    assert seed.read(configmaps, "hello-extra", namespace) is not None

    pruned = agent("apply", "--overlay", PROD, "--prune", source=someapp).result
    assert pruned["pruned"] == [f"ConfigMap/{namespace}/hello-extra"]
    assert seed.read(configmaps, "hello-extra", namespace) is None
    assert seed.read(configmaps, "hello-unmanaged", namespace) is not None
    assert seed.read(configmaps, "hello-the-map", namespace) is not None


def test_namespaces_are_not_pruned_unless_allowed(
    agent: Agent, seed: DynamicClient, tmp_path: Path, namespace: str
) -> None:
    extra = f"{namespace}-x"
    (tmp_path / "kustomization.yaml").write_text("resources: [ns.yaml]\n")
    (tmp_path / "ns.yaml").write_text(
        f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {extra}}}\n"
    )
    namespaces = seed.resource("v1", "Namespace")
    try:
        agent.ok("apply", source=tmp_path)
        (tmp_path / "kustomization.yaml").write_text("resources: []\n")
        kept = agent("apply", "--prune", source=tmp_path).result
        assert kept["kept"] == [f"Namespace/{extra}"]
        assert kept["pruned"] == []
        live = seed.read(namespaces, extra)
        assert live is not None
        assert "deletionTimestamp" not in live["metadata"]
        allowed = agent("apply", "--prune", "--prune-allow-kind", "Namespace", source=tmp_path)
        assert allowed.result["pruned"] == [f"Namespace/{extra}"]
        gone = seed.read(namespaces, extra)
        assert gone is None or "deletionTimestamp" in gone["metadata"]
    finally:
        seed.delete_object(namespaces, extra)


def test_immutable_field_fails_naming_it_then_recreates_when_opted_in(
    agent: Agent, seed: DynamicClient, someapp: Path, namespace: str
) -> None:
    agent.ok("apply", "--overlay", PROD, source=someapp)
    uid = deployment(seed, namespace)["metadata"]["uid"]
    dep = someapp / "base" / "deployment.yaml"
    dep.write_text(dep.read_text().replace("deployment: hello", "deployment: hello-v2"))
    cm = someapp / "base" / "configMap.yaml"
    cm.write_text(cm.read_text().replace("Good Morning!", "Good Evening!"))

    refused = agent("apply", "--overlay", PROD, source=someapp)
    assert refused.returncode != 0
    assert (
        f"Deployment/{namespace}/hello-the-deployment: immutable field(s) changed: "
        "spec.selector (field is immutable)" in refused.stderr
    )
    # refused before anything of the phase changed: the ConfigMap edit is not there either
    live_cm = seed.read(seed.resource("v1", "ConfigMap"), "hello-the-map", namespace)
    assert live_cm is not None
    assert live_cm["data"]["altGreeting"] == "Good Morning!"

    result = agent(
        "apply", "--overlay", PROD, "--recreate-on-immutable", "Deployment", source=someapp
    ).result
    assert result["counts"]["recreate"] == 1
    recreated = deployment(seed, namespace)
    assert recreated["metadata"]["uid"] != uid
    assert recreated["spec"]["selector"]["matchLabels"]["deployment"] == "hello-v2"


def test_conflicts_fail_naming_fields_unless_forced(
    agent: Agent, seed: DynamicClient, someapp: Path, namespace: str
) -> None:
    agent.ok("apply", "--overlay", PROD, source=someapp)
    kubectl(
        agent.kubeconfig,
        "apply",
        "--server-side",
        "--force-conflicts",
        "--field-manager=someone-else",
        "-f",
        "-",
        stdin=f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: hello-the-deployment, "
        f"namespace: {namespace}}}\nspec: {{replicas: 1}}\n",
    )
    refused = agent("apply", "--overlay", PROD, source=someapp)
    assert refused.returncode != 0
    assert ".spec.replicas (owned by someone-else)" in refused.stderr
    assert deployment(seed, namespace)["spec"]["replicas"] == 1

    forced = agent("apply", "--overlay", PROD, "--force-conflicts", source=someapp).result
    assert forced["diff"] == [f"~ Deployment/{namespace}/hello-the-deployment: spec.replicas"]
    assert deployment(seed, namespace)["spec"]["replicas"] == 3


def test_secret_values_never_reach_output(agent: Agent, tmp_path: Path, namespace: str) -> None:
    canary = f"canary-{uuid.uuid4().hex}"
    kustomization = tmp_path / "kustomization.yaml"
    kustomization.write_text(
        "generatorOptions: {disableNameSuffixHash: true}\n"
        f"secretGenerator: [{{name: creds, literals: [password={canary}-1]}}]\n"
    )
    first = agent("apply", source=tmp_path)
    kustomization.write_text(kustomization.read_text().replace("-1]", "-2]"))
    diff = agent("diff", source=tmp_path)
    second = agent("apply", source=tmp_path)
    assert diff.result["diff"] == [f"~ Secret/{namespace}/creds: data.password"]
    for run in (first, diff, second):
        assert canary not in run.stdout + run.stderr


def test_unhealthy_workloads_are_named(agent: Agent, tmp_path: Path, namespace: str) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: [d.yaml]\n")
    (tmp_path / "d.yaml").write_text(
        """apiVersion: apps/v1
kind: Deployment
metadata: {name: never}
spec:
  selector: {matchLabels: {a: never}}
  template:
    metadata: {labels: {a: never}}
    spec:
      containers: [{name: c, image: garden.invalid/none:1, imagePullPolicy: Never}]
"""
    )
    run = agent("apply", "--wait-timeout", "5", source=tmp_path)
    assert run.returncode != 0
    assert f"not healthy after 5s: Deployment/{namespace}/never: " in run.stderr


def test_remote_bases_are_refused_before_anything(agent: Agent, someapp: Path) -> None:
    k = someapp / PROD / "kustomization.yaml"
    remote = "- https://github.com/kubernetes-sigs/kustomize//examples\n"
    k.write_text(k.read_text().replace("- ../../base\n", "- ../../base\n" + remote))
    run = agent("apply", "--overlay", PROD, source=someapp)
    assert run.returncode != 0
    assert "is a remote base; remote bases are off" in run.stderr


def test_archive_and_git_sources(
    agent: Agent, seed: DynamicClient, someapp: Path, tmp_path: Path, namespace: str
) -> None:
    archive = tmp_path / "source.tar.gz"
    archive.write_bytes(pack(scan_tree(someapp, SourceLimits())))
    result = agent("diff", "--source-archive", str(archive), "--overlay", PROD).result
    assert result["counts"]["create"] == 3

    repo = tmp_path / "repo"
    (repo / "deploy").mkdir(parents=True)
    subprocess.run(["cp", "-r", str(someapp), str(repo / "deploy")], check=True)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "someapp"], check=True)
    subprocess.run([*git, "tag", "v1"], check=True)
    for ref in (
        "v1",
        subprocess.run(
            [*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip(),
    ):
        result = agent(
            "apply",
            "--git-url",
            f"file://{repo}",
            "--git-ref",
            ref,
            "--git-path",
            "deploy/someapp",
            "--overlay",
            PROD,
        ).result
        assert result["counts"]["applied"] + result["counts"]["unchanged"] == 3
    assert deployment(seed, namespace)["spec"]["replicas"] == 3


def test_a_refused_object_never_enters_the_inventory(
    agent: Agent, seed: DynamicClient, someapp: Path, namespace: str
) -> None:
    agent.ok("apply", "--overlay", PROD, source=someapp)
    kubectl(
        agent.kubeconfig,
        "apply",
        "--server-side",
        "--field-manager=someone-else",
        "-f",
        "-",
        stdin=f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: hello-theirs, "
        f"namespace: {namespace}}}\ndata: {{a: theirs}}\n",
    )
    base = someapp / "base"
    (base / "theirs.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: theirs}\ndata: {a: ours}\n"
    )
    kustomization = base / "kustomization.yaml"
    original = kustomization.read_text()
    kustomization.write_text(original + "- theirs.yaml\n")
    refused = agent("apply", "--overlay", PROD, source=someapp)
    assert refused.returncode != 0
    assert ".data.a (owned by someone-else)" in refused.stderr

    kustomization.write_text(original)
    result = agent.ok("apply", "--overlay", PROD, "--prune", source=someapp)
    assert result["pruned"] == []
    theirs = seed.read(seed.resource("v1", "ConfigMap"), "hello-theirs", namespace)
    assert theirs is not None
    assert theirs["data"] == {"a": "theirs"}
