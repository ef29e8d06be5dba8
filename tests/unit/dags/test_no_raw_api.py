"""DAGs do no raw API I/O: they call named functions of ``kube/`` or methods of ``hooks/``.

import-linter keeps ``kubernetes`` and ``kube.client`` out of the DAGs' imports; this
test catches what an import rule cannot see: a raw client reached through an
attribute (``hook.kube.merge_patch(...)``), or a verb on an arbitrary resource.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[3] / "dags"

# Verbs of the raw client (kube.client.KubeClient) and of the kubernetes package.
RAW_ONLY_VERBS = {"merge_patch", "raw", "wait_for", "patch_namespaced_custom_object"}
RESOURCE_VERBS = {"create", "replace", "delete", "get", "list", "find", "apply"}
RAW_CONSTRUCTORS = re.compile(r"^(ApiClient|KubeClient|[A-Z]\w*V\d\w*Api|CustomObjectsApi)$")
# "v1", "apps/v1", "garden.airflow.io/v1alpha1": the first argument of a raw verb.
API_VERSION = re.compile(r"^([a-z0-9.-]+/)?v\d+((alpha|beta)\d+)?$")


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


class _RawCalls(ast.NodeVisitor):
    def __init__(self) -> None:
        self.found: list[tuple[int, str]] = []
        self.raw_names: set[str] = set()  # variables bound to the raw client

    def _is_raw_client(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Attribute) and node.attr == "kube":
            return True
        if isinstance(node, ast.Name):
            return node.id in self.raw_names or bool(RAW_CONSTRUCTORS.match(node.id))
        if isinstance(node, ast.Call):
            return bool(RAW_CONSTRUCTORS.match(_name(node.func) or "")) or (
                isinstance(node.func, ast.Attribute) and self._is_raw_client(node.func.value)
            )
        return False

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        called = _name(func) or ""
        if RAW_CONSTRUCTORS.match(called):
            self.found.append((node.lineno, f"constructs the raw client {called}"))
        elif isinstance(func, ast.Attribute):
            first = node.args[0] if node.args else None
            on_version = (
                isinstance(first, ast.Constant)
                and isinstance(first.value, str)
                and bool(API_VERSION.match(first.value))
            )
            if self._is_raw_client(func.value):
                self.found.append((node.lineno, f"calls {called} on the raw client"))
            elif called in RAW_ONLY_VERBS:
                self.found.append((node.lineno, f"calls the raw verb {called}"))
            elif called in RESOURCE_VERBS and on_version:
                self.found.append((node.lineno, f"calls {called} on an arbitrary resource"))
        self.generic_visit(node)


def raw_calls(source: str) -> list[tuple[int, str]]:
    visitor = _RawCalls()
    tree = ast.parse(source)
    # Bind aliases first (``kube = hook.kube`` may come before or after its use).
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and visitor._is_raw_client(node.value):
            visitor.raw_names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    visitor.visit(tree)
    return visitor.found


@pytest.mark.parametrize("path", sorted(DAGS.glob("*.py")), ids=lambda p: p.name)
def test_dag_makes_no_raw_api_call(path: Path) -> None:
    found = raw_calls(path.read_text())
    assert not found, f"{path.name} does raw API I/O (use kube/ or hooks/): " + "; ".join(
        f"line {line}: {what}" for line, what in found
    )


@pytest.mark.parametrize(
    "source",
    [
        "hook.kube.merge_patch('garden.airflow.io/v1alpha1', 'Shoot', n, body, ns)",
        "GardenHook().kube.get('v1', 'Secret', 'x', 'ns')",
        "kube = hook.kube\nkube.delete('v1', 'Namespace', 'garden-a')",
        "client.create({'apiVersion': 'v1'})\nclient = hook.kube",
        "hook.shoots.kube.list('v1', 'Pod')",
        "k8s_client.ApiClient()",
        "CoreV1Api(api).list_namespaced_pod('ns')",
        "KubeClient.from_kubeconfig().apply(manifest)",
        "anything.merge_patch('Shoot', n, body)",
        "seed.get('apps/v1', 'Deployment', 'x', 'ns')",
    ],
)
def test_checker_flags_raw_calls(source: str) -> None:
    assert raw_calls(source), source


@pytest.mark.parametrize(
    "source",
    [
        "hook.shoots.list()",
        "hook.shoots.status(project, name)",
        "hook.shoots.record_maintenance(project, name, record)",
        "cloudprofile.read(hook.kube, settings.namespace)",
        "(shoot.get('status') or {}).get('kubernetesVersion')",
        "dataclasses.replace(spec, kubernetes_version=v)",
        "text.replace('v', '')",
    ],
)
def test_checker_leaves_typed_calls_alone(source: str) -> None:
    assert raw_calls(source) == [], source
