"""Server-side apply of rendered objects with the apply semantics of REQUIREMENTS.md.

The order of one run:

1. read the inventory (what this inventory id applied to the target before);
2. CRDs and Namespaces: dry-run, apply, wait until the CRDs are Established;
3. everything else: dry-run *all* of it first. The dry-run answers are the diff
   (logged, paths only) and the check: a field-manager conflict (unless
   ``force_conflicts``), an immutable field (unless its kind may be recreated)
   or any other refusal stops the run before anything of this phase changes;
4. apply what the dry-run says changes, group by group in kind order (objects of
   one group in parallel); recreate the opted-in kinds whose immutable fields
   changed (delete, wait until gone, apply);
5. prune what the previous inventory lists and this render no longer does (never
   Namespaces, CRDs, PVs unless allowed; only the very object we applied, by uid);
6. write the inventory, then wait for rollout health of the workloads.

The inventory is merged with what a phase is about to apply before it changes
anything (an object created by a run that then dies is still known and can be
pruned; an object whose dry-run was refused is never listed), and set exactly
at the end. Every write carries the resourceVersion of the one before, so two
runs on the same inventory cannot silently interleave. Diff mode writes nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import groupby
from typing import Any, TypeVar

from airflow_provider_garden.agent.kustomize_health import (
    WORKLOAD_KINDS,
    UnhealthyError,
    wait_healthy,
)
from airflow_provider_garden.core.kustomize_diff import Action, Change, DiffSummary, changed_paths
from airflow_provider_garden.core.kustomize_inventory import (
    Entry,
    PrunePlan,
    from_configmap,
    inventory_name,
    merged,
    plan_prune,
    to_configmap,
)
from airflow_provider_garden.core.kustomize_objects import (
    CRD_GROUP,
    CRD_KIND,
    NAMESPACE_KIND,
    ObjectRef,
    apply_rank,
    duplicates,
    group_of,
    is_first_phase,
    ordered,
    ref_of,
    with_namespaces,
)
from airflow_provider_garden.core.kustomize_result import (
    Mode,
    build_result,
    conflicts,
    error_text,
    immutable_fields,
)
from airflow_provider_garden.core.manifest import Manifest
from airflow_provider_garden.kube.dynamic import ApiResource, DynamicClient, UnknownKind
from airflow_provider_garden.kube.errors import ApiError, Conflict, NotFound

log = logging.getLogger(__name__)
WORKERS = 8
ESTABLISHED_TIMEOUT = 60.0
GONE_TIMEOUT = 120.0
T = TypeVar("T")
R = TypeVar("R")


class KustomizeError(RuntimeError):
    """The run stopped; the message names every object and field that stopped it."""


@dataclass(frozen=True, kw_only=True)
class ApplyOptions:
    mode: Mode
    target: str
    inventory_id: str
    inventory_namespace: str
    default_namespace: str
    source: str
    prune: bool = False
    prune_allow_kinds: frozenset[str] = frozenset()
    force_conflicts: bool = False
    recreate_on_immutable: frozenset[str] = frozenset()
    wait_timeout: float = 300.0


@dataclass(kw_only=True)
class _Planned:
    obj: Manifest
    ref: ObjectRef
    res: ApiResource | None
    change: Change
    uid: str = ""

    @property
    def entry(self) -> Entry:
        return Entry(ref=self.ref, api_version=self.obj["apiVersion"], uid=self.uid)


def _parallel(fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
    if len(items) <= 1:
        return [fn(i) for i in items]
    with ThreadPoolExecutor(max_workers=min(WORKERS, len(items))) as pool:
        return list(pool.map(fn, items))


class KustomizeRun:
    """One apply or diff of rendered objects against one target."""

    def __init__(self, kube: DynamicClient, opts: ApplyOptions) -> None:
        self.kube = kube
        self.opts = opts
        self.dry = opts.mode is Mode.DIFF
        self.errors: list[str] = []
        self.inventory_rv = ""
        self.crd_scopes: dict[tuple[str, str], bool] = {}
        self.new_namespaces: set[str] = set()
        self.configmaps = kube.resource("v1", "ConfigMap")

    # --- the run ----------------------------------------------------------
    def run(self, rendered: Sequence[Manifest]) -> dict[str, Any]:
        started = time.monotonic()
        dup = duplicates(rendered)
        if dup:
            raise KustomizeError(f"rendered twice: {', '.join(map(str, dup))}")
        self.crd_scopes = {
            (str(o["spec"]["group"]), str(o["spec"]["names"]["kind"])): o["spec"].get("scope")
            == "Namespaced"
            for o in rendered
            if (group_of(o["apiVersion"]), o["kind"]) == (CRD_GROUP, CRD_KIND)
        }
        objs = ordered(
            with_namespaces(rendered, self._namespaced(rendered), self.opts.default_namespace)
        )
        first = [o for o in objs if is_first_phase(ref_of(o))]
        rest = [o for o in objs if not is_first_phase(ref_of(o))]
        previous = self._read_inventory()
        log.info(
            "%s %d objects to %s (inventory %s: %d entries)",
            self.opts.mode.value,
            len(objs),
            self.opts.target,
            self.inventory_ref,
            len(previous),
        )

        planned = self._logged(self._plan(first))
        self.new_namespaces = {
            p.ref.name
            for p in planned
            if p.ref.kind == NAMESPACE_KIND and p.change.action is Action.CREATE
        }
        if not self.dry and planned:
            self._write_inventory(merged(previous, (p.entry for p in planned)))
            self._apply(planned)
            self._wait_established([p for p in planned if p.ref.kind == CRD_KIND])
        planned += self._logged(self._plan(rest))
        if not self.dry:
            self._write_inventory(merged(previous, (p.entry for p in planned)))
        current = {p.ref for p in planned}
        plan = plan_prune(previous, current, allow_kinds=self.opts.prune_allow_kinds)
        if not self.opts.prune:
            plan = PrunePlan(delete=(), kept=(*plan.delete, *plan.kept))

        changes = [p.change for p in planned]
        for e in plan.delete:
            log.info("dry-run: - %s (prune)", e.ref)

        pruned: list[Entry] = []
        if not self.dry:
            self._apply([p for p in planned if not is_first_phase(p.ref)])
            pruned, left, failures = self._prune(plan.delete)
            self._write_inventory([*(p.entry for p in planned), *plan.kept, *left])
            if failures:
                raise KustomizeError("prune failed:\n" + "\n".join(f"- {f}" for f in failures))
            self._wait_healthy(planned)
        else:
            pruned = list(plan.delete)
        changes += [Change(ref=e.ref, action=Action.PRUNE) for e in pruned]
        log.info("%s done in %.1fs", self.opts.mode.value, time.monotonic() - started)
        return build_result(
            mode=self.opts.mode.value,
            target=self.opts.target,
            inventory=self.inventory_ref,
            summary=DiffSummary(changes=changes),
            pruned=[str(e.ref) for e in pruned],
            kept=[str(e.ref) for e in plan.kept],
        )

    @property
    def inventory_ref(self) -> str:
        return f"{self.opts.inventory_namespace}/{inventory_name(self.opts.inventory_id)}"

    def _namespaced(self, objs: Sequence[Manifest]) -> Callable[[str, str], bool]:
        versions = {(group_of(o["apiVersion"]), o["kind"]): o["apiVersion"] for o in objs}

        def namespaced(group: str, kind: str) -> bool:
            if (group, kind) in self.crd_scopes:
                return self.crd_scopes[(group, kind)]
            try:
                return self.kube.resource(versions[(group, kind)], kind).namespaced
            except UnknownKind as err:
                raise KustomizeError(f"{kind}: {err}") from None

        return namespaced

    # --- plan: dry-run every object -------------------------------------
    @staticmethod
    def _logged(planned: list[_Planned]) -> list[_Planned]:
        for line in DiffSummary(changes=[p.change for p in planned]).lines():
            log.info("dry-run: %s", line)
        return planned

    def _plan(self, objs: Sequence[Manifest]) -> list[_Planned]:
        results = _parallel(self._plan_one, objs)
        if self.errors:
            listing = "\n".join(f"- {e}" for e in self.errors)
            raise KustomizeError(
                f"{len(self.errors)} object(s) cannot be applied; nothing of this phase "
                f"was changed:\n{listing}"
            )
        return [p for p in results if p is not None]

    def _plan_one(self, obj: Manifest) -> _Planned | None:
        ref = ref_of(obj)
        try:
            res = self.kube.resource(obj["apiVersion"], ref.kind)
        except UnknownKind as err:
            if self.dry and (ref.group, ref.kind) in self.crd_scopes:
                return self._planned(obj, None, Action.CREATE, note="its CRD is new")
            self.errors.append(f"{ref}: {err}")
            return None
        live = self.kube.read(res, ref.name, ref.namespace)
        try:
            desired = self.kube.server_side_apply(
                res, obj, force=self.opts.force_conflicts, dry_run=True
            )
        except NotFound:
            if self.dry and ref.namespace in self.new_namespaces:
                return self._planned(obj, res, Action.CREATE, note="in a new namespace")
            self.errors.append(f"{ref}: namespace {ref.namespace!r} does not exist")
            return None
        except ApiError as err:
            return self._refused(obj, res, live, err)
        uid = str((live or {}).get("metadata", {}).get("uid", ""))
        if live is None:
            return self._planned(obj, res, Action.CREATE)
        paths = changed_paths(live, desired)
        action = Action.UPDATE if paths else Action.UNCHANGED
        return self._planned(obj, res, action, paths=paths, uid=uid)

    def _refused(
        self, obj: Manifest, res: ApiResource, live: Manifest | None, err: ApiError
    ) -> _Planned | None:
        ref = ref_of(obj)
        fields = immutable_fields(err.status)
        if isinstance(err, Conflict) and conflicts(err.status):
            self.errors.append(
                f"{ref}: conflicts with other field managers: {', '.join(conflicts(err.status))}"
                " (set force_conflicts to take these fields over)"
            )
        elif fields and ref.kind in self.opts.recreate_on_immutable and live is not None:
            uid = str(live["metadata"].get("uid", ""))
            note = "immutable: " + ", ".join(fields)
            return self._planned(obj, res, Action.RECREATE, note=note, uid=uid)
        elif fields:
            self.errors.append(
                f"{ref}: immutable field(s) changed: {', '.join(fields)} (add {ref.kind} to "
                "recreate_on_immutable to delete and recreate it)"
            )
        else:
            self.errors.append(f"{ref}: {error_text(err.status)}")
        return None

    @staticmethod
    def _planned(
        obj: Manifest,
        res: ApiResource | None,
        action: Action,
        *,
        paths: Iterable[str] = (),
        note: str = "",
        uid: str = "",
    ) -> _Planned:
        ref = ref_of(obj)
        change = Change(ref=ref, action=action, paths=tuple(paths), note=note)
        return _Planned(obj=obj, ref=ref, res=res, change=change, uid=uid)

    # --- apply --------------------------------------------------------------
    def _apply(self, planned: Sequence[_Planned]) -> None:
        todo = [p for p in planned if p.change.action is not Action.UNCHANGED]
        for _, group in groupby(todo, key=lambda p: apply_rank(p.ref)):
            _parallel(self._apply_one, list(group))

    def _apply_one(self, p: _Planned) -> None:
        res = p.res
        assert res is not None  # only diff mode plans objects without a resource
        name, namespace = p.ref.name, p.ref.namespace
        try:
            if p.change.action is Action.RECREATE:
                log.info("recreating %s (%s)", p.ref, p.change.note)
                self.kube.delete_object(res, name, namespace, uid=p.uid, propagation="Foreground")
                self.kube.wait_for(
                    f"{p.ref} to be deleted",
                    lambda: self.kube.read(res, name, namespace) is None,
                    timeout=GONE_TIMEOUT,
                    interval=0.5,
                )
            applied = self.kube.server_side_apply(
                res, p.obj, force=self.opts.force_conflicts, dry_run=False
            )
        except ApiError as err:
            raise KustomizeError(f"{p.ref}: {error_text(err.status)}") from None
        p.uid = str(applied["metadata"].get("uid", ""))

    def _wait_established(self, crds: Sequence[_Planned]) -> None:
        def established() -> bool:
            for p in crds:
                assert p.res is not None
                obj = self.kube.read(p.res, p.ref.name)
                conditions = ((obj or {}).get("status") or {}).get("conditions") or []
                if not any(
                    c.get("type") == "Established" and c.get("status") == "True" for c in conditions
                ):
                    return False
            return True

        if not crds:
            return
        self.kube.wait_for(
            "CRDs to be Established", established, timeout=ESTABLISHED_TIMEOUT, interval=0.25
        )
        for p in crds:
            for version in p.obj["spec"].get("versions") or []:
                self.kube.forget(f"{p.obj['spec']['group']}/{version['name']}")

    # --- prune --------------------------------------------------------------
    def _prune(self, entries: Sequence[Entry]) -> tuple[list[Entry], list[Entry], list[str]]:
        """Delete in order; return what was pruned, what failed (kept listed) and why."""
        pruned: list[Entry] = []
        left: list[Entry] = []
        failures: list[str] = []
        for e in entries:
            try:
                res = self.kube.resource(e.api_version, e.ref.kind)
            except UnknownKind:
                pruned.append(e)  # its kind is gone, and with it the object
                continue
            try:
                self.kube.delete_object(res, e.ref.name, e.ref.namespace, uid=e.uid)
                log.info("pruned %s", e.ref)
                pruned.append(e)
            except ApiError as err:
                if isinstance(err, Conflict):
                    # uid precondition: a same-named object someone else made since
                    log.warning("not pruning %s: it was replaced by someone else", e.ref)
                    continue
                failures.append(f"{e.ref}: {error_text(err.status)}")
                left.append(e)
        return pruned, left, failures

    # --- inventory ------------------------------------------------------------
    def _read_inventory(self) -> list[Entry]:
        name = inventory_name(self.opts.inventory_id)
        cm = self.kube.read(self.configmaps, name, self.opts.inventory_namespace)
        self.inventory_rv = str(((cm or {}).get("metadata") or {}).get("resourceVersion", ""))
        return from_configmap(cm)

    def _write_inventory(self, entries: Iterable[Entry]) -> None:
        cm = to_configmap(
            self.opts.inventory_id, self.opts.inventory_namespace, entries, self.opts.source
        )
        if self.inventory_rv:
            cm["metadata"]["resourceVersion"] = self.inventory_rv
        try:
            written = self.kube.server_side_apply(self.configmaps, cm, force=True, dry_run=False)
        except ApiError as err:
            if isinstance(err, Conflict):
                raise KustomizeError(
                    f"inventory {self.inventory_ref} was changed by another run meanwhile"
                ) from None
            raise KustomizeError(
                f"inventory {self.inventory_ref}: {error_text(err.status)}"
            ) from None
        self.inventory_rv = str(written["metadata"]["resourceVersion"])

    # --- health ---------------------------------------------------------------
    def _wait_healthy(self, planned: Sequence[_Planned]) -> None:
        workloads = [
            (p.ref, p.res)
            for p in planned
            if (p.ref.group, p.ref.kind) in WORKLOAD_KINDS and p.res is not None
        ]
        if not workloads or self.opts.wait_timeout <= 0:
            return
        log.info("waiting up to %.0fs for %d workloads", self.opts.wait_timeout, len(workloads))
        try:
            wait_healthy(self.kube, workloads, timeout=self.opts.wait_timeout)
        except UnhealthyError as err:
            raise KustomizeError(str(err)) from None
