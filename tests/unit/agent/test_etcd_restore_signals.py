"""SIGTERM during a restore: raised as Interrupted (past any `except Exception`) while
armed, ignored while the restore settles, and the agent's own handler back afterwards.
The test-only fault points act only at the phase their variable names."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading

import pytest

from airflow_provider_garden.agent import etcd_restore
from airflow_provider_garden.agent.etcd_restore import (
    EXIT_AT_ENV,
    PAUSE_AT_ENV,
    Interrupted,
    _fault_point,
    _sigterm_raises,
)
from airflow_provider_garden.core.restore_journal import Phase


def swallowing_retry_loop() -> None:
    try:
        os.kill(os.getpid(), signal.SIGTERM)  # handled before the next line runs
    except Exception:  # what a client's retry loop on the way would do
        pytest.fail("SIGTERM was caught as an ordinary Exception")


def test_sigterm_interrupts_past_except_exception_then_is_ignored_while_settling() -> None:
    before = signal.getsignal(signal.SIGTERM)
    settled = []
    with _sigterm_raises() as signals:
        with pytest.raises(Interrupted):
            swallowing_retry_loop()
        assert signals["armed"] is False
        os.kill(os.getpid(), signal.SIGTERM)  # a second one while settling: ignored
        settled.append("rolled back")
    assert settled == ["rolled back"]
    assert signal.getsignal(signal.SIGTERM) == before


def test_pause_point_waits_at_its_phase_until_sigterm_interrupts_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(PAUSE_AT_ENV, Phase.RESTORED_TO_PART.value)
    monkeypatch.setattr(etcd_restore, "PAUSE_LIMIT", dt.timedelta(seconds=5))
    stop = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGTERM))
    with _sigterm_raises():
        _fault_point(Phase.STOPPED.value)  # another phase: passes at once
        stop.start()
        try:
            with pytest.raises(Interrupted):
                _fault_point(Phase.RESTORED_TO_PART.value)
        finally:
            stop.cancel()


@pytest.mark.parametrize(("env", "code"), [({}, 0), ({EXIT_AT_ENV: "Stopped"}, 137)])
def test_exit_point_ends_the_process_only_where_its_variable_says(
    env: dict[str, str], code: int
) -> None:
    script = (
        "from airflow_provider_garden.agent.etcd_restore import _fault_point as f; f('Stopped')"
    )
    clean = {k: v for k, v in os.environ.items() if k not in (EXIT_AT_ENV, PAUSE_AT_ENV)}
    done = subprocess.run([sys.executable, "-c", script], env={**clean, **env}, check=False)
    assert done.returncode == code
