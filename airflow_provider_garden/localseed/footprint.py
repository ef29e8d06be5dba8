"""What the local seed changed on the host, and which of what the host shows ``down`` may undo.

Pure: a JSON record written under the seed's home, and decisions taken from that
record and what the host shows now. Nothing here reads or changes the host (see
netfilter.py, network.py, processes.py): every rule of ownership is unit-tested.

Ownership is never guessed from addresses (a kubeadm cluster also uses 10.96.0.0/12):
- iptables chains: those absent before the seed first started and present once it
  ran (recorded by ``up``), the chains reachable only through those (kube-proxy's
  per-Service chains), and the CNI chains named after the seed's own sandboxes;
- nft tables: those absent before the seed started and present after;
- mounts: those the seed's code made, and those inside its kubelet's and
  containerd's own directories;
- sysctls: the ones it raised, back to the value they had, if nobody changed them since.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

RECORD_VERSION = 1
# Chains every kubelet and kube-proxy on a host share by name: kept while another
# Kubernetes runs here, whoever created them.
SHARED_KUBE_CHAINS = frozenset(
    {
        "KUBE-KUBELET-CANARY",
        "KUBE-PROXY-CANARY",
        "KUBE-IPTABLES-HINT",
        "KUBE-FIREWALL",
        "KUBE-FORWARD",
        "KUBE-PROXY-FIREWALL",
        "KUBE-NODEPORTS",
        "KUBE-SERVICES",
        "KUBE-EXTERNAL-SERVICES",
        "KUBE-POSTROUTING",
        "KUBE-MARK-MASQ",
        "KUBE-MARK-DROP",
        "CNI-HOSTPORT-DNAT",
        "CNI-HOSTPORT-SETMARK",
        "CNI-HOSTPORT-MASQ",
    }
)
# The seed's kubelet, kube-proxy and CNI plugins name every chain they make so.
SEED_CHAIN_PREFIXES = ("KUBE-", "CNI-")
# nft tables that iptables-nft uses for iptables' tables: shared by every iptables
# user, so removed only when nothing is left in them.
IPTABLES_NFT_TABLES = frozenset(
    f"{family} {table}"
    for family in ("ip", "ip6")
    for table in ("filter", "nat", "mangle", "raw", "security")
)


# --- iptables rulesets ------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class Rule:
    chain: str
    spec: str  # what follows "-A <chain> " in iptables-save output
    target: str | None  # the chain or verdict of -j / -g


@dataclass(frozen=True, kw_only=True)
class Table:
    builtin: tuple[str, ...] = ()
    chains: tuple[str, ...] = ()  # user-defined
    rules: tuple[Rule, ...] = ()

    def referrers(self, chain: str) -> set[str]:
        return {r.chain for r in self.rules if r.target == chain}


# "ipv4/nat" -> Table
Ruleset = dict[str, Table]


def parse_save(text: str, family: str) -> Ruleset:
    """``iptables-save`` (``family`` ipv4) or ``ip6tables-save`` (ipv6) output as tables."""
    tables: Ruleset = {}
    name = ""
    builtin: list[str] = []
    chains: list[str] = []
    rules: list[Rule] = []
    for line in text.splitlines():
        if line.startswith("*"):
            name, builtin, chains, rules = line[1:].strip(), [], [], []
        elif line.startswith(":"):
            chain, policy = line[1:].split()[:2]
            (chains if policy == "-" else builtin).append(chain)
        elif line.startswith("-A "):
            chain, _, spec = line[3:].partition(" ")
            rules.append(Rule(chain=chain, spec=spec, target=_target(spec)))
        elif line.strip() == "COMMIT" and name:
            tables[f"{family}/{name}"] = Table(
                builtin=tuple(builtin), chains=tuple(chains), rules=tuple(rules)
            )
    return tables


def _target(spec: str) -> str | None:
    try:
        words = shlex.split(spec)
    except ValueError:
        words = spec.split()
    for flag in ("-j", "--jump", "-g", "--goto"):
        if flag in words[:-1]:
            return words[words.index(flag) + 1]
    return None


def user_chains(rules: Ruleset) -> dict[str, list[str]]:
    return {key: list(table.chains) for key, table in rules.items() if table.chains}


def new_chains(
    baseline: Mapping[str, Iterable[str]],
    observed: Ruleset,
    *,
    only: frozenset[str] | None = None,
) -> dict[str, list[str]]:
    """Chains named like the seed's that were not there before it started (of ``only``)."""
    found = {}
    for key, table in observed.items():
        before = set(baseline.get(key, ()))
        names = [
            c
            for c in table.chains
            if c not in before
            and c.startswith(SEED_CHAIN_PREFIXES)
            and not _cni_hash_chain(c)
            and (only is None or c in only)
        ]
        if names:
            found[key] = names
    return found


