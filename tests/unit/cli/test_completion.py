"""`garden completion bash|zsh|fish`: argcomplete's script, which asks `garden` itself.

The bash case is run for real: the script is sourced in bash, its completion function
called as bash calls it on TAB, and the words it offers come from `garden`'s parser
(a `garden` on PATH that runs this checkout).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_provider_garden.cli.main import main

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def garden_on_path(tmp_path: Path) -> dict[str, str]:
    wrapper = tmp_path / "garden"
    wrapper.write_text(
        f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m airflow_provider_garden.cli.main "$@"\n'
    )
    wrapper.chmod(0o755)
    return {
        **os.environ,
        "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }


def _complete(env: dict[str, str], line: str) -> list[str]:
    """What bash offers for ``line`` (the cursor at its end), through the sourced script."""
    words = shlex.split(line) + ([""] if line.endswith(" ") else [])
    script = f"""
source <(garden completion bash)
COMP_LINE={shlex.quote(line)}; COMP_POINT=${{#COMP_LINE}}
COMP_WORDS=({" ".join(shlex.quote(w) for w in words)}); COMP_CWORD={len(words) - 1}
_python_argcomplete garden
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    done = subprocess.run(
        ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return [w.strip() for w in done.stdout.splitlines() if w.strip()]


def test_bash_completes_commands_verbs_and_output_formats(garden_on_path: dict[str, str]) -> None:
    assert _complete(garden_on_path, "garden pro") == ["projects"]
    assert set(_complete(garden_on_path, "garden shoots ls -o ")) == {
        "table",
        "wide",
        "json",
        "yaml",
    }


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_each_shell_gets_a_script_for_garden(
    shell: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["completion", shell]) == 0
    script = capsys.readouterr().out
    assert "_ARGCOMPLETE" in script
    assert "garden" in script
