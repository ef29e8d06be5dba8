"""The installation id: which Airflow launched a pod, so that only that Airflow reaps it.

Several Airflow installations may share one seed, with the same DAG ids. Every
operator pod carries ``[garden] instance`` as a label, and the orphan reaper of an
installation lists and judges only pods with its own id.

Unset, the id is derived from the Airflow deployment: what defines one installation
is its metadata database, so the id is a digest of that database's address (scheme,
host, port, database; never the user or password, so rotating credentials keeps it).
Every worker of an installation reads the same ``[database] sql_alchemy_conn`` and so
derives the same id, across restarts. Set ``[garden] instance`` explicitly when workers
do not all see that setting, or to keep the id when the database moves.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import urlsplit

#: Kubernetes label values: at most 63 characters, alphanumeric at both ends.
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)")
_PREFIX = "airflow-"


def derive_instance(database_url: str) -> str:
    """``airflow-<12 hex>`` from the metadata database's address, credentials left out."""
    parts = urlsplit(database_url.strip())
    try:
        port = parts.port
    except ValueError:  # not a number: keep the text as it is, it still names the database
        port = None
    where = f"{parts.scheme}://{parts.hostname or ''}:{port or ''}{parts.path}"
    return _PREFIX + hashlib.sha256(where.encode()).hexdigest()[:12]


def instance_problem(value: str) -> str | None:
    """Why ``value`` cannot be an installation id (a label value); None when it can."""
    if not _LABEL_VALUE.fullmatch(value):
        return (
            "must be a Kubernetes label value: at most 63 letters, digits, '-', '_' or '.', "
            f"starting and ending with a letter or digit, got {value!r}"
        )
    return None
