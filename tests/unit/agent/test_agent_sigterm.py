"""The agent as PID 1 of a pod: SIGTERM ends it at once, even while it holds before the verb."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time


def test_sigterm_ends_a_holding_agent_at_once() -> None:
    env = {**os.environ, "GARDEN_AGENT_HOLD_SECONDS": "60"}
    agent = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_garden.agent.main", "version"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        assert agent.stderr is not None
        while "holding" not in agent.stderr.readline():
            assert time.monotonic() < deadline, "the agent never said it holds"
        began = time.monotonic()
        agent.send_signal(signal.SIGTERM)
        code = agent.wait(timeout=10)
    finally:
        agent.kill()
    assert code == 128 + signal.SIGTERM
    assert time.monotonic() - began < 5
    assert agent.stdout is not None
    assert agent.stdout.read() == "", "no result after SIGTERM"


def test_the_release_file_ends_the_hold_and_the_verb_runs() -> None:
    from airflow_provider_garden.agent.main import HOLD_RELEASE

    env = {**os.environ, "GARDEN_AGENT_HOLD_SECONDS": "60"}
    HOLD_RELEASE.touch()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "airflow_provider_garden.agent.main", "version"],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
    finally:
        HOLD_RELEASE.unlink()
    assert done.returncode == 0
    assert '"agent"' in done.stdout
