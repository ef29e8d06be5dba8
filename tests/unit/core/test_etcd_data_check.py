"""etcd's data check: the decision table, the restore record, reading a refusal back."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from airflow_provider_garden.core.etcd_data_check import (
    INIT_CONTAINER,
    DataDir,
    GoodBackup,
    Refusals,
    RestoredFrom,
    Verdict,
    baseline,
    decide,
    pod_refusal,
    refusal,
    refusals,
)
from airflow_provider_garden.core.status import ErrorCode

T0 = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
OLD = GoodBackup(key="Backup-1/Full-00000000-00000100-1", revision=100, created=T0)
NEW = GoodBackup(key="Backup-2/Full-00000000-00000500-2", revision=500, created=T0 + HOUR)


def restored(snapshot: GoodBackup, at: dt.datetime) -> RestoredFrom:
    return RestoredFrom(snapshot=snapshot.key, revision=snapshot.revision, restored=at)


B3 = GoodBackup(key="Backup-3/Full-00000000-00000130-3", revision=130, created=T0 + 3 * HOUR)


@pytest.mark.parametrize(
    ("data", "newest", "auto", "verdict", "snapshot"),
    [
        # a brand-new shoot: no backup of its own, empty data -> starts empty as before
        (DataDir(revision=None), None, False, Verdict.START, None),
        (DataDir(revision=None), None, True, Verdict.START, None),
        # data lost while a backup of this shoot exists
        (DataDir(revision=None), NEW, False, Verdict.REFUSE, NEW.key),
        (DataDir(revision=None), NEW, True, Verdict.RESTORE, NEW.key),
        # data older than the newest good backup
        (DataDir(revision=499), NEW, False, Verdict.REFUSE, NEW.key),
        (DataDir(revision=499), NEW, True, Verdict.RESTORE, NEW.key),
        # data at or past the newest backup
        (DataDir(revision=500), NEW, False, Verdict.START, NEW.key),
        (DataDir(revision=9000), NEW, False, Verdict.START, NEW.key),
        # data with no backup at all (backups were configured later)
        (DataDir(revision=7), None, False, Verdict.START, None),
        # restored on purpose from the older snapshot after NEW: NEW is not its history
        (DataDir(revision=120, restored_from=restored(OLD, T0 + 2 * HOUR)), NEW, False,
         Verdict.START, None),
        # ... but a backup taken after that restore is
        (DataDir(revision=120, restored_from=restored(OLD, T0 + 2 * HOUR)), B3, False,
         Verdict.REFUSE, B3.key),
        # a restore record does not excuse a database that is gone
        (DataDir(revision=None, restored_from=restored(OLD, T0 + 2 * HOUR)), NEW, False,
         Verdict.REFUSE, NEW.key),
    ],
)  # fmt: skip
def test_decide(
    data: DataDir,
    newest: GoodBackup | None,
    auto: bool,
    verdict: Verdict,
    snapshot: str | None,
) -> None:
    decision = decide(data, newest, auto_restore=auto)
    assert (decision.verdict, decision.snapshot) == (verdict, snapshot), decision.reason


def test_a_backup_taken_after_the_restore_is_what_the_data_is_compared_with() -> None:
    data = DataDir(revision=120, restored_from=restored(OLD, T0 + 30 * dt.timedelta(minutes=1)))
    assert baseline(data, NEW) == NEW
    assert baseline(DataDir(revision=120), NEW) == NEW
    assert baseline(DataDir(revision=120, restored_from=restored(OLD, T0 + 2 * HOUR)), NEW) is None


def test_a_refusal_names_the_backup_the_code_and_the_way_out() -> None:
    decision = decide(DataDir(revision=3), NEW, auto_restore=False)
    out = decision.to_dict()
    assert out["state"] == "Refused"
    assert out["code"] == ErrorCode.ETCD_DATA_LOST.value == "ERR_ETCD_DATA_LOST"
    assert "revision 3" in out["reason"]
    assert NEW.key in out["reason"]
    assert "spec.backup.autoRestore" in out["reason"]
    assert not ErrorCode.ETCD_DATA_LOST.retryable  # a retry cannot bring data back


def test_restored_from_round_trips_and_names_a_bad_field() -> None:
    record = restored(OLD, T0)
    assert RestoredFrom.from_dict(json.loads(json.dumps(record.to_dict()))) == record
    with pytest.raises(ValueError, match="revision must be an integer"):
        RestoredFrom.from_dict({**record.to_dict(), "revision": True})
    with pytest.raises(ValueError, match="no time zone"):
        RestoredFrom.from_dict({**record.to_dict(), "restored": "2026-12-06T12:00:00"})


def _pod(*states: dict[str, Any], name: str = INIT_CONTAINER) -> dict[str, Any]:
    status = {"name": name, "state": states[0], "lastState": states[1] if len(states) > 1 else {}}
    return {"status": {"initContainerStatuses": [status]}}


REFUSED = json.dumps(decide(DataDir(revision=None), NEW, auto_restore=False).to_dict())


def test_pod_refusal_is_read_from_the_current_or_the_last_run() -> None:
    terminated = {"terminated": {"exitCode": 1, "message": REFUSED}}
    assert "has no database" in (pod_refusal(_pod(terminated)) or "")
    waiting = {"waiting": {"reason": "CrashLoopBackOff"}}
    assert "has no database" in (pod_refusal(_pod(waiting, terminated)) or "")


@pytest.mark.parametrize(
    "pod",
    [
        {"status": {}},
        _pod({"running": {}}),
        _pod({"terminated": {"exitCode": 0, "message": REFUSED}}),  # it did not refuse
        _pod({"terminated": {"exitCode": 1, "message": "Traceback ..."}}),  # another failure
        _pod({"terminated": {"exitCode": 1, "message": REFUSED}}, name="other"),
    ],
)
def test_anything_else_is_no_refusal(pod: dict[str, Any]) -> None:
    assert pod_refusal(pod) is None


def test_refusal_reads_only_a_refused_result() -> None:
    assert refusal('{"verdict": "Start", "reason": "fine"}') is None
    assert refusal("[1]") is None
    assert refusal(REFUSED) is not None


def _sts(*, generation: int = 2, observed: int = 2, revision: str = "etcd-new") -> dict[str, Any]:
    return {
        "metadata": {"generation": generation},
        "status": {"observedGeneration": observed, "updateRevision": revision},
    }


def _refused_pod(name: str, revision: str) -> dict[str, Any]:
    pod = _pod({"terminated": {"exitCode": 1, "message": REFUSED}})
    pod["metadata"] = {"name": name, "labels": {"controller-revision-hash": revision}}
    return pod


def test_a_refused_pod_of_the_current_template_is_the_answer() -> None:
    found = refusals(_sts(), [_refused_pod("etcd-0", "etcd-new")])
    assert found.outdated == ()
    assert "has no database" in (found.current or "")


def test_a_refused_pod_of_an_older_template_is_replaced_not_reported() -> None:
    found = refusals(_sts(), [_refused_pod("etcd-0", "etcd-old")])
    assert (found.outdated, found.current) == (("etcd-0",), None)


def test_nothing_is_judged_before_the_controller_saw_the_new_spec() -> None:
    # the controller's revision is still the pod's: judging now would report a pod that
    # is about to be replaced by the new template
    found = refusals(_sts(observed=1, revision="etcd-old"), [_refused_pod("etcd-0", "etcd-old")])
    assert found == Refusals()
