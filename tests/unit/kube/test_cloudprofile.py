"""A CloudProfile's offer is what a spec is validated against."""

from __future__ import annotations

from airflow_provider_garden.core.shoot_spec import parse_shoot
from airflow_provider_garden.core.validation import validate
from airflow_provider_garden.kube.cloudprofile import CloudProfile

SHOOT = {
    "metadata": {"namespace": "garden-p", "name": "s"},
    "spec": {
        "kubernetes": {"version": "1.32.3"},
        "networking": {"pods": "10.244.0.0/16", "services": "10.245.0.0/16"},
        "workers": [
            {
                "name": "pool",
                "machine": {"type": "kwok", "image": {"name": "kwok", "version": "1.0"}},
                "minimum": 1,
                "maximum": 1,
            }
        ],
    },
}


def test_the_offer_names_versions_images_and_reserved_networks() -> None:
    profile = CloudProfile(
        kubernetes_versions=("1.33.1",),
        machine_images={"kwok": ("2.0",)},
        seed_networks=("10.244.0.0/16",),
    )
    errors = {e.path: str(e) for e in validate(parse_shoot(SHOOT), **profile.offer())}
    assert "'1.32.3' is not offered" in errors["spec.kubernetes.version"]
    assert "spec.workers[0].machine.image.version" in errors
    assert "spec.networking.pods" in errors
    matching = CloudProfile(
        kubernetes_versions=("1.32.3",), machine_images={"kwok": ("1.0",)}, seed_networks=()
    )
    assert validate(parse_shoot(SHOOT), **matching.offer()) == []
