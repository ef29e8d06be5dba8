"""Which kubectl the agent runs.

In the toolbox image the one on PATH is the seed's own build (/usr/local/bin).
On a host, the agent runs from the project's venv, where hack/prereqs.sh linked
the seed's kubectl beside the interpreter; a machine's own kubectl (another
version, another kustomize) is never picked before those.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

KUBECTL_ENV = "GARDEN_KUBECTL"


def kubectl() -> str:
    """$GARDEN_KUBECTL, else the kubectl beside this interpreter, else `kubectl` on PATH."""
    configured = os.environ.get(KUBECTL_ENV)
    if configured:
        return configured
    beside = Path(sys.executable).with_name("kubectl")
    if beside.exists():
        return str(beside)
    return "kubectl"
