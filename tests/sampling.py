"""Watchers that sample a system from a thread of their own and account for every sample.

An invariant such as "never two pods" or "never below the floor" is only as good as
the samples that checked it: a list call that failed is a moment nobody looked. A
`Sampler` calls a probe every interval; each call is an attempt, taken when the
probe returns and lost when it raises. The `SampleLedger` keeps every attempt and
judges them: no more than a stated share lost overall, and none in a *critical
window* (an interval the caller names: while the invariant is being exercised).

A lost attempt stands for the time since the attempt before it: that is what
nobody saw. It counts against a window when that stretch overlaps the window.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from faults import fault

# The `drop-samples` fault switch loses this one attempt in so many.
DROP_EVERY = 4


@dataclass(frozen=True)
class Attempt:
    at: float  # monotonic seconds, when the attempt ended
    lost: str | None = None  # why it was lost; None: the sample was taken


@dataclass(frozen=True)
class Window:
    """A critical window: no sample may be lost in it, and at least one must be taken."""

    what: str
    start: float
    end: float


class SampleLedger:
    """Every attempt of one watcher, judged against a share and critical windows."""

    def __init__(self, name: str, *, max_lost_share: float) -> None:
        if not 0 <= max_lost_share < 1:
            raise ValueError(f"max_lost_share must be in [0, 1), got {max_lost_share}")
        self.name = name
        self.max_lost_share = max_lost_share
        self._attempts: list[Attempt] = []
        self._lock = threading.Lock()

    def taken(self, at: float) -> None:
        with self._lock:
            self._attempts.append(Attempt(at))

    def lost(self, at: float, why: str) -> None:
        with self._lock:
            self._attempts.append(Attempt(at, why))

    def attempts(self) -> list[Attempt]:
        with self._lock:
            return list(self._attempts)

    @property
    def taken_count(self) -> int:
        return sum(a.lost is None for a in self.attempts())

    @property
    def lost_count(self) -> int:
        return sum(a.lost is not None for a in self.attempts())

    def lost_in(self, window: Window) -> list[Attempt]:
        """Lost attempts whose unseen stretch (since the attempt before) overlaps `window`."""
        attempts = self.attempts()
        found = []
        for i, attempt in enumerate(attempts):
            unseen_from = attempts[i - 1].at if i else float("-inf")
            if attempt.lost is not None and unseen_from < window.end and attempt.at >= window.start:
                found.append(attempt)
        return found

    def taken_in(self, window: Window) -> int:
        return sum(a.lost is None and window.start <= a.at <= window.end for a in self.attempts())

    def longest_interval(self) -> float:
        """The longest time between two taken samples (reported, never asserted: load)."""
        times = [a.at for a in self.attempts() if a.lost is None]
        return max((b - a for a, b in itertools.pairwise(times)), default=0.0)

    def problems(self, windows: Iterable[Window] = ()) -> list[str]:
        """What this watcher missed (empty: it looked the whole time it had to)."""
        return self.share_problems() + self.window_problems(windows)

    def share_problems(self) -> list[str]:
        attempts = self.attempts()
        lost = [a for a in attempts if a.lost is not None]
        if len(attempts) == len(lost):
            return [f"{self.name} took no sample ({len(lost)} attempts lost)"]
        if len(lost) > self.max_lost_share * len(attempts):
            return [
                f"{self.name} lost {len(lost)} of {len(attempts)} samples "
                f"({len(lost) / len(attempts):.1%}; at most {self.max_lost_share:.0%} may be "
                f"lost); first: {lost[0].lost}"
            ]
        return []

    def window_problems(self, windows: Iterable[Window]) -> list[str]:
        found = []
        for window in windows:
            missed = self.lost_in(window)
            if missed:
                found.append(
                    f"{self.name} lost {len(missed)} samples in the critical window "
                    f"{window.what} ({window.end - window.start:.1f}s); first: {missed[0].lost}"
                )
            elif window.end > window.start and not self.taken_in(window):
                found.append(f"{self.name} took no sample in the critical window {window.what}")
        return found

    def summary(self) -> str:
        attempts = len(self.attempts())
        lost = self.lost_count
        share = lost / attempts if attempts else 0.0
        return (
            f"{self.name}: {attempts - lost} samples taken, {lost} lost ({share:.1%}; "
            f"at most {self.max_lost_share:.0%} may be), longest interval between samples "
            f"{self.longest_interval():.1f}s"
        )


class SampleDropped(RuntimeError):
    """A sample thrown away by the `drop-samples` fault switch."""


class Sampler(threading.Thread):
    """Calls `probe` every `every` seconds until stopped; files each call in `ledger`.

    The probe returns the monotonic time its observation stands for (the time it
    files its data under), so the ledger and the data agree on when a sample was.
    """

    def __init__(
        self, name: str, probe: Callable[[], float], ledger: SampleLedger, *, every: float
    ) -> None:
        super().__init__(name=name, daemon=True)
        self.probe = probe
        self.ledger = ledger
        self.every = every
        self._drop_every = DROP_EVERY if fault("drop-samples") else 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        count = 0
        while not self._stop_event.is_set():
            count += 1
            try:
                if self._drop_every and count % self._drop_every == 0:
                    raise SampleDropped("dropped by the drop-samples fault switch")
                at = self.probe()
            except Exception as err:
                self.ledger.lost(time.monotonic(), f"{type(err).__name__}: {err}"[:300])
            else:
                self.ledger.taken(at)
            self._stop_event.wait(self.every)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=30)


@contextmanager
def sampling(
    name: str, probe: Callable[[], float], ledger: SampleLedger, *, every: float
) -> Iterator[Sampler]:
    """Run a Sampler while the block runs."""
    sampler = Sampler(name, probe, ledger, every=every)
    sampler.start()
    try:
        yield sampler
    finally:
        sampler.stop()
