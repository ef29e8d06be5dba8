"""Whether a seed can serve the provider: what a connection's Test button checks.

Three things every garden task needs, each judged on its own so that one answer names
all that is missing: the provider's CustomResourceDefinitions are served (one discovery
request for the group version), the CloudProfile is readable and parses, and this
client may create pods in the provider's namespace (a SelfSubjectAccessReview, which
creates nothing). A request that fails for any other reason (unreachable server, 401,
5xx) is raised: the seed was not judged.
"""

from __future__ import annotations

from dataclasses import dataclass

from airflow_provider_garden.core.crds import API_VERSION, CRDS
from airflow_provider_garden.kube import cloudprofile
from airflow_provider_garden.kube.client import KubeClient
from airflow_provider_garden.kube.errors import Forbidden, NotFound

#: said once, after the problems an install would fix
INSTALL_HINT = (
    "install the provider there: `garden install --namespace NAMESPACE` or the Helm chart"
)


@dataclass(frozen=True)
class SeedCheck:
    """What was found: ``missing`` is empty when the seed is ready; ``found`` says what is."""

    missing: tuple[str, ...]
    found: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.missing


def check_seed(kube: KubeClient, namespace: str) -> SeedCheck:
    """Judge the seed behind `kube` for a provider installed into `namespace`."""
    missing: list[str] = []
    found: list[str] = []
    crds, profile = _crds_served(kube), _cloudprofile_readable(kube, namespace)
    for problem, fact in (crds, profile, _pods_creatable(kube, namespace)):
        if problem:
            missing.append(problem)
        if fact:
            found.append(fact)
    if crds[0] or (profile[0] or "").startswith("CloudProfile missing"):
        missing.append(INSTALL_HINT.replace("NAMESPACE", namespace))
    return SeedCheck(tuple(missing), tuple(found))


def _crds_served(kube: KubeClient) -> tuple[str | None, str | None]:
    try:
        served = {r["name"] for r in kube.raw("GET", f"/apis/{API_VERSION}")["resources"]}
    except NotFound:
        served = set()  # not one kind of the group version is served
    absent = [crd for crd in CRDS if crd.plural not in served]
    names = ", ".join(crd.name for crd in CRDS)
    if absent:
        listed = ", ".join(f"{crd.name} ({crd.kind})" for crd in absent)
        return f"CRD not served ({API_VERSION}): {listed}", None
    return None, f"CRDs served: {names}"


def _cloudprofile_readable(kube: KubeClient, namespace: str) -> tuple[str | None, str | None]:
    where = f"ConfigMap {namespace}/{cloudprofile.CONFIGMAP}"
    try:
        profile = cloudprofile.read(kube, namespace)
    except Forbidden as err:
        return f"CloudProfile not readable: {where}: {err.message}", None
    except (ValueError, KeyError, TypeError) as err:  # before LookupError: KeyError is one
        return f"CloudProfile does not parse: {where}: {type(err).__name__} {err}", None
    except LookupError:
        return f"CloudProfile missing: {where} does not exist", None
    versions = ", ".join(profile.kubernetes_versions[:3])
    more = "..." if len(profile.kubernetes_versions) > 3 else ""
    return None, f"CloudProfile {where} offers Kubernetes {versions}{more}"


def _pods_creatable(kube: KubeClient, namespace: str) -> tuple[str | None, str | None]:
    review = kube.create(
        {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "metadata": {},
            "spec": {
                "resourceAttributes": {"namespace": namespace, "verb": "create", "resource": "pods"}
            },
        }
    )
    status = review.get("status") or {}
    if status.get("allowed"):
        return None, f"pods creatable in namespace {namespace}"
    why = status.get("reason") or status.get("evaluationError") or "no rule allows it"
    return (
        f"pods not creatable: this connection's identity may not create pods in namespace "
        f"{namespace} (SelfSubjectAccessReview: {why})",
        None,
    )
