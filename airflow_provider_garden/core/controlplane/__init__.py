"""A shoot's control plane in the seed: its Secrets (secrets.py) and manifests (manifests.py)."""
