"""Progress of long steps: a start line, a heartbeat while running, an end line.

Cold builds take minutes (the Kubernetes Go build about seven); a person
watching `garden local-seed up` or `make test` should see which step is
running, what it is on, and how long it has taken, so work is told from a hang.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

HEARTBEAT_SECONDS = 30.0


class Step:
    """A running step; the heartbeat prints its name, elapsed time and `detail`."""

    def __init__(self, name: str, *, out: TextIO, clock: Callable[[], float]) -> None:
        self.name = name
        self.out = out
        self.clock = clock
        self.started = clock()
        # What the step is on right now ("412 packages compiled, last k8s.io/api/...");
        # written by the step's worker, read by the heartbeat thread.
        self.detail = ""

    def elapsed(self) -> float:
        return self.clock() - self.started

    def beat(self) -> None:
        detail = f": {self.detail}" if self.detail else ""
        print(f"    {self.name}: {self.elapsed():.0f}s so far{detail}", file=self.out, flush=True)


@contextmanager
def step(
    name: str,
    *,
    stream: TextIO | None = None,
    heartbeat: float = HEARTBEAT_SECONDS,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[Step]:
    """Announce `name`, print a heartbeat every `heartbeat` seconds, then done/failed."""
    out = stream or sys.stderr
    print(f"==> [local-seed] {name} ...", file=out, flush=True)
    current = Step(name, out=out, clock=clock)
    stop = threading.Event()
    beater = threading.Thread(
        target=_beat_until, args=(current, stop, heartbeat), name=f"heartbeat {name}", daemon=True
    )
    beater.start()
    try:
        yield current
    except BaseException:
        stop.set()
        beater.join()
        print(f"    {name}: failed after {current.elapsed():.1f}s", file=out, flush=True)
        raise
    stop.set()
    beater.join()
    print(f"    {name}: done in {current.elapsed():.1f}s", file=out, flush=True)


def _beat_until(current: Step, stop: threading.Event, interval: float) -> None:
    while not stop.wait(interval):
        current.beat()


def run_reporting(
    argv: Sequence[str],
    current: Step,
    *,
    describe: Callable[[str], str | None],
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `argv` with stdout and stderr merged, keeping `current.detail` at what
    `describe` makes of the latest line it recognises (None: not a progress line).

    Returns the whole output as stdout (stderr is empty), for logs and error tails.
    """
    lines: list[str] = []
    with subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    ) as proc:
        for line in proc.stdout or ():
            lines.append(line)
            detail = describe(line.rstrip("\n"))
            if detail is not None:
                current.detail = detail
    return subprocess.CompletedProcess(list(argv), proc.returncode, "".join(lines), "")
