"""One line when a long step starts and one when it ends, with elapsed seconds.

Cold builds take minutes; a person watching `garden local-seed up` should see
which step is running and how long each one took.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


@contextmanager
def step(name: str, *, stream: TextIO | None = None) -> Iterator[None]:
    out = stream or sys.stderr
    print(f"==> [local-seed] {name} ...", file=out, flush=True)
    start = time.monotonic()
    try:
        yield
    except BaseException:
        print(f"    {name}: failed after {time.monotonic() - start:.1f}s", file=out, flush=True)
        raise
    print(f"    {name}: done in {time.monotonic() - start:.1f}s", file=out, flush=True)
