"""Bring the local seed up, report on it, and take it down without leftovers.

``up`` is idempotent: it builds what is missing, starts only components that are
not running and healthy, and returns once the node is Ready and the add-ons are
available. ``down`` stops what ``up`` started, by PID, in dependency order, then
removes the seed's mounts, bridge and iptables chains; data (etcd, images) stays
for a fast next ``up`` unless ``purge`` is set.
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

from airflow_provider_garden.localseed import addons, build, config, containerd, network, pki
from airflow_provider_garden.localseed.components import BinaryPaths, Component, components
from airflow_provider_garden.localseed.config import NODE_NAME, Layout
from airflow_provider_garden.localseed.errors import SeedError
from airflow_provider_garden.localseed.kubectl import Kubectl
from airflow_provider_garden.localseed.packages import (
    ensure_debian_packages,
    require_free_space,
    require_root,
)
from airflow_provider_garden.localseed.paths import SeedPaths
from airflow_provider_garden.localseed.processes import (
    ProcessTable,
    executable_of,
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
        self.table = ProcessTable(run_dir=self.paths.run, log_dir=self.paths.logs)

    # --- up ------------------------------------------------------------------
    def up(self) -> Path:
        """Make the seed run, current and healthy; return the admin kubeconfig path.

        Every step is idempotent and cheap when there is nothing to do, so a second
        ``up`` only checks: binaries and images are current (a changed toolbox is
        rebuilt and imported), each daemon runs what it should and is healthy, the
        node is Ready and the add-ons are available.
        """
        require_root("the local seed (containers, mounts, iptables)")
        require_free_space(self.paths.state, STATE_GIB, "the local seed's state")
        with self._lock():
            ensure_debian_packages(network.HOST_PACKAGES)
            network.check_kernel()
            network.ensure_sysctls()
            bins = build.ensure_binaries(self.paths)
            images = build.ensure_images(self.paths)
            self._record_binaries(bins)
            self._write_files()
            network.ensure_bridge()
            network.ensure_rshared(self.layout.kubelet_dir)
            return self._start(bins, images)

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
        """One ``up`` or ``down`` at a time (parallel test sessions share the seed)."""
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
        return components(
            self.layout,
            BinaryPaths(
                containerd=Path(containerd_bin),
                etcd=bins.etcd,
                kube_apiserver=bins.kube_apiserver,
                kube_controller_manager=bins.kube_controller_manager,
                kube_scheduler=bins.kube_scheduler,
                kubelet=bins.kubelet,
                kube_proxy=bins.kube_proxy,
            ),
        )

    def _ensure_running(self, component: Component) -> bool:
        """Start ``component`` unless it runs healthy; True if it was (re)started."""
        name = component.name
        if self.table.pid(name) is not None:
            try:
                wait_until(
                    component.health,
                    timeout=component.start_timeout,
                    what=name,
                    alive=lambda: self._died(name),
                )
                return False
            except SeedError:
                with step(f"restart unhealthy {name}"):
                    self._stop(name)
        self._check_ports(component)
        with step(f"start {name}"):
            self.table.start(name, component.argv, fingerprint=self._fingerprint(component))
            try:
                wait_until(
                    component.health,
                    timeout=component.start_timeout,
                    what=name,
                    alive=lambda: self._died(name),
                )
            except SeedError as err:
                tail = self.table.log_tail(name)
                raise SeedError(
                    f"{err}\nlast lines of {self.table.log_file(name)}:\n{tail}"
                ) from err
        return True

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
        return Leftovers(
            processes=[f"{pid} {executable_of(pid)}" for pid in self._stray_pids()],
            mounts=network.mounts_under(self.paths.state),
            bridge=network.bridge_exists(),
            veths=network.bridge_ports() if network.bridge_exists() else [],
            chains=network.seed_chains(network.run(["iptables-save"]).stdout),
            files=[str(p) for p in self._host_traces()],
        )

    def _host_traces(self) -> list[Path]:
        traces = [KUBELET_DEVICE_SOCKET] if KUBELET_DEVICE_SOCKET.is_socket() else []
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
        """Stop everything the seed started and remove its host state; return what remains."""
        require_root("stopping the local seed")
        with self._lock():
            self._stop_all()
            if purge:
                with step(f"purge {self.paths.state}"):
                    if network.mounts_under(self.paths.state):
                        raise SeedError(
                            f"not deleting {self.paths.state}: mounts remain under it: "
                            f"{network.mounts_under(self.paths.state)}"
                        )
                    shutil.rmtree(self.paths.state, ignore_errors=True)
        return self.leftovers()

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
        if bins is not None:
            with step("kube-proxy --cleanup"):
                subprocess.run(
                    [str(bins.kube_proxy), "--cleanup"],
                    capture_output=True,
                    check=False,
                    timeout=60,
                )
        with step("stop containerd and its shims"):
            self._stop("containerd")
            self._kill_containers()
            for pid in containerd.shim_pids(self.layout):
                if (executable_of(pid) or "").endswith("containerd-shim-runc-v2"):
                    terminate(pid, timeout=10)
        with step("stop kube-apiserver and etcd"):
            self._stop("kube-apiserver")
            self._stop("etcd")
        with step("unmount, delete bridge garden0, remove iptables chains"):
            network.unmount_all(self.paths.state)
            network.delete_bridge()
            alone = not _other_kube_daemons()
            network.remove_chains(markers=alone)
            if alone:
                self._remove_host_traces()

    def _remove_host_traces(self) -> None:
        """What the kubelet left outside the state prefix (called only when no other
        kubelet runs here): its device-plugin socket, log links into our state."""
        for trace in self._host_traces():
            trace.unlink()
        for directory in HOST_DIRS:
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


def _other_kube_daemons() -> bool:
    """Whether a kubelet or kube-proxy not started by us runs (then shared chains stay)."""
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            exe = executable_of(int(proc.name)) or ""
            if exe.rsplit("/", 1)[-1] in ("kubelet", "kube-proxy"):
                return True
    return False