def _cni_hash_chain(chain: str) -> bool:
    # Per-sandbox CNI chains: known by the seed's own sandbox IDs (cni_chain_names),
    # never by having appeared while the seed ran (another CNI user makes them too).
    rest = chain.removeprefix("CNI-").removeprefix("DN-")
    return len(rest) >= 20 and all(ch in "0123456789abcdef" for ch in rest)


def cni_chain_names(network: str, sandbox_ids: Iterable[str]) -> set[str]:
    """Chains the CNI bridge (masquerade) and portmap plugins make for these sandboxes.

    Named "CNI-" / "CNI-DN-" plus the SHA-512 of network name and sandbox ID, cut
    to 28 characters (containernetworking/plugins' chain naming).
    """
    names = set()
    for sandbox in sandbox_ids:
        digest = hashlib.sha512((network + sandbox).encode()).hexdigest()
        names.add(f"CNI-{digest}"[:28])
        names.add(f"CNI-DN-{digest}"[:28])
    return names


@dataclass(frozen=True, kw_only=True)
class ChainRemoval:
    """What ``down`` does to one table: delete jumps in built-in chains, then the chains."""

    jumps: tuple[Rule, ...] = ()  # rules in built-in chains that jump into doomed chains
    chains: tuple[str, ...] = ()  # flushed, then deleted, in this order
    kept: tuple[str, ...] = ()  # recorded as ours but still used by a chain not ours


def plan_chain_removal(
    *,
    recorded: Mapping[str, Iterable[str]],
    baseline: Mapping[str, Iterable[str]],
    observed: Ruleset,
    cni_chains: Iterable[str] = (),
    other_kubernetes: bool = False,
) -> dict[str, ChainRemoval]:
    """Which observed chains to delete: ours by record, by reach, or by sandbox name.

    A chain recorded as ours is still kept while a user chain that is not ours jumps
    to it (someone else uses it), and so is everything it jumps to. While another
    Kubernetes runs, the chains all kubelets and kube-proxies share stay too.
    """
    cni = set(cni_chains)
    plans = {}
    for key, table in observed.items():
        present = set(table.chains)
        before = set(baseline.get(key, ()))
        ours = (set(recorded.get(key, ())) | cni) & present
        if other_kubernetes:
            ours -= SHARED_KUBE_CHAINS
        ours = _reachable_only_through(ours, table, exclude=before)
        kept = _used_by_others(ours, table)
        doomed = [c for c in table.chains if c in ours and c not in kept]
        if not doomed and not kept:
            continue
        doomed_set = set(doomed)
        jumps = tuple(r for r in table.rules if r.chain in table.builtin and r.target in doomed_set)
        plans[key] = ChainRemoval(
            jumps=jumps, chains=tuple(doomed), kept=tuple(c for c in table.chains if c in kept)
        )
    return plans


def _reachable_only_through(ours: set[str], table: Table, *, exclude: set[str]) -> set[str]:
    """``ours`` plus every user chain whose only referrers are chains in the result."""
    result = set(ours)
    changed = True
    while changed:
        changed = False
        for chain in table.chains:
            if chain in result or chain in exclude:
                continue
            referrers = table.referrers(chain)
            if referrers and referrers <= result:
                result.add(chain)
                changed = True
    return result


def _used_by_others(ours: set[str], table: Table) -> set[str]:
    """Chains of ``ours`` a foreign user chain jumps to, and all they lead to."""
    foreign = set(table.chains) - ours
    kept = {r.target for r in table.rules if r.chain in foreign and r.target in ours}
    todo = list(kept)
    while todo:
        chain = todo.pop()
        for rule in table.rules:
            if rule.chain == chain and rule.target in ours and rule.target not in kept:
                kept.add(rule.target)
                todo.append(rule.target)
    return {c for c in kept if c is not None}


