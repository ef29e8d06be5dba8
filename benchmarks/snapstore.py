"""Snapstore throughput: save and fetch of a 256 MiB snapshot-sized file on both backends,
beside a raw ``cp`` of the same file in the same run.

Run from the repository root: ``python -m benchmarks.snapstore [--size-mib N] [--runs N]``.
The S3 backend talks to a versitygw on 127.0.0.1 writing to the same disk, so the S3
figures show the protocol's cost, not a network's. Local saves fsync (``cp`` does not;
``cp + sync`` does). Peak RSS is the growth of this process during the operation: it
shows that saves stream rather than buffer the snapshot.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from airflow_provider_garden.snapstore.factory import StoreKind, open_store
from airflow_provider_garden.snapstore.manifest import HashingReader
from airflow_provider_garden.snapstore.protocol import SnapStore
from benchmarks.table import Table
from tests.s3server import S3Server, start

MiB = 1 << 20
KEY = "Backup-1700000000/Full-00000001-00000002-1700000000"


@dataclass(frozen=True)
class Result:
    name: str
    seconds: float
    peak_rss_mib: float


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


@contextmanager
def _peak_rss() -> Iterator[list[float]]:
    """Samples this process's RSS every 10 ms; yields [peak growth in MiB], final on exit."""
    base, peak, done = _rss_mib(), [0.0], threading.Event()

    def sample() -> None:
        while not done.wait(0.01):
            peak[0] = max(peak[0], _rss_mib() - base)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        done.set()
        thread.join()
        peak[0] = max(peak[0], _rss_mib() - base)


def measure(name: str, runs: int, operation: Callable[[], None]) -> Result:
    times, peaks = [], []
    for _ in range(runs):
        with _peak_rss() as peak:
            began = time.perf_counter()
            operation()
            times.append(time.perf_counter() - began)
        peaks.append(peak[0])
    return Result(name, statistics.median(times), max(peaks))


def _drop(path: Path) -> None:
    path.unlink(missing_ok=True)


def store_results(
    label: str, store: SnapStore, source: Path, work: Path, runs: int
) -> list[Result]:
    def save_file() -> None:
        with source.open("rb") as stream:
            store.save(KEY, stream)

    def save_hashed() -> None:  # what the backup verb does: digest on the way in
        with source.open("rb") as stream:
            store.save(KEY, HashingReader(stream))

    def fetch() -> None:
        with store.fetch(KEY) as stream, (work / "fetched").open("wb") as out:
            shutil.copyfileobj(stream, out, MiB)

    results = [
        measure(f"{label} save (file)", runs, save_file),
        measure(f"{label} save (sha256 stream)", runs, save_hashed),
        measure(f"{label} fetch to file", runs, fetch),
    ]
    store.delete(KEY)
    _drop(work / "fetched")
    return results


def measure_all(size_mib: int, runs: int) -> tuple[list[Result], S3Server]:
    work = Path(tempfile.mkdtemp(prefix="bench-snapstore-"))
    source = work / "snapshot.db"
    with source.open("wb") as out:
        for _ in range(size_mib):
            out.write(os.urandom(MiB))
    server = start(work / "s3")
    try:
        bucket = f"bench-{uuid.uuid4().hex[:8]}"
        server.client().create_bucket(Bucket=bucket)
        results = [
            measure("cp", runs, lambda: _cp(source, work / "copy", sync=False)),
            measure("cp + sync", runs, lambda: _cp(source, work / "copy", sync=True)),
        ]
        (work / "pvc").mkdir()
        local = open_store(StoreKind.LOCAL, root=work / "pvc", prefix="shoot--bench--a")
        results += store_results("local", local, source, work, runs)
        secret_dir = server.write_secret_dir(work / "secret")
        s3 = open_store(
            StoreKind.S3, bucket=bucket, prefix="shoot--bench--a", secret_dir=secret_dir
        )
        results += store_results("s3", s3, source, work, runs)
        return results, server
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


def _cp(source: Path, target: Path, *, sync: bool) -> None:
    subprocess.run(["cp", str(source), str(target)], check=True)
    if sync:
        subprocess.run(["sync", str(target)], check=True)
    target.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results, server = measure_all(args.size_mib, args.runs)
    baseline = results[0].seconds
    print(f"snapstore: {args.size_mib} MiB, median of {args.runs} runs")
    print(f"versitygw start to healthy: {server.started_in * 1000:.0f} ms")
    print(f"{'operation':<28} {'seconds':>8} {'MiB/s':>8} {'x cp':>6} {'peak RSS MiB':>13}")
    for r in results:
        rate = args.size_mib / r.seconds
        ratio = r.seconds / baseline
        print(f"{r.name:<28} {r.seconds:>8.2f} {rate:>8.0f} {ratio:>6.2f} {r.peak_rss_mib:>13.0f}")


if __name__ == "__main__":
    main()


def run() -> list[Table]:
    """For `make bench`: 256 MiB, median of 3, each beside a plain `cp`."""
    size = 256
    results, server = measure_all(size, 3)
    table = Table(title=f"Snapstore: a {size} MiB snapshot saved and fetched", unit="s")
    baseline = results[0].seconds
    for r in results[1:]:
        table.add(
            f"{r.name} ({size / r.seconds:.0f} MiB/s, peak RSS {r.peak_rss_mib:.0f} MiB)",
            r.seconds,
            baseline,
        )
    table.notes.append(
        f"baseline: cp of the same file; versitygw healthy {server.started_in * 1000:.0f} ms after start"
    )
    return [table]
