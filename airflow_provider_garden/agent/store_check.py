"""Whether a shoot's S3 snapshot store answers, checked before reconcile deploys anything.

The agent reads the credentials Secret the spec names (Pods would mount it; here
its files are written to a private temporary directory for the store client).
A store that does not answer is ERR_INFRA_DEPENDENCIES, a bucket that does not
exist ERR_CONFIGURATION_PROBLEM; other answers (403, 500) stay unexplained.
"""

from __future__ import annotations

import base64
import tempfile
from collections.abc import Mapping
from pathlib import Path

from botocore.exceptions import ConnectionError as NoConnection
from botocore.exceptions import HTTPClientError

from airflow_provider_garden.core.error_codes import Cause, KnownCause
from airflow_provider_garden.core.shoot_spec import SnapstoreRef
from airflow_provider_garden.snapstore.protocol import ObjectNotFoundError, SnapStoreError
from airflow_provider_garden.snapstore.s3 import S3Store


def check_s3_store(store: SnapstoreRef, secret_data: Mapping[str, str]) -> None:
    """Raise KnownCause when the store does not answer or its bucket does not exist."""
    with tempfile.TemporaryDirectory(prefix="garden-store-") as tmp:
        for key, value in secret_data.items():
            path = Path(tmp) / key
            path.write_bytes(base64.b64decode(value))
            path.chmod(0o600)
        client = S3Store(bucket=store.bucket or "", prefix=store.prefix, secret_dir=Path(tmp))
        try:
            client.check()
        except ObjectNotFoundError as err:
            raise KnownCause(
                Cause.INVALID_SPEC,
                f"spec.backup.store.bucket: bucket {store.bucket!r} does not exist "
                f"at {client.endpoint or 'the default endpoint'}",
            ) from err
        except SnapStoreError as err:
            # Refused, timed out, reset: no answer at all (not an answer saying no).
            if isinstance(err.__cause__, (NoConnection, HTTPClientError)):
                raise KnownCause(
                    Cause.SNAPSTORE_UNREACHABLE,
                    f"snapshot store {client.endpoint or 'at the default endpoint'} "
                    f"does not answer: {err.__cause__}",
                ) from err
            raise
