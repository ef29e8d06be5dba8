"""What Airflow stores encrypted, decrypted with Airflow's own Fernet for a leak search.

Airflow encrypts connection passwords and extras, variables and trigger arguments
before they reach the metadata database, so a search of the database's files sees
only Fernet tokens there. These helpers find the tokens (in the live text columns,
and in raw bytes: rows deleted since, such as the triggers that fired, stay in the
heap and the WAL until vacuumed) and decrypt them with the stack's key through
`airflow.models.crypto.get_fernet`, the function Airflow itself encrypts with.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy

FERNET_ENV = "AIRFLOW__CORE__FERNET_KEY"
# A Fernet token: version byte 0x80 and a timestamp whose first bytes are zero for the
# next centuries, so base64url "gAAAAA", then at least one block of ciphertext and HMAC.
TOKEN = re.compile(rb"gAAAAA[A-Za-z0-9_\-]{70,}={0,2}")
TEXT_TYPES = ("text", "character varying", "json", "jsonb")


@contextmanager
def airflow_fernet(key: str) -> Iterator[Any]:
    """Airflow's own Fernet (`get_fernet`) with `key`, as the stack's processes have it."""
    from airflow.models.crypto import get_fernet

    previous = os.environ.get(FERNET_ENV)
    os.environ[FERNET_ENV] = key
    get_fernet.cache_clear()
    try:
        fernet = get_fernet()
        if not fernet.is_encrypted:
            raise RuntimeError(f"{FERNET_ENV} is empty: Airflow would store values in clear")
        yield fernet
    finally:
        if previous is None:
            os.environ.pop(FERNET_ENV, None)
        else:
            os.environ[FERNET_ENV] = previous
        get_fernet.cache_clear()


@dataclass
class Decrypted:
    """Tally of a scan: tokens decrypted, and tokens that did not (cut by a page or TOAST
    chunk boundary in a raw file, or not of this key)."""

    tokens: int = 0
    undecryptable: int = 0
    plaintext_bytes: int = 0
    seen: set[bytes] = field(default_factory=set)

    def plaintexts(self, fernet: Any, content: bytes) -> list[bytes]:
        """Plaintexts of the tokens in `content` not decrypted before."""
        found = []
        for match in TOKEN.finditer(content):
            token = match.group()
            if token in self.seen:
                continue
            self.seen.add(token)
            try:
                plain: bytes = fernet.decrypt(token)
            except Exception:  # cryptography's InvalidToken, or a cut token's padding
                self.undecryptable += 1
                continue
            self.tokens += 1
            self.plaintext_bytes += len(plain)
            found.append(plain)
        return found


def encrypted_values(url: str) -> Iterator[tuple[str, bytes]]:
    """(table.column, value) of every live text value holding a Fernet token."""
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as db:
            columns = db.execute(
                sqlalchemy.text(
                    "SELECT table_name, column_name FROM information_schema.columns "
                    "WHERE table_schema = 'public' AND data_type = ANY(:types)"
                ),
                {"types": list(TEXT_TYPES)},
            ).all()
            for table, column in columns:
                # Names from the catalog, quoted: not user input.
                query = f'SELECT "{column}"::text FROM "{table}" WHERE "{column}"::text LIKE :p'  # noqa: S608
                for (value,) in db.execute(sqlalchemy.text(query), {"p": "%gAAAAA%"}):
                    yield f"{table}.{column}", str(value).encode()
    finally:
        engine.dispose()
