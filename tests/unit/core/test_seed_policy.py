"""The seed's own confinement of the provider's accounts: one policy per installation,
Pod Security on the namespaces the provider makes."""

from __future__ import annotations

from airflow_provider_garden.core.seed_policy import admission_policy


def test_each_installation_has_its_own_policy_and_binding() -> None:
    policy, binding = admission_policy("fleet-ops")
    assert policy["metadata"]["name"] == "fleet-ops.garden-accounts-confined"
    assert binding["spec"] == {
        "policyName": policy["metadata"]["name"],
        "validationActions": ["Deny"],
    }
    assert policy["spec"]["failurePolicy"] == "Fail"
    [match] = policy["spec"]["matchConditions"]
    assert "'garden-kustomize'" in match["expression"]  # its rights are the seed admins' choice
