"""Reading and changing iptables and nft tables, on the host or in a network namespace.

Which chains and tables to remove is decided in footprint.py; this module only
observes and carries out. ``netns`` runs every command in that named network
namespace (``ip netns exec``), so tests work on the real kernel without touching
the host's own rules.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from airflow_provider_garden.localseed.errors import SeedError
from airflow_provider_garden.localseed.footprint import ChainRemoval, NftTable, Ruleset, parse_save

FAMILIES = {"ipv4": "iptables", "ipv6": "ip6tables"}


@dataclass(frozen=True, kw_only=True)
class Netfilter:
    netns: str | None = None

    def _run(self, argv: Sequence[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        full = ["ip", "netns", "exec", self.netns, *argv] if self.netns else list(argv)
        proc = subprocess.run(full, capture_output=True, text=True, check=False, timeout=60)
        if check and proc.returncode != 0:
            out = (proc.stderr or proc.stdout).strip()
            raise SeedError(f"`{shlex.join(full)}` failed ({proc.returncode}): {out}")
        return proc

    def ruleset(self) -> Ruleset:
        """Every iptables table of both families (a family without its tool is skipped)."""
        rules: Ruleset = {}
        for family, tool in FAMILIES.items():
            if shutil.which(f"{tool}-save") is None:
                continue
            rules.update(parse_save(self._run([f"{tool}-save"]).stdout, family))
        return rules

    def remove_chains(self, plans: Mapping[str, ChainRemoval]) -> list[str]:
        """Delete the planned jumps and chains; return the failures (chain: error)."""
        failures = []
        for key, plan in plans.items():
            family, table = key.split("/", 1)
            tool = FAMILIES[family]
            for rule in plan.jumps:
                proc = self._run(
                    [tool, "-w", "-t", table, "-D", rule.chain, *shlex.split(rule.spec)],
                    check=False,
                )
                if proc.returncode != 0:
                    failures.append(f"{key} {rule.chain} {rule.spec}: {proc.stderr.strip()}")
            for flag in ("-F", "-X"):
                for chain in plan.chains:
                    proc = self._run([tool, "-w", "-t", table, flag, chain], check=False)
                    if proc.returncode != 0 and flag == "-X":
                        failures.append(f"{key} {chain}: {proc.stderr.strip()}")
        return failures

    # --- nft ----------------------------------------------------------------------
    def nft_available(self) -> bool:
        return shutil.which("nft") is not None

    def nft_tables(self) -> list[NftTable]:
        """Every nft table with the number of rules in it (none without the nft tool)."""
        if not self.nft_available():
            return []
        proc = self._run(["nft", "-j", "list", "ruleset"])
        rules: dict[str, int] = {}
        chains: dict[str, int] = {}
        for item in json.loads(proc.stdout or '{"nftables": []}').get("nftables", []):
            if "table" in item:
                table = item["table"]
                rules.setdefault(f"{table['family']} {table['name']}", 0)
            elif "chain" in item and "hook" not in item["chain"]:
                name = f"{item['chain']['family']} {item['chain']['table']}"
                chains[name] = chains.get(name, 0) + 1
            elif "rule" in item:
                name = f"{item['rule']['family']} {item['rule']['table']}"
                rules[name] = rules.get(name, 0) + 1
        return [NftTable(name=n, rules=k, chains=chains.get(n, 0)) for n, k in rules.items()]

    def delete_nft_table(self, name: str) -> str | None:
        family, table = name.split(" ", 1)
        proc = self._run(["nft", "delete", "table", family, table], check=False)
        return None if proc.returncode == 0 else proc.stderr.strip()
