"""Bring the local seed up, report on it, and take it down without leftovers.

``up`` is idempotent: it builds what is missing, starts only components that are
not running and healthy, and returns once the node is Ready and the add-ons are
available. It records what it changes on the host (home.py, footprint.py): the
iptables chains and nft tables that appeared, the sysctls it raised, the mounts it
made. ``down`` stops what ``up`` started, by PID, in dependency order, then undoes
exactly what was recorded; data (etcd, images) stays for a fast next ``up``
unless ``purge`` is set.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from airflow_provider_garden.localseed import (
    addons,
    build,
    config,
    containerd,
    footprint,
    home,
    network,
    pki,
)
from airflow_provider_garden.localseed.components import Component, components
from airflow_provider_garden.localseed.config import NODE_NAME, Layout
from airflow_provider_garden.localseed.errors import SeedError
from airflow_provider_garden.localseed.footprint import HostRecord
from airflow_provider_garden.localseed.kubectl import Kubectl
from airflow_provider_garden.localseed.neighbours import other_forwarding, other_kubernetes
from airflow_provider_garden.localseed.netfilter import Netfilter
from airflow_provider_garden.localseed.packages import (
    ensure_debian_packages,
    require_free_space,
    require_root,
)
from airflow_provider_garden.localseed.paths import SeedPaths
from airflow_provider_garden.localseed.processes import (
    ProcessTable,
    executable_of,
    identity_of,
    listeners,
    terminate,
    wait_until,
)
from airflow_provider_garden.localseed.progress import step

STATE_GIB = 4  # etcd, unpacked images, pod logs and volumes of a test run
NODE_READY_TIMEOUT = 120.0
ADDONS_TIMEOUT = 180.0
# Directories the kubelet, containerd's shims and CNI library create at fixed host
# paths whatever their configuration says; ``down`` removes them once empty.
HOST_DIRS = (
    Path("/var/lib/kubelet/device-plugins"),
    Path("/var/lib/kubelet"),
    Path("/var/log/containers"),
    Path("/var/lib/cni/results"),
    Path("/var/lib/cni"),
    Path("/run/containerd/s"),
    Path("/run/containerd"),
)
# The kubelet's device-plugin registration socket (not configurable in 1.32).
KUBELET_DEVICE_SOCKET = Path("/var/lib/kubelet/device-plugins/kubelet.sock")
CONTAINER_LOG_LINKS = Path("/var/log/containers")
# kube-apiserver stops listening at once on SIGTERM but then lingers (20 s and more
# here) over its graceful shutdown; it keeps no state, so it is killed sooner.
_STOP_TIMEOUTS = {"kube-apiserver": 5.0}
# Stopped first: nothing may recreate pods while sandboxes are being removed.
_NODE_AND_CONTROLLERS = ("kubelet", "kube-proxy", "kube-scheduler", "kube-controller-manager")
_DAEMONS = ("containerd", "etcd", "kube-apiserver", *_NODE_AND_CONTROLLERS)
# Sysctls another Kubernetes or a container engine on the host relies on as well.
_SHARED_SYSCTLS = ("net/ipv4/ip_forward", network.BRIDGE_NF_CALL_IPTABLES)
# The CNI network name in the seed's conflist: part of every per-sandbox chain name.
CNI_NETWORK = "garden"


@dataclass(frozen=True, kw_only=True)
class ComponentStatus:
    name: str
    pid: int | None
    running: bool
    healthy: bool
    detail: str = ""


@dataclass(frozen=True, kw_only=True)
class Leftovers:
    """What of the seed exists on the host besides its daemons."""

    processes: list[str] = field(default_factory=list)  # "pid exe" of shims and containers
    mounts: list[str] = field(default_factory=list)
    bridge: bool = False
    veths: list[str] = field(default_factory=list)
    chains: dict[str, list[str]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)  # outside the state prefix

    def empty(self) -> bool:
        return not (
            self.processes or self.mounts or self.bridge or self.veths or self.chains or self.files
        )


@dataclass(frozen=True, kw_only=True)
class Status:
    components: list[ComponentStatus]
    leftovers: Leftovers
    kubeconfig: Path

    @property
    def running(self) -> list[str]:
        return [c.name for c in self.components if c.running]

    @property
    def healthy(self) -> bool:
        return all(c.healthy for c in self.components)

    def as_dict(self) -> dict[str, object]:
        return {
            "components": [asdict(c) for c in self.components],
            "leftovers": asdict(self.leftovers),
            "kubeconfig": str(self.kubeconfig),
            "healthy": self.healthy,
        }


class LocalSeed:
    """One seed on this machine, rooted at ``paths.state``."""

    def __init__(self, *, paths: SeedPaths | None = None) -> None:
        self.paths = paths or SeedPaths.default()
        self.layout = Layout(paths=self.paths)
        self.table = ProcessTable(
            run_dir=self.paths.run, log_dir=self.paths.logs, home=self.paths.state
        )
        self.netfilter = Netfilter()
        # How the seed sees other Kubernetes on its host (processes, paths); a seed
        # inside a test's own network namespace is given the view of that namespace.
        self.other_kubernetes = other_kubernetes

    @property
    def record_file(self) -> Path:
        return self.paths.state / "host-record.json"

    def _load_record(self) -> HostRecord | None:
        try:
            return HostRecord.from_json(self.record_file.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError) as err:
            raise SeedError(
                f"{self.record_file} is unreadable ({err}): it lists what the seed changed on "
                "this host; restore it or remove the seed's chains and mounts by hand"
            ) from err

    def _save_record(self, record: HostRecord) -> None:
        partial = self.record_file.with_suffix(".partial")
        partial.write_text(record.to_json())
        partial.replace(self.record_file)

    def _open(self) -> HostRecord:
        """Under the lock: the host record, adopting an older seed's state if need be."""
        for name in _DAEMONS:
            self.table.adopt_legacy(name)
        record = self._load_record()
        if record is None:
            record = self._adopted_record() if self._running_pids() else HostRecord()
            self._save_record(record)
        return record

    def _adopted_record(self) -> HostRecord:
        """A record for a seed that already runs but recorded nothing (an older version).

        Its chains cannot be told from ones that were there before it: with no other
        Kubernetes here every kube-style chain is taken as the seed's, otherwise none
        (the seed's then stay behind rather than another node's going).
        """
        observed = self.netfilter.ruleset()
        others = self.other_kubernetes(self._own_pids())
        record = HostRecord(
            active=True,
            adopted=True,
            baseline_chains=footprint.user_chains(observed) if others else {},
            baseline_nft=[
                t.name
                for t in self.netfilter.nft_tables()
                if t.name not in footprint.IPTABLES_NFT_TABLES
            ],
        )
        if str(self.layout.kubelet_dir) in network.mount_points():
            record.mounts.append(str(self.layout.kubelet_dir))
        record.bridge = network.bridge_exists()
        if not others:
            record.host_dirs = [str(d) for d in HOST_DIRS if d.is_dir()]
        print(
            "    recording the running seed's host changes from now on; "
            + (
                f"another Kubernetes is here ({'; '.join(others)}): its chains are not adopted"
                if others
                else "its kube-style iptables chains are taken as its own"
            ),
            file=sys.stderr,
        )
        return record

    def _running_pids(self) -> list[int]:
        return [pid for name in _DAEMONS if (pid := self.table.pid(name)) is not None]

    def _own_pids(self) -> list[int]:
        """The seed's daemons, shims and every process in its containers."""
        shims = containerd.shim_pids(self.layout)
        return self._running_pids() + shims + _descendants(shims)

    # --- up ------------------------------------------------------------------
    def up(self) -> Path:
        """Make the seed run, current and healthy; return the admin kubeconfig path.

        Every step is idempotent and cheap when there is nothing to do, so a second
        ``up`` only checks: binaries and images are current (a changed toolbox is
        rebuilt and imported), each daemon runs what it should and is healthy, the
        node is Ready and the add-ons are available.
        """
        require_root("the local seed (containers, mounts, iptables)")
        home.ensure_home(self.paths.state)
        require_free_space(self.paths.state, STATE_GIB, "the local seed's state")
        with self._lock():
            ensure_debian_packages(network.HOST_PACKAGES)
            network.check_kernel()
            record = self._open()
            if not record.active:
                self._begin_recording(record)
            record.add_sysctls(network.ensure_sysctls())
            self._save_record(record)
            bins = build.ensure_binaries(self.paths)
            images = build.ensure_images(self.paths)
            self._record_binaries(bins)
            self._write_files()
            if network.ensure_bridge():
                record.bridge = True
                self._save_record(record)
            if network.ensure_rshared(self.layout.kubelet_dir):
                record.mounts.append(str(self.layout.kubelet_dir))
                self._save_record(record)
            try:
                return self._start(bins, images)
            finally:
                self._record_new_chains(record)

    def _begin_recording(self, record: HostRecord) -> None:
        """Nothing of the seed runs: what the host has now is not the seed's.

        Chains and tables a failed ``down`` left stay recorded as the seed's.
        """
        observed = self.netfilter.ruleset()
        record.baseline_chains = {
            key: [c for c in names if c not in record.chains.get(key, [])]
            for key, names in footprint.user_chains(observed).items()
        }
        record.baseline_nft = [
            t.name for t in self.netfilter.nft_tables() if t.name not in record.nft_tables
        ]
        record.host_dirs += [
            str(d) for d in HOST_DIRS if not d.exists() and str(d) not in record.host_dirs
        ]
        record.active = True
        self._save_record(record)

    def _record_new_chains(self, record: HostRecord) -> None:
        """After ``up`` started the seed: the chains and nft tables that appeared are its."""
        observed = self.netfilter.ruleset()
        record.add_chains(footprint.new_chains(record.baseline_chains, observed))
        record.add_nft_tables(t.name for t in self.netfilter.nft_tables())
        self._save_record(record)

    def _start(self, bins: build.Binaries, images: list[build.ImageArchive]) -> Path:
        comps = self._components(bins)
        # Changed binaries or flags: stop dependants before what they depend on.
        for component in reversed(comps):
            running = self.table.pid(component.name) is not None
            if running and self.table.fingerprint(component.name) != self._fingerprint(component):
                with step(f"stop {component.name} (binary or configuration changed)"):
                    self._stop(component.name)
        kubelet_started = None
        for component in comps:
            # Heartbeat timestamps have whole seconds.
            before = dt.datetime.now(dt.UTC).replace(microsecond=0)
            if self._ensure_running(component) and component.name == "kubelet":
                kubelet_started = before
            if component.name == "containerd":
                imported = containerd.import_images(
                    self.layout, [(i.ref, i.archive) for i in images]
                )
                if imported:
                    print(f"    imported into containerd: {', '.join(imported)}", file=sys.stderr)
        kubectl = self._kubectl(bins)
        wait_until(
            lambda: _node_not_ready(kubectl, since=kubelet_started),
            timeout=NODE_READY_TIMEOUT,
            what=f"node {NODE_NAME}",
            alive=lambda: self._died("kubelet"),
        )
        addons.apply_addons(kubectl, volumes_dir=self.layout.local_volumes_dir)
        wait_until(lambda: addons.addons_not_ready(kubectl), timeout=ADDONS_TIMEOUT, what="add-ons")
        return self.paths.kubeconfig

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """One ``up`` or ``down`` at a time (parallel test sessions share the seed).

        Called only once the home is known to be the seed's.
        """
        self.paths.run.mkdir(parents=True, exist_ok=True)
        with (self.paths.run / "seed.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def _kubectl(self, bins: build.Binaries) -> Kubectl:
        return Kubectl(
            binary=bins.kubectl,
            kubeconfig=self.paths.kubeconfig,
            cache_dir=self.layout.state / "kubectl-cache",
        )

    def _write_files(self) -> None:
        layout = self.layout
        for directory in (
            layout.state,
            layout.config_dir,
            layout.cni_conf_dir,
            layout.cni_ipam_dir,
            layout.kubelet_dir,
            layout.volume_plugin_dir,
            layout.pod_logs_dir,
            layout.local_volumes_dir,
            layout.etcd_data,
            layout.containerd_dir,
        ):
            directory.mkdir(parents=True, exist_ok=True)
        os.chmod(layout.etcd_data, 0o700)  # etcd refuses a data dir others can read
        pki.ensure_pki(layout)
        files = {
            layout.containerd_config: config.containerd_config(
                layout, sandbox_image=build.PAUSE_REF
            ),
            layout.cni_conf_dir / "10-garden.conflist": config.cni_conflist(layout),
            layout.config_dir / "kubelet.json": config.kubelet_config(layout),
            layout.config_dir / "kube-proxy.json": config.kube_proxy_config(layout),
        }
        for path, text in files.items():
            if not path.exists() or path.read_text() != text:
                path.write_text(text)

    def _components(self, bins: build.Binaries) -> list[Component]:
        containerd_bin = shutil.which("containerd")
        if containerd_bin is None:
            raise SeedError("containerd is not installed: apt-get install containerd")
        return components(self.layout, bins, containerd=Path(containerd_bin))

    def _ensure_running(self, component: Component) -> bool:
        """Start ``component`` unless it runs healthy; True if it was (re)started."""
        name = component.name
        if self.table.pid(name) is not None:
            try:
                self._wait_healthy(component)
                return False
            except SeedError:
                with step(f"restart unhealthy {name}"):
                    self._stop(name)
        self._check_ports(component)
        with step(f"start {name}"):
            self.table.start(name, component.argv, fingerprint=self._fingerprint(component))
            try:
                self._wait_healthy(component)
            except SeedError as err:
                tail = self.table.log_tail(name)
                raise SeedError(
                    f"{err}\nlast lines of {self.table.log_file(name)}:\n{tail}"
                ) from err
        return True

    def _wait_healthy(self, component: Component) -> None:
        name = component.name
        wait_until(
            component.health,
            timeout=component.start_timeout,
            what=name,
            alive=lambda: self._died(name),
        )

    def _stop(self, name: str) -> None:
        self.table.stop(name, timeout=_STOP_TIMEOUTS.get(name, 20.0))

    def _fingerprint(self, component: Component) -> str:
        digest = hashlib.sha256("\0".join(component.argv).encode())
        for arg in component.argv:
            path = Path(arg.partition("=")[2])
            if path.parent in (self.layout.config_dir, self.layout.containerd_dir):
                digest.update(path.read_bytes())
        return digest.hexdigest()

    def _died(self, name: str) -> str | None:
        if self.table.pid(name) is None:
            return f"{name} exited (see {self.table.log_file(name)})"
        return None

    def _check_ports(self, component: Component) -> None:
        for held in listeners(component.ports):
            raise SeedError(
                f"port {held.port} needed by {component.name} is in use by PID {held.pid} "
                f"({held.executable}): stop that process or free the port, then retry"
            )

    def _record_binaries(self, bins: build.Binaries) -> None:
        self.paths.run.mkdir(parents=True, exist_ok=True)
        record = {k: str(v) for k, v in asdict(bins).items()}
        (self.paths.run / "binaries.json").write_text(json.dumps(record, indent=2) + "\n")

    def _recorded_binaries(self) -> build.Binaries | None:
        """The binaries the last ``up`` ran, so ``down``/``status`` never trigger a build."""
        try:
            record = json.loads((self.paths.run / "binaries.json").read_text())
            return build.Binaries(**{k: Path(v) for k, v in record.items()})
        except (OSError, ValueError, TypeError):
            return None

    # --- status --------------------------------------------------------------
    def status(self) -> Status:
        # Read-only: never waits for an `up` holding the lock.
        home.refuse_foreign(self.paths.state)
        bins = self._recorded_binaries()
        result = []
        for component in self._components(bins) if bins else []:
            pid = self.table.pid(component.name)
            detail = component.health() if pid is not None else "not running"
            result.append(
                ComponentStatus(
                    name=component.name,
                    pid=pid,
                    running=pid is not None,
                    healthy=detail is None,
                    detail=detail or "",
                )
            )
        return Status(
            components=result, leftovers=self.leftovers(), kubeconfig=self.paths.kubeconfig
        )

    def leftovers(self) -> Leftovers:
        """What of the seed (by its record) is still on the host besides its daemons."""
        try:
            record = self._load_record() or HostRecord()
        except SeedError:
            record = HostRecord()
        chains = footprint.plan_chain_removal(
            recorded=record.chains,
            baseline=record.baseline_chains,
            observed=self.netfilter.ruleset(),
        )
        return Leftovers(
            processes=[f"{pid} {executable_of(pid)}" for pid in self._stray_pids()],
            mounts=self._our_mounts(record),
            bridge=record.bridge and network.bridge_exists(),
            veths=network.bridge_ports() if record.bridge and network.bridge_exists() else [],
            chains={k: [*p.chains, *p.kept] for k, p in chains.items()},
            files=[str(p) for p in self._host_traces(record)],
        )

    def _our_mounts(self, record: HostRecord) -> list[str]:
        layout = self.layout
        return footprint.mounts_to_unmount(
            recorded=record.mounts,
            daemon_dirs=(layout.kubelet_dir, layout.containerd_root, layout.containerd_state),
            observed=network.mount_points(),
        )

    def _host_traces(self, record: HostRecord) -> list[Path]:
        ours = str(KUBELET_DEVICE_SOCKET.parent) in record.host_dirs
        traces = [KUBELET_DEVICE_SOCKET] if ours and KUBELET_DEVICE_SOCKET.is_socket() else []
        for link in CONTAINER_LOG_LINKS.glob("*.log"):
            if link.is_symlink() and os.readlink(link).startswith(f"{self.paths.state}/"):
                traces.append(link)
        return traces

    def _stray_pids(self) -> list[int]:
        """Shims of our containerd and processes still running in its containers."""
        pids = [p for p in containerd.shim_pids(self.layout) if executable_of(p) is not None]
        pids += self._runc_container_pids()
        return pids

    def _runc_container_pids(self) -> list[int]:
        pids = []
        for state in self.layout.runc_root.glob("*/*/state.json"):
            try:
                pid = int(json.loads(state.read_text())["init_process_pid"])
            except (OSError, ValueError, KeyError):
                continue
            if executable_of(pid) is not None:
                pids.append(pid)
        return pids

    # --- down ----------------------------------------------------------------
    def down(self, *, purge: bool = False) -> Leftovers:
        """Stop everything the seed started and undo what it recorded; return what remains."""
        require_root("stopping the local seed")
        if not home.require_home(self.paths.state):
            return self.leftovers()  # never created here: nothing to stop or remove
        with self._lock():
            record = self._open()
            others = self.other_kubernetes(self._own_pids())
            if others:
                print(
                    f"    another Kubernetes is on this host ({'; '.join(others)}): leaving "
                    "the chains and settings all nodes share",
                    file=sys.stderr,
                )
            sandboxes = self._sandbox_ids()
            if record.active and not others:
                # Shared chains the kubelet, kube-proxy or portmap made after ``up``
                # (anything else new may be someone else's; and once down, nothing is).
                observed = self.netfilter.ruleset()
                shared = footprint.SHARED_KUBE_CHAINS
                record.add_chains(
                    footprint.new_chains(record.baseline_chains, observed, only=shared)
                )
            self._stop_all()
            with step("unmount, delete bridge garden0, remove recorded chains and tables"):
                network.unmount(self._our_mounts(record))
                if record.bridge:
                    network.delete_bridge()
                self._remove_chains(record, sandboxes, others=bool(others))
                if not others:
                    self._remove_host_traces(record)
                self._restore_sysctls(record, users=other_forwarding(self._own_pids()))
            self._finish_record(record)
            if purge:
                self._purge()
        return self.leftovers()

    def _purge(self) -> None:
        with step(f"purge {self.paths.state}"):
            remaining = network.mounts_under(self.paths.state)
            if remaining:
                raise SeedError(
                    f"not deleting {self.paths.state}: mounts remain under it that the seed "
                    f"did not make or could not unmount ({', '.join(remaining)}); unmount "
                    "them first, then run `down --purge` again"
                )
            try:
                shutil.rmtree(self.paths.state)
            except OSError as err:
                raise SeedError(f"could not delete all of {self.paths.state}: {err}") from err

    def _sandbox_ids(self) -> set[str]:
        """IDs of the pod sandboxes of our containerd (they name their CNI chains)."""
        ids = {p.name for p in (self.layout.runc_root / containerd.NAMESPACE).glob("*")}
        bins = self._recorded_binaries()
        if bins is not None and self.table.pid("containerd") is not None:
            ids |= set(containerd.sandbox_ids(self.layout, bins.crictl))
        return ids

    def _remove_chains(self, record: HostRecord, sandboxes: set[str], *, others: bool) -> None:
        plans = footprint.plan_chain_removal(
            recorded=record.chains,
            baseline=record.baseline_chains,
            observed=self.netfilter.ruleset(),
            cni_chains=footprint.cni_chain_names(CNI_NETWORK, sandboxes),
            other_kubernetes=others,
        )
        for failure in self.netfilter.remove_chains(plans):
            print(f"    could not remove chain {failure}", file=sys.stderr)
        for key, plan in plans.items():
            if plan.kept:
                print(
                    f"    kept {key} {', '.join(plan.kept)}: used by chains not ours",
                    file=sys.stderr,
                )
        doomed = footprint.nft_tables_to_delete(
            recorded=record.nft_tables,
            observed=self.netfilter.nft_tables(),
            other_kubernetes=others,
        )
        for table in doomed:
            error = self.netfilter.delete_nft_table(table)
            if error:
                print(f"    could not delete nft table {table}: {error}", file=sys.stderr)

    def _restore_sysctls(self, record: HostRecord, *, users: list[str]) -> None:
        """Put back what ``up`` raised; forwarding stays on while others rely on it."""
        shared = {k: v for k, v in record.sysctls.items() if users and k in _SHARED_SYSCTLS}
        mine = {k: v for k, v in record.sysctls.items() if k not in shared}
        restored, left = network.restore_sysctls(mine)
        for key, value in restored.items():
            print(f"    sysctl {key.replace('/', '.')} back to {value}", file=sys.stderr)
        for key, why in left.items():
            print(f"    sysctl {key.replace('/', '.')} left: {why}", file=sys.stderr)
        for key in shared:
            print(
                f"    sysctl {key.replace('/', '.')} left raised: in use ({'; '.join(users)})",
                file=sys.stderr,
            )
        record.sysctls = shared  # restored or no longer ours; shared ones wait for a later down

    def _finish_record(self, record: HostRecord) -> None:
        """Keep only what is still on the host: a later ``up`` must not take it for foreign."""
        observed = self.netfilter.ruleset()
        record.chains = {
            key: [c for c in names if c in observed.get(key, footprint.Table()).chains]
            for key, names in record.chains.items()
        }
        record.chains = {k: v for k, v in record.chains.items() if v}
        present = {t.name for t in self.netfilter.nft_tables()}
        record.nft_tables = [t for t in record.nft_tables if t in present]
        record.mounts = [m for m in record.mounts if m in network.mount_points()]
        record.host_dirs = [d for d in record.host_dirs if Path(d).exists()]
        record.bridge = record.bridge and network.bridge_exists()
        record.baseline_chains, record.baseline_nft, record.active = {}, [], False
        self._save_record(record)

    def _stop_all(self) -> None:
        bins = self._recorded_binaries()
        with step("stop kubelet, kube-proxy and controllers"):
            for name in _NODE_AND_CONTROLLERS:
                self._stop(name)
        if bins is not None and self.table.pid("containerd") is not None:
            with step("remove pod sandboxes (CNI DEL)"):
                error = containerd.remove_all_pods(self.layout, bins.crictl)
                if error:
                    print(f"    crictl rmp: {error}", file=sys.stderr)
        with step("stop containerd and its shims"):
            self._stop("containerd")
            self._kill_containers()
            for pid in containerd.shim_pids(self.layout):
                who = identity_of(pid)
                if who and (executable_of(pid) or "").endswith("containerd-shim-runc-v2"):
                    terminate(who, timeout=10)
        with step("stop kube-apiserver and etcd"):
            self._stop("kube-apiserver")
            self._stop("etcd")

    def _remove_host_traces(self, record: HostRecord) -> None:
        """What the kubelet left outside the home (only when no other kubelet is here):
        its device-plugin socket, log links into our home, the fixed host directories
        it and containerd made (recorded as absent before the seed started)."""
        for trace in self._host_traces(record):
            trace.unlink()
        for directory in HOST_DIRS:
            if str(directory) in record.host_dirs:
                with contextlib.suppress(OSError):  # gone, or not empty: not only ours
                    directory.rmdir()

    def _kill_containers(self) -> None:
        """Containers whose sandboxes CRI could not remove (containerd was dead or stuck)."""
        for ns_root in self.layout.runc_root.glob("*"):
            if not ns_root.is_dir():
                continue
            for state in ns_root.glob("*/state.json"):
                subprocess.run(
                    ["runc", f"--root={ns_root}", "delete", "--force", state.parent.name],
                    capture_output=True,
                    check=False,
                    timeout=30,
                )


def _node_not_ready(kubectl: Kubectl, *, since: dt.datetime | None = None) -> str | None:
    """None when the node is Ready, by a heartbeat at or after ``since`` if given.

    A restarted kubelet finds its node still marked Ready from before it stopped;
    only a fresh heartbeat says the new kubelet has registered.
    """
    proc = kubectl.try_run(
        "get",
        "node",
        NODE_NAME,
        "-o",
        'jsonpath={range .status.conditions[?(@.type=="Ready")]}{.status} {.lastHeartbeatTime}{end}',
        timeout=15,
    )
    if proc.returncode != 0:
        return proc.stderr.strip() or "kubectl get node failed"
    ready, _, heartbeat = proc.stdout.strip().partition(" ")
    if ready != "True":
        return f"Ready={ready or 'unknown'}"
    if since and dt.datetime.fromisoformat(heartbeat) < since:
        return f"Ready only as of {heartbeat}, before the kubelet started"
    return None


def _descendants(roots: list[int]) -> list[int]:
    children: dict[int, list[int]] = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(proc.name))
    found, todo = [], list(roots)
    while todo:
        kids = children.get(todo.pop(), [])
        found += kids
        todo += kids
    return found
