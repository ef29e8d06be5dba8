"""SIGTERM during a restore: raised as Interrupted (past any `except Exception`) while
armed, ignored while the restore settles, and the agent's own handler back afterwards."""

from __future__ import annotations

import os
import signal

import pytest

from airflow_provider_garden.agent.etcd_restore import Interrupted, _sigterm_raises


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
