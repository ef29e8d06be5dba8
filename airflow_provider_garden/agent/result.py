"""How a verb hands its small JSON result back to the operator.

Two channels, both without a sidecar: the XCom file the KubernetesPodOperator
reads (`/airflow/xcom/return.json`, when that directory is mounted) and the
container's termination message, which survives the container exiting.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

XCOM_FILE = Path(os.environ.get("GARDEN_XCOM_FILE", "/airflow/xcom/return.json"))
TERMINATION_LOG = Path(os.environ.get("GARDEN_TERMINATION_LOG", "/dev/termination-log"))
# The kubelet keeps at most 4096 bytes of termination message per container.
TERMINATION_LIMIT = 4096


def emit(result: dict[str, Any]) -> str:
    """Write `result` to every channel that exists here; return the JSON text."""
    text = json.dumps(result, sort_keys=True, separators=(",", ":"))
    if XCOM_FILE.parent.is_dir():
        XCOM_FILE.write_text(text)
    if TERMINATION_LOG.parent.is_dir() and len(text.encode()) <= TERMINATION_LIMIT:
        # Not running under a kubelet (a shell run): stdout is enough.
        with contextlib.suppress(OSError):
            TERMINATION_LOG.write_text(text)
    return text