# --- nft tables -------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class NftTable:
    name: str  # "<family> <table>", as `nft list tables` prints it
    rules: int  # rules in all its chains
    chains: int = 0  # chains not hooked into the stack (iptables' user-defined chains)

    @property
    def empty(self) -> bool:
        return self.rules == 0 and self.chains == 0


def nft_tables_to_delete(
    *, recorded: Iterable[str], observed: Iterable[NftTable], other_kubernetes: bool
) -> list[str]:
    """Recorded tables still present: iptables' own only once empty; others whole,
    unless another Kubernetes runs (its kube-proxy may use a table of that name)."""
    wanted = set(recorded)
    doomed = []
    for table in observed:
        if table.name not in wanted:
            continue
        if table.name in IPTABLES_NFT_TABLES:
            if table.empty:
                doomed.append(table.name)
        elif not other_kubernetes:
            doomed.append(table.name)
    return doomed


# --- mounts -----------------------------------------------------------------------
def mounts_to_unmount(
    *, recorded: Iterable[str], daemon_dirs: Iterable[Path], observed: Iterable[str]
) -> list[str]:
    """Observed mount points that are ours, deepest (then latest) first.

    Ours: the points the seed's code mounted (recorded), and mounts strictly inside
    the directories its kubelet and containerd manage (volumes, rootfs, netns).
    ``observed`` is in mount order, as /proc/self/mountinfo lists it.
    """
    mine = set(recorded)
    dirs = [str(d) for d in daemon_dirs]
    points = [p for p in observed if p in mine or any(p.startswith(f"{d}/") for d in dirs)]
    points.reverse()  # a later mount may sit on an earlier one at the same point
    return sorted(points, key=lambda p: p.count("/"), reverse=True)


# --- sysctls ----------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class SysctlChange:
    before: str
    set: str


def sysctls_to_raise(
    wanted: Mapping[str, int], current: Mapping[str, str]
) -> dict[str, SysctlChange]:
    """Sysctls below what the seed needs, with the values they have now."""
    return {
        key: SysctlChange(before=current[key], set=str(value))
        for key, value in wanted.items()
        if int(current[key].split()[0]) < value
    }


def sysctls_to_restore(
    recorded: Mapping[str, SysctlChange], current: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    """(key -> value to write back, key -> why it is left) for the recorded changes.

    A value somebody changed after the seed set it is theirs now and stays.
    """
    restore, left = {}, {}
    for key, change in recorded.items():
        now = current.get(key)
        if now is None:
            left[key] = "no longer exists"
        elif now.split() == change.set.split():
            restore[key] = change.before
        else:
            left[key] = f"changed since the seed set {change.set} (now {now})"
    return restore, left


# --- the record -------------------------------------------------------------------
@dataclass(kw_only=True)
class HostRecord:
    """Everything the seed changed on this host since it was last taken down."""

    version: int = RECORD_VERSION
    # True once ``up`` took the baseline: the seed's changes are being recorded.
    active: bool = False
    # Set when a seed home from before this record existed was adopted.
    adopted: bool = False
    baseline_chains: dict[str, list[str]] = field(default_factory=dict)
    chains: dict[str, list[str]] = field(default_factory=dict)
    baseline_nft: list[str] = field(default_factory=list)
    nft_tables: list[str] = field(default_factory=list)
    sysctls: dict[str, SysctlChange] = field(default_factory=dict)
    mounts: list[str] = field(default_factory=list)
    host_dirs: list[str] = field(default_factory=list)
    bridge: bool = False  # the seed created its bridge (garden0)

    def add_chains(self, found: Mapping[str, Iterable[str]]) -> None:
        for key, names in found.items():
            known = self.chains.setdefault(key, [])
            known += [n for n in names if n not in known]

    def add_nft_tables(self, observed: Iterable[str]) -> None:
        before = set(self.baseline_nft)
        for table in observed:
            if table not in before and table not in self.nft_tables:
                self.nft_tables.append(table)

    def add_sysctls(self, raised: Mapping[str, SysctlChange]) -> None:
        # The first recorded value is the host's own; later raises keep it.
        for key, change in raised.items():
            self.sysctls.setdefault(key, change)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> HostRecord:
        data = json.loads(text)
        if data.get("version") != RECORD_VERSION:
            raise ValueError(f"unknown host record version {data.get('version')!r}")
        data["sysctls"] = {k: SysctlChange(**v) for k, v in data.get("sysctls", {}).items()}
        return cls(**data)
