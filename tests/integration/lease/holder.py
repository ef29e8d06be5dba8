"""A process that holds an operation Lease and works until it is told to stop or loses it.

Run by the lease tests as a stand-in for an agent's operation: it holds the lease
with the agent's own code (``lease.held``, whose loss ends the process), and
appends to ``--timeline`` on the host's monotonic clock (shared by all processes
on it): ``acquired``, ``renewing`` (before each renewal is sent) and ``work``
(every 50 ms), so a test can set them beside another holder's timeline.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import TextIO

from airflow_provider_garden.kube import lease
from airflow_provider_garden.kube.client import KubeClient


def stamp(out: TextIO, what: str) -> None:
    out.write(f"{what} {time.monotonic():.6f}\n")
    out.flush()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--duration", type=int, required=True)
    parser.add_argument("--timeline", type=Path, required=True)
    parser.add_argument("--seconds", type=float, default=120.0, help="work this long, then stop")
    parser.add_argument(
        "--no-abort", action="store_true", help="only log a lost lease (shows the tests fail)"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    out = args.timeline.open("a")
    renew = lease.OperationLease.renew

    def stamped_renew(self: lease.OperationLease) -> None:
        stamp(out, "renewing")
        renew(self)

    lease.OperationLease.renew = stamped_renew  # type: ignore[method-assign]
    on_lost = logging.error if args.no_abort else lease.abort_process
    with lease.held(
        KubeClient.from_kubeconfig(args.kubeconfig),
        namespace=args.namespace,
        name=args.name,
        holder="lease-test-holder",
        timing=lease.Timing.scaled(args.duration),
        on_lost=on_lost,
    ):
        stamp(out, "acquired")
        deadline = time.monotonic() + args.seconds
        while time.monotonic() < deadline:
            stamp(out, "work")
            time.sleep(0.05)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
