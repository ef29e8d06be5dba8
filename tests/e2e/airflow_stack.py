"""A real Airflow for end-to-end tests: PostgreSQL plus the four Airflow 3 components.

    with AirflowStack(home=Path("/tmp/e2e"), bundles={"garden": repo / "dags"}) as stack:
        run_id = stack.api.trigger("garden_selfcheck")
        assert stack.api.wait_run("garden_selfcheck", run_id) == "success"

`api-server`, `scheduler` (LocalExecutor), `dag-processor` and `triggerer` run as
separate processes, exactly as in a deployment, each with a PID file and a log
file under `<home>/run`. Everything listens on 127.0.0.1 on free ports. Every
DAG folder is its own LocalDagBundle. Intervals are shortened so that a DAG file
is parsed and a triggered run is picked up within a few seconds.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

import httpx
from airflow_api import AirflowApi, AirflowApiError
from cryptography.fernet import Fernet
from postgres_server import PostgresServer
from processes import ManagedProcess, free_port, tree_pss

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
# Airflow talks to PostgreSQL through psycopg2 and, in the API server, asyncpg.
DB_DRIVERS = ("psycopg2", "asyncpg")
HEALTH_KEYS = ("metadatabase", "scheduler", "triggerer", "dag_processor")


class StackError(RuntimeError):
    """A component failed to start or to become healthy; the message holds its log tail."""


class AirflowStack:
    """PostgreSQL + Airflow in `home`; `api` talks to it once `start()` returned.

    :param home: directory the stack owns (wiped on start); must be reachable by the
        `postgres` user when run as root, so keep it under /tmp.
    :param bundles: DAG bundle name -> folder of DAG files.
    :param env: extra environment for every Airflow process (wins over the defaults).
    :param parallelism: LocalExecutor worker processes (forked up front, so they cost memory).
    """

    def __init__(
        self,
        *,
        home: Path,
        bundles: Mapping[str, Path],
        env: Mapping[str, str] | None = None,
        parallelism: int = 8,
    ) -> None:
        if not bundles:
            raise ValueError("at least one DAG bundle is needed")
        self.home = home
        self.bundles = dict(bundles)
        self.extra_env = dict(env or {})
        self.parallelism = parallelism
        self.run_dir = home / "run"
        self.airflow_home = home / "airflow"
        self.postgres = PostgresServer(root=home / "postgres")
        self.api_port = 0
        # Every Airflow process encrypts with this key (connections, variables, trigger
        # arguments); tests decrypt with it to search what Airflow stored encrypted.
        self.fernet_key = self.extra_env.get("AIRFLOW__CORE__FERNET_KEY") or (
            Fernet.generate_key().decode()
        )
        self.timings: dict[str, float] = {}
        self._processes: list[ManagedProcess] = []
        self._api: AirflowApi | None = None

    @property
    def api(self) -> AirflowApi:
        if self._api is None:
            raise StackError("the stack is not started")
        return self._api

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    # -- lifecycle ------------------------------------------------------------
    def __enter__(self) -> AirflowStack:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self, timeout: float = 240) -> None:
        missing = [name for name in DB_DRIVERS if importlib.util.find_spec(name) is None]
        if missing:
            raise StackError(
                f"{', '.join(missing)} missing in {sys.prefix}: install the dev extra "
                "(pip install -e '.[dev]')"
            )
        began = time.monotonic()
        self._stop_leftovers()
        shutil.rmtree(self.home, ignore_errors=True)
        self.run_dir.mkdir(parents=True)
        self.airflow_home.mkdir()
        self.home.chmod(0o711)  # the postgres user must reach its data directory
        try:
            self._timed("postgres", self.postgres.start)
            env = self._environment()
            self._timed("db_migrate", lambda: self._migrate(env))
            self._processes = [
                ManagedProcess(name=name, argv=self._argv(name), run_dir=self.run_dir, env=env)
                for name in COMPONENTS
            ]
            for process in self._processes:
                process.start()
            self._api = AirflowApi(base_url=self.base_url)
            self._timed("components_healthy", lambda: self._wait_healthy(timeout))
        except BaseException:
            self.stop()
            raise
        self.timings["total"] = time.monotonic() - began

    def stop(self) -> None:
        """Stop the Airflow components, the API server last (task runners report to it on
        their way out), then PostgreSQL."""
        workers = [p for p in self._processes if p.name != "api-server"]
        with ThreadPoolExecutor(max_workers=len(COMPONENTS)) as pool:
            list(pool.map(ManagedProcess.stop, workers))
        for process in self._processes:
            if process.name == "api-server":
                process.stop()
        self._processes = []
        if self._api is not None:
            self._api.close()
            self._api = None
        self.postgres.stop()

    def memory(self) -> dict[str, int]:
        """PSS in bytes of each component's process tree, PostgreSQL included."""
        usage = {process.name: process.pss() for process in self._processes}
        pid = self.postgres.pid
        usage["postgres"] = tree_pss(pid) if pid is not None else 0
        return usage

    # -- internals ------------------------------------------------------------
    def _stop_leftovers(self) -> None:
        """A crashed earlier session may have left this stack running: stop it by PID file."""
        for name in COMPONENTS:
            ManagedProcess(name=name, argv=[], run_dir=self.run_dir, env={}).stop()
        self.postgres.stop()

    def _timed(self, name: str, step: Callable[[], None]) -> None:
        began = time.monotonic()
        step()
        self.timings[name] = time.monotonic() - began

    def _argv(self, component: str) -> list[str]:
        airflow = str(Path(sys.executable).with_name("airflow"))
        if component == "api-server":
            return [airflow, component, "--host", "127.0.0.1", "--port", str(self.api_port)]
        return [airflow, component]

    def _environment(self) -> dict[str, str]:
        self.api_port = free_port()
        bundle_list = [
            {
                "name": name,
                "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                "kwargs": {"path": str(path), "refresh_interval": 5},
            }
            for name, path in self.bundles.items()
        ]
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        venv_bin = str(Path(sys.executable).parent)
        settings = {
            "PATH": f"{venv_bin}:{inherited.get('PATH', '/usr/bin:/bin')}",
            "AIRFLOW_HOME": str(self.airflow_home),
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(self.parallelism),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(next(iter(self.bundles.values()))),
            "AIRFLOW__CORE__FERNET_KEY": self.fernet_key,
            "AIRFLOW__CORE__AUTH_MANAGER": (
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.postgres.url,
            # Every process signs or checks JWTs and sessions: they must share the keys.
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(64),
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
            "AIRFLOW__API__BASE_URL": self.base_url,
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.api_port),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(bundle_list),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "10",
            "AIRFLOW__DAG_PROCESSOR__STALE_DAG_THRESHOLD": "30",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.5",
            "AIRFLOW__SCHEDULER__JOB_HEARTBEAT_SEC": "2",
            "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "2",
        }
        return {**inherited, **settings, **self.extra_env}

    def _migrate(self, env: Mapping[str, str]) -> None:
        airflow = str(Path(sys.executable).with_name("airflow"))
        log = self.run_dir / "db-migrate.log"
        with log.open("wb") as out:
            done = subprocess.run(
                [airflow, "db", "migrate"], env=dict(env), stdout=out, stderr=subprocess.STDOUT
            )
        if done.returncode != 0:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
            raise StackError(f"airflow db migrate failed ({done.returncode}):\n{tail}")

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last: object = "no answer yet"
        while time.monotonic() < deadline:
            for process in self._processes:
                code = process.exit_code()
                if code is not None:
                    raise StackError(
                        f"airflow {process.name} exited with {code}; {process.log}:\n"
                        f"{process.log_tail()}"
                    )
            try:
                health = self.api.health()
            except (AirflowApiError, httpx.HTTPError) as err:  # refused while uvicorn starts
                last = err
            else:
                last = health
                if all((health.get(key) or {}).get("status") == "healthy" for key in HEALTH_KEYS):
                    return
            time.sleep(0.5)
        raise StackError(f"Airflow not healthy after {timeout}s; last health: {last}")
