"""The local seed is a real cluster: pods run, Services and DNS answer, volumes persist.

Figures (durations, memory) are printed, never asserted: see benchmarks/.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
from kubernetes import client, config

from airflow_provider_garden.localseed import network
from airflow_provider_garden.localseed.build import PAUSE_REF, TOOLBOX_REF
from airflow_provider_garden.localseed.errors import SeedError
from airflow_provider_garden.localseed.footprint import HostRecord
from airflow_provider_garden.localseed.neighbours import other_kubernetes
from airflow_provider_garden.localseed.netfilter import Netfilter
from airflow_provider_garden.localseed.processes import identity_of
from airflow_provider_garden.localseed.seed import LocalSeed

# Runs `up` on the shared seed and pods in `default`: alone, before the lanes (tests/lanes.py).
pytestmark = [pytest.mark.integration, pytest.mark.serial]

T = TypeVar("T")


def wait_for(probe: Callable[[], T | None], *, timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.5)


def toolbox_container(name: str, command: list[str], **extra: object) -> client.V1Container:
    return client.V1Container(
        name=name, image=TOOLBOX_REF, image_pull_policy="Never", command=command, **extra
    )


def run_pod(
    core: client.CoreV1Api, namespace: str, name: str, spec: client.V1PodSpec, timeout: float = 120
) -> str:
    """Run a pod to completion; return its log, failing with the log if it did not succeed."""
    core.create_namespaced_pod(
        namespace, client.V1Pod(metadata=client.V1ObjectMeta(name=name), spec=spec)
    )

    def finished() -> str | None:
        phase = core.read_namespaced_pod(name, namespace).status.phase
        return phase if phase in ("Succeeded", "Failed") else None

    phase = wait_for(finished, timeout=timeout, what=f"pod {name} to finish")
    log: str = core.read_namespaced_pod_log(name, namespace, _preload_content=False).data.decode()
    assert phase == "Succeeded", f"pod {name} {phase}:\n{log}"
    return log


def test_node_is_ready_with_the_pinned_kubernetes(kube_api: client.ApiClient) -> None:
    (node,) = client.CoreV1Api(kube_api).list_node().items
    ready = {c.type: c.status for c in node.status.conditions}["Ready"]
    assert ready == "True"
    assert node.status.node_info.kubelet_version.startswith("v1.32.")


def test_deployment_pods_run(kube_api: client.ApiClient, namespace: str) -> None:
    labels = {"app": "sleeper"}
    deployment = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="sleeper"),
        spec=client.V1DeploymentSpec(
            replicas=2,
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(
                    containers=[toolbox_container("sleep", ["sleep", "infinity"])],
                    termination_grace_period_seconds=1,
                ),
            ),
        ),
    )
    apps = client.AppsV1Api(kube_api)
    started = time.monotonic()
    apps.create_namespaced_deployment(namespace, deployment)

    def available() -> int | None:
        status = apps.read_namespaced_deployment_status("sleeper", namespace).status
        return status.available_replicas if status.available_replicas == 2 else None

    wait_for(available, timeout=120, what="2 available replicas")
    print(f"deployment of 2 pods available in {time.monotonic() - started:.1f}s")
    pods = client.CoreV1Api(kube_api).list_namespaced_pod(namespace, label_selector="app=sleeper")
    assert {p.status.phase for p in pods.items} == {"Running"}
    assert all(p.status.pod_ip.startswith("10.200.") for p in pods.items)


# kube-proxy programs a new endpoint up to a sync period after it is ready, as in
# any cluster: the first request may be refused, so the client retries briefly.
CLIENT_SCRIPT = """
import socket, sys, time, urllib.error, urllib.request
ns, cluster_ip = sys.argv[1], sys.argv[2]
for name in ("web", f"web.{ns}", f"web.{ns}.svc.cluster.local"):
    resolved = socket.gethostbyname(name)
    assert resolved == cluster_ip, (name, resolved, cluster_ip)
def fetch(host):
    for attempt in range(20):
        try:
            return urllib.request.urlopen(f"http://{host}/proof.txt", timeout=10).read().decode()
        except urllib.error.URLError as err:
            if not isinstance(err.reason, ConnectionRefusedError):
                raise
            time.sleep(0.5)
    raise SystemExit(f"{host}: still refused after 10s")
for host in (cluster_ip, f"web.{ns}.svc.cluster.local"):
    print(host, fetch(host).strip())
