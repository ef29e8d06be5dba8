"""`garden-agent etcd backup|restore|ls`: argument parsing for the etcd verbs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from airflow_provider_garden.core.error_codes import KnownCause, known_line
from airflow_provider_garden.core.shoot_spec import RetentionPolicy
from airflow_provider_garden.snapstore.factory import StoreKind, open_store
from airflow_provider_garden.snapstore.protocol import SnapStore


def _store(args: argparse.Namespace) -> SnapStore:
    if args.store_kind == StoreKind.LOCAL:
        return open_store(StoreKind.LOCAL, root=Path(args.store_root), prefix=args.prefix)
    return open_store(
        StoreKind.S3, bucket=args.bucket, prefix=args.prefix, secret_dir=Path(args.secret_dir)
    )


def _endpoint(args: argparse.Namespace) -> Any:
    from airflow_provider_garden.agent.etcd_backup import EtcdEndpoint

    return EtcdEndpoint(url=args.etcd_url, tls_dir=Path(args.etcd_tls_dir))


def backup(args: argparse.Namespace) -> dict[str, Any]:
    """Take a verified full snapshot of a shoot's etcd, then apply retention."""
    from airflow_provider_garden.agent import etcd_backup

    policy = None if args.retention == "none" else RetentionPolicy(args.retention)
    try:
        return etcd_backup.backup(
            _endpoint(args),
            _store(args),
            work=Path(args.work_dir),
            compress=args.compress,
            policy=policy,
            keep_last=args.max_backups,
            shoot_uid=args.shoot_uid,
            store_capacity=args.store_capacity,
        )
    except KnownCause as err:
        # The pod's last output line is what its task reports: the code and the cause.
        raise SystemExit(known_line(err)) from None


def restore(args: argparse.Namespace) -> dict[str, Any]:
    """Restore a verified snapshot (default: the newest good one) into a shoot's etcd,
    holding the shoot's operation Lease (see agent/etcd_restore_locked.py)."""
    from airflow_provider_garden.agent import etcd_restore
    from airflow_provider_garden.agent.etcd_restore_locked import restore_locked
    from airflow_provider_garden.kube.client import KubeClient

    kube = KubeClient.from_kubeconfig(args.kubeconfig)
    return restore_locked(
        kube,
        args.project,
        args.name,
        lambda: etcd_restore.restore(
            kube,
            _store(args),
            _endpoint(args),
            namespace=args.namespace,
            data_mount=Path(args.data_mount),
            work=Path(args.work_dir),
            snapshot=args.snapshot,
            shoot_uid=args.shoot_uid,
            from_uid=args.from_uid,
            shoot=(args.project, args.name),
        ),
    )


def drill(args: argparse.Namespace) -> dict[str, Any]:
    """Restore the shoot's newest good snapshot into a scratch etcd, judge it and record
    status.lastRestoreDrill; exit 1 naming every reason when the drill failed."""
    from airflow_provider_garden.agent import etcd_drill
    from airflow_provider_garden.agent.result import emit
    from airflow_provider_garden.kube.client import KubeClient
    from airflow_provider_garden.kube.shoots import Shoots

    outcome = etcd_drill.drill(
        _store(args),
        shoot_uid=args.shoot_uid,
        work=Path(args.work_dir),
        tools=etcd_drill.Tools(etcd=args.etcd_bin),
    )
    kube = KubeClient.from_kubeconfig(args.kubeconfig)
    Shoots(kube).record_restore_drill(args.project, args.name, outcome.record)
    if not outcome.record.succeeded:
        print(emit(outcome.to_result()))
        raise SystemExit(
            f"garden-agent etcd drill: {args.project}/{args.name} failed: "
            f"{outcome.record.description}"
        )
    return outcome.to_result()


def check_data(args: argparse.Namespace) -> dict[str, Any]:
    """Before etcd starts: refuse (exit 1) data lost against the newest good backup,
    or restore that backup first with --auto-restore."""
    from airflow_provider_garden.agent import etcd_data_check

    return etcd_data_check.check(
        _store(args),
        shoot_uid=args.shoot_uid,
        mount=Path(args.data_mount),
        work=Path(args.work_dir),
        auto_restore=args.auto_restore,
    )


