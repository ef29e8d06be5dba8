"""A small client of Airflow 3's public REST API (/api/v2), as the UI and users call it.

Authentication is the SimpleAuthManager's: with `simple_auth_manager_all_admins`
a `GET /auth/token` hands out an admin JWT without credentials; it is sent as a
Bearer token and fetched again once when the server answers 401.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx

FINISHED_RUN_STATES = frozenset({"success", "failed"})
# A deferral's exit reported as success while the resumed try is already on its way.
STALE_DEFER_EXIT = re.compile(
    r"finished with state success, but the task instance's state attribute is "
    r"(scheduled|queued|running)"
)


class AirflowApiError(RuntimeError):
    """The API answered with an error status; the message carries its detail."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class AirflowApi:
    def __init__(self, *, base_url: str, timeout: float = 30) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout)
        self._token: str | None = None

    def close(self) -> None:
        self._http.close()

    # -- plumbing -------------------------------------------------------------
    def _fetch_token(self) -> str:
        response = self._http.get("/auth/token")
        _raise_for(response)
        return str(response.json()["access_token"])

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One call to /api/v2`path`, authenticated; raises AirflowApiError on >= 400."""
        for attempt in range(2):
            if self._token is None:
                self._token = self._fetch_token()
            headers = {"Authorization": f"Bearer {self._token}", **kwargs.pop("headers", {})}
            response = self._http.request(method, f"/api/v2{path}", headers=headers, **kwargs)
            if response.status_code == 401 and attempt == 0:
                self._token = None
                continue
            _raise_for(response)
            return response
        raise AssertionError("unreachable")

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.request(method, path, **kwargs).json()

    # -- health and parsing ---------------------------------------------------
    def health(self) -> dict[str, Any]:
        response = self._http.get("/api/v2/monitor/health")
        _raise_for(response)
        return dict(response.json())

    def dag_parsed(self, dag_id: str) -> bool:
        """True once the dag-processor has serialized `dag_id` (and it is not stale)."""
        try:
            dag = self._json("GET", f"/dags/{dag_id}")
        except AirflowApiError as err:
            if err.status == 404:
                return False
            raise
        return not dag.get("is_stale", False)

    def import_errors(self) -> list[dict[str, Any]]:
        return list(self._json("GET", "/importErrors")["import_errors"])

    def wait_dag_parsed(self, dag_id: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not self.dag_parsed(dag_id):
            if time.monotonic() > deadline:
                errors = "\n".join(
                    f"{e['filename']}: {e['stack_trace']}" for e in self.import_errors()
                )
                raise TimeoutError(
                    f"DAG {dag_id} not parsed in {timeout}s; import errors:\n{errors}"
                )
            time.sleep(0.5)

    # -- DAGs and runs --------------------------------------------------------
    def unpause(self, dag_id: str) -> None:
        self.request("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def trigger(
        self,
        dag_id: str,
        conf: Mapping[str, Any] | None = None,
        *,
        logical_date: datetime | None = None,
        run_id: str | None = None,
    ) -> str:
        """Trigger a run like the UI's trigger form does; returns its run id."""
        body: dict[str, Any] = {
            "conf": dict(conf or {}),
            "logical_date": logical_date.isoformat() if logical_date else None,
        }
        if run_id:
            body["dag_run_id"] = run_id
        return str(self._json("POST", f"/dags/{dag_id}/dagRuns", json=body)["dag_run_id"])

    def run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return dict(self._json("GET", f"/dags/{dag_id}/dagRuns/{run_id}"))

    def wait_run(self, dag_id: str, run_id: str, timeout: float = 300) -> str:
        """Poll until the run has finished; returns its final state."""
        deadline = time.monotonic() + timeout
        while True:
            state = str(self.run(dag_id, run_id)["state"])
            if state in FINISHED_RUN_STATES:
                return state
            if time.monotonic() > deadline:
                tis = {ti["task_id"]: ti["state"] for ti in self.task_instances(dag_id, run_id)}
                raise TimeoutError(
                    f"run {dag_id}/{run_id} still {state} after {timeout}s; tasks: {tis}"
                )
            time.sleep(0.5)

    # -- task instances -------------------------------------------------------
    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances"
        return list(self._json("GET", path, params={"limit": 1000})["task_instances"])

    def task_instance(
        self, dag_id: str, run_id: str, task_id: str, map_index: int = -1
    ) -> dict[str, Any]:
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}"
        if map_index >= 0:
            path += f"/{map_index}"
        return dict(self._json("GET", path))

    def wait_task_state(
        self, dag_id: str, run_id: str, task_id: str, states: set[str], timeout: float = 120
    ) -> str:
        deadline = time.monotonic() + timeout
        while True:
            state = str(self.task_instance(dag_id, run_id, task_id)["state"])
            if state in states:
                return state
            if time.monotonic() > deadline:
                raise TimeoutError(f"{dag_id}/{run_id}/{task_id} is {state}, not in {states}")
            time.sleep(0.3)

    def set_task_state(self, dag_id: str, run_id: str, task_id: str, state: str) -> None:
        """Mark a task instance success/failed/skipped: the "Mark as" button of the UI."""
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}"
        self.request("PATCH", path, json={"new_state": state})

    def task_logs(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> str:
        """The task's whole log, one line per structured record ("event" first)."""
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}"
        records = self._json(
            "GET", path, params={"full_content": "true"}, headers={"Accept": "application/json"}
        )["content"]
        return "\n".join(_log_line(record) for record in records)

    def stale_defer_exits(self, dag_id: str, run_id: str, task_id: str) -> list[str]:
        """The scheduler's "state mismatch" events that are its stale defer-exit race.

        Airflow 3.3.2 can drain the executor's "success" of a task's deferral exit after
        the trigger fired and the resumed try was queued or started; it then fails that
        try as changed externally (apache/airflow#67287, #72716, open for `running`).
        """
        events = self._json(
            "GET",
            "/eventLogs",
            params={
                "dag_id": dag_id,
                "run_id": run_id,
                "task_id": task_id,
                "event": "state mismatch",
            },
        )["event_logs"]
        return [
            str(event["extra"])
            for event in events
            if STALE_DEFER_EXIT.search(str(event.get("extra") or ""))
        ]

    def xcom_keys(self, dag_id: str, run_id: str, task_id: str) -> list[str]:
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries"
        entries = self._json("GET", path, params={"limit": 1000})["xcom_entries"]
        return [str(entry["key"]) for entry in entries]

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}"
        value = self._json("GET", path)["value"]
        # The API hands back the stored JSON text for values serialized by the task SDK.
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value

    # -- pools and connections ------------------------------------------------
    def pool(self, name: str) -> dict[str, Any]:
        return dict(self._json("GET", f"/pools/{name}"))

    def pool_set(self, name: str, slots: int, *, include_deferred: bool = True) -> None:
        body = {"name": name, "slots": slots, "include_deferred": include_deferred}
        try:
            self.request("PATCH", f"/pools/{name}", json=body)
        except AirflowApiError as err:
            if err.status != 404:
                raise
            self.request("POST", "/pools", json=body)

    def connection_set(self, conn_id: str, conn_type: str, extra: Mapping[str, Any]) -> None:
        """Create or replace a connection, as the Admin > Connections page does."""
        body = {"connection_id": conn_id, "conn_type": conn_type, "extra": json.dumps(extra)}
        try:
            self.request("PATCH", f"/connections/{conn_id}", json=body)
        except AirflowApiError as err:
            if err.status != 404:
                raise
            self.request("POST", "/connections", json=body)


def _raise_for(response: httpx.Response) -> None:
    if response.status_code >= 400:
        raise AirflowApiError(
            f"{response.request.method} {response.request.url.path} -> "
            f"{response.status_code}: {response.text[:2000]}",
            status=response.status_code,
        )


def _log_line(record: Any) -> str:
    if not isinstance(record, dict):
        return str(record)
    rest = {k: v for k, v in record.items() if k not in {"event", "timestamp"}}
    event = str(record.get("event", ""))
    return f"{event} {json.dumps(rest, default=str)}" if rest else event
