"""agent.care reads API objects into care observations (list items: no kind of their own)."""

from __future__ import annotations

import json

from airflow_provider_garden.agent.care import node, webhooks, workload


def test_a_deployment_with_a_crash_looping_pod_names_the_pod() -> None:
    deployment = {
        "metadata": {"name": "kube-scheduler"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "kube-scheduler"}}},
        "status": {"readyReplicas": 1},
    }
    pods = [
        {
            "metadata": {"name": "kube-scheduler-x", "labels": {"app": "kube-scheduler"}},
            "status": {
                "containerStatuses": [{"state": {"waiting": {"reason": "CrashLoopBackOff"}}}]
            },
        },
        {
            "metadata": {"name": "etcd-0", "labels": {"app": "etcd"}},
            "status": {
                "containerStatuses": [{"state": {"waiting": {"reason": "CrashLoopBackOff"}}}]
            },
        },
    ]
    w = workload("Deployment", deployment, pods)
    assert (w.desired, w.ready, w.crash_looping) == (1, 1, ("kube-scheduler-x",))


def test_a_scaled_down_deployment_and_a_daemonset() -> None:
    scaled = workload("Deployment", {"metadata": {"name": "s"}, "spec": {"replicas": 0}})
    assert (scaled.desired, scaled.ready) == (0, 0)
    ds = workload(
        "DaemonSet",
        {
            "metadata": {"name": "kube-proxy"},
            "status": {"desiredNumberScheduled": 3, "numberReady": 2},
        },
    )
    assert (ds.desired, ds.ready) == (3, 2)


def test_a_node_and_webhooks_without_a_failure_policy_fail_closed() -> None:
    n = node(
        {
            "metadata": {
                "name": "m1",
                "labels": {
                    "worker.garden.airflow.io/pool": "a",
                    "worker.garden.airflow.io/image-name": "gardenlinux",
                    "worker.garden.airflow.io/image-version": "1592.2",
                },
            },
            "status": {"conditions": [{"type": "Ready", "status": "False"}]},
        }
    )
    assert (n.pool, n.ready, n.image_version) == ("a", False, "1592.2")
    [default, ignore] = webhooks(
        "ValidatingWebhookConfiguration",
        {
            "metadata": {"name": "policy"},
            "webhooks": [
                {"name": "a", "rules": [{"resources": ["pods"]}]},
                {"name": "b", "failurePolicy": "Ignore", "rules": [{"resources": ["*"]}]},
            ],
        },
    )
    assert default.fails_closed
    assert default.resources == ("pods",)
    assert default.configuration == "ValidatingWebhookConfiguration/policy"
    assert not ignore.fails_closed


def test_etcd_whose_data_check_refused_reads_as_data_lost() -> None:
    sts = {
        "metadata": {"name": "etcd"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "etcd"}}},
        "status": {},
    }
    refused = json.dumps({"state": "Refused", "reason": "no database; backup B exists"})
    pod = {
        "metadata": {"name": "etcd-0", "labels": {"app": "etcd"}},
        "status": {
            "initContainerStatuses": [
                {
                    "name": "etcd-data-check",
                    "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                    "lastState": {"terminated": {"exitCode": 1, "message": refused}},
                }
            ]
        },
    }
    assert workload("StatefulSet", sts, [pod]).data_lost == "no database; backup B exists"
    assert workload("StatefulSet", sts, []).data_lost == ""


def test_the_agent_reads_a_nodes_deletion_timestamp() -> None:
    obj = {
        "metadata": {"name": "n1", "labels": {}, "deletionTimestamp": "2026-06-01T12:00:00Z"},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]},
    }
    seen = node(obj)
    assert (seen.ready, seen.deleting) == (True, True)
    del obj["metadata"]["deletionTimestamp"]
    assert not node(obj).deleting