"""


def test_service_answers_by_cluster_ip_and_dns_name_from_another_pod(
    kube_api: client.ApiClient, namespace: str
) -> None:
    core, apps = client.CoreV1Api(kube_api), client.AppsV1Api(kube_api)
    token = secrets.token_hex(8)
    labels = {"app": "web"}
    serve = f"echo {token} > /tmp/proof.txt && exec python3 -m http.server 8080 -d /tmp"
    server = toolbox_container(
        "web",
        ["sh", "-c", serve],
        ports=[client.V1ContainerPort(container_port=8080)],
        readiness_probe=client.V1Probe(
            http_get=client.V1HTTPGetAction(path="/proof.txt", port=8080), period_seconds=1
        ),
    )
    apps.create_namespaced_deployment(
        namespace,
        client.V1Deployment(
            metadata=client.V1ObjectMeta(name="web"),
            spec=client.V1DeploymentSpec(
                replicas=1,
                selector=client.V1LabelSelector(match_labels=labels),
                template=client.V1PodTemplateSpec(
                    metadata=client.V1ObjectMeta(labels=labels),
                    spec=client.V1PodSpec(containers=[server], termination_grace_period_seconds=1),
                ),
            ),
        ),
    )
    service = core.create_namespaced_service(
        namespace,
        client.V1Service(
            metadata=client.V1ObjectMeta(name="web"),
            spec=client.V1ServiceSpec(
                selector=labels, ports=[client.V1ServicePort(port=80, target_port=8080)]
            ),
        ),
    )
    cluster_ip = service.spec.cluster_ip

    def endpoint_ready() -> bool | None:
        found = core.list_namespaced_endpoints(namespace, field_selector="metadata.name=web")
        subsets = [s for e in found.items for s in e.subsets or []]
        return True if any(s.addresses for s in subsets) else None

    wait_for(endpoint_ready, timeout=120, what="a ready endpoint behind Service web")
    log = run_pod(
        core,
        namespace,
        "client",
        client.V1PodSpec(
            restart_policy="Never",
            containers=[
                toolbox_container("client", ["python3", "-c", CLIENT_SCRIPT, namespace, cluster_ip])
            ],
        ),
    )
    assert log.split() == [cluster_ip, token, f"web.{namespace}.svc.cluster.local", token]


def test_pvc_binds_and_data_survives_pod_deletion(
    kube_api: client.ApiClient, namespace: str
) -> None:
    core = client.CoreV1Api(kube_api)
    core.create_namespaced_persistent_volume_claim(
        namespace,
        client.V1PersistentVolumeClaim(
            metadata=client.V1ObjectMeta(name="data"),
            spec=client.V1PersistentVolumeClaimSpec(
                access_modes=["ReadWriteOnce"],
                resources=client.V1VolumeResourceRequirements(requests={"storage": "16Mi"}),
            ),
        ),
    )
    token = secrets.token_hex(8)

    def pod_spec(command: str) -> client.V1PodSpec:
        return client.V1PodSpec(
            restart_policy="Never",
            containers=[
                toolbox_container(
                    "c",
                    ["sh", "-c", command],
                    volume_mounts=[client.V1VolumeMount(name="data", mount_path="/data")],
                )
            ],
            volumes=[
                client.V1Volume(
                    name="data",
                    persistent_volume_claim=client.V1PersistentVolumeClaimVolumeSource(
                        claim_name="data"
                    ),
                )
            ],
        )

    run_pod(core, namespace, "writer", pod_spec(f"echo {token} > /data/proof"))
    pvc = core.read_namespaced_persistent_volume_claim("data", namespace)
    assert pvc.status.phase == "Bound"
    assert pvc.spec.storage_class_name == "local-path"  # the default StorageClass
    core.delete_namespaced_pod("writer", namespace, grace_period_seconds=0)

    def writer_gone() -> bool | None:
        names = [p.metadata.name for p in core.list_namespaced_pod(namespace).items]
        return True if "writer" not in names else None

    wait_for(writer_gone, timeout=60, what="pod writer to be deleted")
    log = run_pod(core, namespace, "reader", pod_spec("cat /data/proof"))
    assert log.strip() == token


def _daemon_pids(seed: LocalSeed) -> dict[str, int | None]:
    return {c.name: c.pid for c in seed.status().components}


@pytest.fixture
def local_seed(seed_kubeconfig: Path) -> LocalSeed:
    if os.environ.get("GARDEN_KUBECONFIG"):
        pytest.skip("GARDEN_KUBECONFIG points at another cluster; this checks the local seed")
    return LocalSeed()


def test_second_up_is_a_noop(local_seed: LocalSeed) -> None:
    before = _daemon_pids(local_seed)
    assert all(before.values()), before
    started = time.monotonic()
    local_seed.up()
    print(f"second up: {time.monotonic() - started:.1f}s")
    assert _daemon_pids(local_seed) == before
    assert local_seed.status().healthy


def _pause_pod_running_after(kubeconfig: Path, started: float) -> float:
    core = client.CoreV1Api(config.new_client_from_config(config_file=str(kubeconfig)))
    name = f"first-pod-{secrets.token_hex(3)}"
    pod = client.V1Pod(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1PodSpec(
            containers=[client.V1Container(name="p", image=PAUSE_REF, image_pull_policy="Never")],
            termination_grace_period_seconds=0,
        ),
    )
    core.create_namespaced_pod("default", pod)
    try:
        wait_for(
            lambda: core.read_namespaced_pod(name, "default").status.phase == "Running" or None,
            timeout=120,
            what=f"pod {name} Running",
        )
        return time.monotonic() - started
    finally:
        core.delete_namespaced_pod(name, "default", grace_period_seconds=0)


def _host_chains() -> set[str]:
    """Every user-defined iptables chain on the host, as "family/table chain"."""
    rules = Netfilter().ruleset()
    return {f"{key} {chain}" for key, table in rules.items() for chain in table.chains}


@pytest.mark.teardown_seed
def test_down_leaves_nothing_then_up_restores(local_seed: LocalSeed) -> None:
    # No other Kubernetes here: every chain the seed recorded must go.
    assert other_kubernetes(local_seed._own_pids()) == []
    record = HostRecord.from_json(local_seed.record_file.read_text())
    recorded = {f"{key} {chain}" for key, names in record.chains.items() for chain in names}
    assert recorded, "up recorded no chains of the seed"
    started = time.monotonic()
    leftovers = local_seed.down()
    print(f"down: {time.monotonic() - started:.1f}s")
    assert leftovers.empty(), leftovers
    left = _host_chains()
    assert not recorded & left, recorded & left
    assert not [c for c in left if " KUBE-" in c], left  # nor any kube-proxy chain reached
    status = local_seed.status()
    assert status.running == []
    assert not any(c.healthy for c in status.components)
    ip_links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert "garden0" not in ip_links
    assert str(local_seed.paths.state) not in Path("/proc/self/mountinfo").read_text()

    # The seed is shared by every test session on the machine: bring it back.
    started = time.monotonic()
    kubeconfig = local_seed.up()
    up_seconds = time.monotonic() - started
    first_pod = _pause_pod_running_after(kubeconfig, started)
    print(f"warm up (after down): {up_seconds:.1f}s; up to first pod Running: {first_pod:.1f}s")
    assert local_seed.status().healthy


# Someone else's, planted on the host while the seed runs: rules that mention the
# seed's own service and pod ranges, as a kubeadm cluster or another CNI user would.
FOREIGN_RULES = (
    "-t nat -N KUBE-SVC-GARDENTESTFOREIGN1",
    "-t nat -A KUBE-SVC-GARDENTESTFOREIGN1 -d 10.96.255.254/32 -p tcp -j RETURN",
    "-t nat -A OUTPUT -d 10.96.255.254/32 -p tcp -j KUBE-SVC-GARDENTESTFOREIGN1",
    "-t filter -N CNI-GARDEN-TEST-FOREIGN",
    "-t filter -A CNI-GARDEN-TEST-FOREIGN -s 10.200.255.254/32 -j RETURN",
    "-t filter -A FORWARD -s 10.200.255.254/32 -j CNI-GARDEN-TEST-FOREIGN",
)
FOREIGN_NFT = "garden_test_foreign"
WATCHES_KEY = "fs/inotify/max_user_watches"
WATCHES = Path("/proc/sys") / WATCHES_KEY


def _foreign_lines() -> set[str]:
    save = subprocess.run(["iptables-save"], capture_output=True, text=True, check=True).stdout
    return {
        line.split(" [")[0]
        for line in save.splitlines()
        if "GARDENTESTFOREIGN" in line or "GARDEN-TEST-FOREIGN" in line
    }


def _plant_foreign_rules() -> set[str]:
    for rule in FOREIGN_RULES:
        subprocess.run(["iptables", "-w", *rule.split()], check=True)
    hook = "{ type filter hook input priority 0 ; }"
    for argv in (
        ["add", "table", "inet", FOREIGN_NFT],
        ["add", "chain", "inet", FOREIGN_NFT, "c", hook],
        ["add", "rule", "inet", FOREIGN_NFT, "c", "counter"],
    ):
        subprocess.run(["nft", *argv], check=True)
    planted = _foreign_lines()
    assert len(planted) == 6, planted
    return planted


def _remove_foreign_rules() -> None:
    for rule in reversed(FOREIGN_RULES):
        if " -A " in f" {rule}":
            subprocess.run(["iptables", "-w", *rule.replace(" -A ", " -D ").split()], check=False)
    for rule in FOREIGN_RULES:
        if " -N " in f" {rule}":
            subprocess.run(["iptables", "-w", *rule.replace(" -N ", " -X ").split()], check=False)
    subprocess.run(["nft", "delete", "table", "inet", FOREIGN_NFT], check=False)


def _foreign_containerd(tmp_path: Path) -> subprocess.Popen[bytes]:
    """A second containerd from the same binary as the seed's, like the system's own."""
    config = tmp_path / "foreign-containerd.toml"
    config.write_text(
        "\n".join(
            [
                "version = 2",
                f'root = "{tmp_path}/ctd-root"',
                f'state = "{tmp_path}/ctd-state"',
                'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
                "[grpc]",
                f'  address = "{tmp_path}/ctd.sock"',
                "[ttrpc]",
                f'  address = "{tmp_path}/ctd-ttrpc.sock"',
                "",
            ]
        )
    )
    binary = shutil.which("containerd")
    assert binary, "containerd is not installed"
    with (tmp_path / "foreign-containerd.log").open("wb") as log:
        proc = subprocess.Popen([binary, f"--config={config}"], stdout=log, stderr=log)
    deadline = time.monotonic() + 30
    while not (tmp_path / "ctd.sock").exists():
        assert proc.poll() is None, (tmp_path / "foreign-containerd.log").read_text()
        assert time.monotonic() < deadline, "the foreign containerd did not start"
        time.sleep(0.2)
    return proc


@pytest.mark.teardown_seed
def test_down_spares_what_is_not_the_seeds_then_up_restores(
    local_seed: LocalSeed, tmp_path: Path
) -> None:
    seed = local_seed
    # A sysctl below what the seed needs: the next `up` raises it and records the value,
    # unless it raised it before on this host (a host default below the seed's need):
    # the record keeps that first value, the host's own, and `down` puts that back.
    need = network.SYSCTLS[WATCHES_KEY]
    earlier = HostRecord.from_json(seed.record_file.read_text()).sysctls.get(WATCHES_KEY)
    host_value = earlier.before if earlier else WATCHES.read_text().strip()
    lowered = str(need - 1)
    restored = earlier.before if earlier else lowered
    WATCHES.write_text(f"{lowered}\n")
    seed.up()
    record = HostRecord.from_json(seed.record_file.read_text())
    assert record.sysctls[WATCHES_KEY].before == restored

    foreign_ctd = _foreign_containerd(tmp_path)
    source, planted_mount = tmp_path / "src", seed.layout.local_volumes_dir / "garden-test-foreign"
    try:
        planted = _plant_foreign_rules()
        source.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(source)], check=True)
        (source / "keep").write_text("theirs")
        planted_mount.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "--bind", str(source), str(planted_mount)], check=True)

        # The whole `down` runs, then `--purge` refuses: a mount it did not make is inside.
        with pytest.raises(SeedError, match=f"mounts remain under it .*{planted_mount}"):
            seed.down(purge=True)
        assert seed.leftovers().empty(), seed.leftovers()
        assert seed.status().running == []
        assert _foreign_lines() == planted
        nft = subprocess.run(["nft", "list", "table", "inet", FOREIGN_NFT], capture_output=True)
        assert b"counter" in nft.stdout
        assert (planted_mount / "keep").read_text() == "theirs"
        assert (seed.paths.state / "etcd").is_dir()  # nothing purged
        assert WATCHES.read_text().strip() == restored  # put back
        assert foreign_ctd.poll() is None

        # A PID file naming the foreign containerd with another start time (as after a
        # reboot that gave the system's containerd the seed's old PID): never signalled.
        who = identity_of(foreign_ctd.pid)
        assert who is not None
        seed.table.pid_file("containerd").write_text(
            f"{who.pid}\n{shutil.which('containerd')}\nfp\n{who.start_ticks + 7}\n{who.boot_id}\n"
        )
        assert seed.table.pid("containerd") is None
        seed.down()
        time.sleep(1)
        assert foreign_ctd.poll() is None, "down signalled a containerd it did not start"
    finally:
        _remove_foreign_rules()
        while str(planted_mount) in network.mount_points():
            subprocess.run(["umount", str(planted_mount)], check=True)
        while str(source) in network.mount_points():
            subprocess.run(["umount", str(source)], check=True)
        planted_mount.rmdir()
        foreign_ctd.terminate()
        foreign_ctd.wait(timeout=30)
        # The host's own value again: the next `up` raises and records it only if it is
        # below the seed's need, as on the machine before this test.
        WATCHES.write_text(f"{host_value}\n")
        # Shared by every test session on the machine: bring it back.
        seed.up()
    assert seed.status().healthy
    again = HostRecord.from_json(seed.record_file.read_text()).sysctls.get(WATCHES_KEY)
    if int(host_value) < need:
        assert again is not None
        assert again.before == host_value
    else:
        assert again is None, again
