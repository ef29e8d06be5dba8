"""What the seed itself enforces on the provider's accounts, beyond their RBAC.

RBAC says which verbs an account has; several are cluster-wide because control planes
live in namespaces made at run time. The API server then confines them:

- a ValidatingAdmissionPolicy: a provider account (a ServiceAccount named ``garden-*``,
  in the provider's namespace or a control plane's) writes only in control-plane
  namespaces (``shoot--*``), project namespaces (``garden-*``) and its own namespace;
  it deletes no namespace but a control plane's; in a project namespace the only
  Secrets it writes are kubeconfigs (``*.kubeconfig``) and the etcd encryption keys a
  teardown keeps beside a deleted shoot's snapshots (``kept-etcd-encryption-*``); a
  Namespace it creates or changes keeps Pod Security ``enforce`` at ``baseline`` or
  stricter (else it could make or relabel a namespace ``privileged`` and start a
  privileged pod there). ``garden-kustomize`` is left out: what its overlays may change
  is bound to it by the seed's admins.
- Pod Security Admission ``baseline`` on every namespace the provider makes: no
  privileged pod, host namespace, hostPath or added capability, whoever creates it.

Both are plain manifests: `garden install` applies them and the chart renders them.
"""

from __future__ import annotations

from typing import Any

from .kept_backups import KEPT_KEY_PREFIX

POLICY_NAME = "garden-accounts-confined"
CONTROLPLANE_PREFIX = "shoot--"
PROJECT_PREFIX = "garden-"
UNCONFINED_ACCOUNTS = ("garden-kustomize",)

#: labels of every namespace the provider makes (control planes, projects, its own)
POD_SECURITY_LABELS = {
    "pod-security.kubernetes.io/enforce": "baseline",
    "pod-security.kubernetes.io/enforce-version": "latest",
}

#: the Pod Security levels a provider account may leave on a namespace it writes
ENFORCED_LEVELS = ("baseline", "restricted")
_ENFORCE = "pod-security.kubernetes.io/enforce"

_ACCOUNT = "request.userInfo.username.split(':')"
_MATCH_PROVIDER_ACCOUNT = (
    "request.userInfo.username.startsWith('system:serviceaccount:') && "
    f"{_ACCOUNT}.size() == 4 && {_ACCOUNT}[3].startsWith('garden-') && "
    f"!({_ACCOUNT}[3] in {list(UNCONFINED_ACCOUNTS)!r})"
)
# The namespace a request writes in: a Namespace's own name; '' for other cluster objects
# (their requests carry no namespace key at all: reading it would fail the request).
_WRITES_IN = (
    "request.kind.kind == 'Namespace' ? request.name : "
    "(has(request.namespace) ? request.namespace : '')"
)
_IN_PROJECT = f"variables.ns != variables.home && variables.ns.startsWith('{PROJECT_PREFIX}')"


def admission_policy(namespace: str | None = None) -> list[dict[str, Any]]:
    """The ValidatingAdmissionPolicy confining the provider's accounts, and its binding.

    Named after the installation's ``namespace`` (cluster objects of two installations on
    one seed must not be one object: either's uninstall would remove the other's); the
    chart's generated file holds them unnamed-by-namespace and its template prefixes it.
    """
    name = f"{namespace}.{POLICY_NAME}" if namespace else POLICY_NAME
    validations = [
        {
            "expression": (
                "variables.ns == '' || variables.ns == variables.home || "
                f"variables.ns.startsWith('{CONTROLPLANE_PREFIX}') || "
                f"variables.ns.startsWith('{PROJECT_PREFIX}')"
            ),
            "messageExpression": (
                "variables.account + ' may write only in shoot--*, garden-* and its own "
                "namespace ' + variables.home + ', not in ' + variables.ns"
            ),
            "reason": "Forbidden",
        },
        {
            "expression": (
                "!(request.kind.kind == 'Namespace' && request.operation == 'DELETE') || "
                f"variables.ns.startsWith('{CONTROLPLANE_PREFIX}')"
            ),
            "messageExpression": (
                "variables.account + ' may delete only control-plane namespaces (shoot--*), "
                "not ' + variables.ns"
            ),
            "reason": "Forbidden",
        },
        {
            "expression": (
                f"request.kind.kind != 'Secret' || !({_IN_PROJECT}) || "
                "request.name.endsWith('.kubeconfig') || "
                f"request.name.startsWith('{KEPT_KEY_PREFIX}')"
            ),
            "messageExpression": (
                "variables.account + ' may write only Secrets named *.kubeconfig or "
                f"{KEPT_KEY_PREFIX}* in project namespace ' + variables.ns + ', not ' + "
                "request.name"
            ),
            "reason": "Forbidden",
        },
        {
            "expression": (
                "request.kind.kind != 'Namespace' || request.operation == 'DELETE' || "
                f"(has(object.metadata.labels) && '{_ENFORCE}' in object.metadata.labels && "
                f"object.metadata.labels['{_ENFORCE}'] in {list(ENFORCED_LEVELS)!r})"
            ),
            "messageExpression": (
                "variables.account + ' may leave namespace ' + variables.ns + ' only with "
                f"label {_ENFORCE} set to {' or '.join(ENFORCED_LEVELS)}'"
            ),
            "reason": "Forbidden",
        },
    ]
    policy = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": ["*"],
                        "apiVersions": ["*"],
                        "resources": ["*/*"],  # every resource and subresource
                        "operations": ["CREATE", "UPDATE", "DELETE"],
                    }
                ]
            },
            "matchConditions": [
                {"name": "provider-account", "expression": _MATCH_PROVIDER_ACCOUNT}
            ],
            "variables": [
                {"name": "account", "expression": "request.userInfo.username"},
                {"name": "home", "expression": f"{_ACCOUNT}[2]"},
                {"name": "ns", "expression": _WRITES_IN},
            ],
            "validations": validations,
        },
    }
    binding = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name},
        "spec": {"policyName": name, "validationActions": ["Deny"]},
    }
    return [policy, binding]