def ls(args: argparse.Namespace) -> dict[str, Any]:
    """List the store's snapshots with whether each is good, and why not."""
    from airflow_provider_garden.snapstore.manifest import list_snapshots

    entries = list_snapshots(_store(args))
    return {
        "snapshots": [
            {
                "key": e.key,
                "good": e.good,
                "problem": e.problem,
                "shootUID": e.manifest.shoot_uid if e.manifest else None,
            }
            for e in entries[-40:]
        ],
        "count": len(entries),
    }


def drop(args: argparse.Namespace) -> dict[str, Any]:
    """Delete every snapshot of one (deleted) shoot UID from the store; no other key."""
    from airflow_provider_garden.agent.etcd_backup import drop_snapshots_of

    dropped = drop_snapshots_of(_store(args), args.shoot_uid)
    return {"shootUID": args.shoot_uid, "dropped": dropped[:40], "droppedCount": len(dropped)}


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    etcd = verbs.add_parser("etcd", help="etcd snapshots of shoots").add_subparsers(
        dest="etcd_verb", required=True
    )
    verbs_ = (
        ("backup", backup),
        ("restore", restore),
        ("ls", ls),
        ("drop", drop),
        ("check-data", check_data),
        ("drill", drill),
    )
    for name, fn in verbs_:
        p = etcd.add_parser(name, help=fn.__doc__)
        p.set_defaults(run=fn)
        p.add_argument("--store-kind", choices=[k.value for k in StoreKind], required=True)
        p.add_argument("--store-root", help="local store: directory (a mounted volume)")
        p.add_argument("--bucket", help="s3 store: bucket")
        p.add_argument("--secret-dir", help="s3 store: mounted Secret with the credentials")
        p.add_argument("--prefix", default="", help="key prefix of this shoot's snapshots")
        if name == "ls":
            continue
        p.add_argument("--shoot-uid", required=True, help="UID of the shoot (metadata.uid)")
        if name == "drop":
            continue
        if name == "check-data":
            p.add_argument("--data-mount", required=True, help="where etcd's volume is mounted")
            p.add_argument("--work-dir", default="/work", help="scratch space for a snapshot")
            p.add_argument(
                "--auto-restore",
                action="store_true",
                help="restore this shoot's newest good snapshot instead of refusing "
                "(spec.backup.autoRestore)",
            )
            continue
        if name == "drill":
            p.add_argument("--project", required=True, help="the shoot's project")
            p.add_argument("--name", required=True, help="the shoot's name")
            p.add_argument("--work-dir", default="/work", help="scratch space: snapshot + data")
            p.add_argument(
                "--etcd-bin", default="etcd", help="the etcd server the drill starts on the data"
            )
            continue
        p.add_argument("--etcd-url", required=True)
        p.add_argument("--etcd-tls-dir", required=True, help="mounted etcd client certificate")
        p.add_argument("--work-dir", default="/work", help="scratch space for the snapshot file")
    b = etcd.choices["backup"]
    b.add_argument("--compress", action=argparse.BooleanOptionalAction, default=True)
    b.add_argument(
        "--retention", choices=[*(p.value for p in RetentionPolicy), "none"], default="none"
    )
    b.add_argument("--max-backups", type=int, default=7)
    b.add_argument(
        "--store-capacity",
        type=int,
        help="local store: its volume's size in bytes; the backup checks room against it",
    )
    r = etcd.choices["restore"]
    r.add_argument("--snapshot", help="key of the snapshot (default: newest good)")
    r.add_argument(
        "--from-uid",
        help="restore a snapshot another shoot UID wrote (a deleted shoot of the same name; "
        "'unmarked': one written before snapshots carried a UID)",
    )
    r.add_argument("--namespace", required=True, help="the shoot's control-plane namespace")
    r.add_argument("--project", required=True, help="the shoot's project (its Lease is there)")
    r.add_argument("--name", required=True, help="the shoot's name")
    r.add_argument("--data-mount", required=True, help="where etcd's volume is mounted")
