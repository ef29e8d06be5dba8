"""Benchmark tables: each row beside a baseline measured in the same run, with the ratio."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Table:
    title: str
    unit: str
    rows: list[tuple[str, float, float | None]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, name: str, value: float, baseline: float | None = None) -> None:
        self.rows.append((name, value, baseline))

    def render(self) -> str:
        head = ("measure", f"value ({self.unit})", f"baseline ({self.unit})", "ratio")
        body = [
            (
                name,
                f"{value:.2f}",
                "-" if base is None else f"{base:.2f}",
                "-" if not base else f"{value / base:.2f}x",
            )
            for name, value, base in self.rows
        ]
        widths = [max(len(r[i]) for r in [head, *body]) for i in range(4)]
        lines = [f"## {self.title}", ""]
        lines.append(
            "| " + " | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)) + " |"
        )
        lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        lines += [
            "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"
            for r in body
        ]
        lines += [f"\n{n}" for n in self.notes]
        return "\n".join(lines) + "\n"


def median_of(n: int, fn: Callable[[], float]) -> tuple[float, list[float]]:
    samples = [fn() for _ in range(n)]
    return statistics.median(samples), samples


@contextmanager
def stopwatch() -> Iterator[Callable[[], float]]:
    start = time.monotonic()
    yield lambda: time.monotonic() - start


def fmt_samples(samples: Sequence[float]) -> str:
    return ", ".join(f"{s:.1f}" for s in samples)
