"""Chart tests need only the helm binary (built from its Go module once, then cached),
no cluster: they are in the integration stage because that build needs Go and the
module proxy, which the unit stage does not."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from helm_chart_helpers import Render, run_helm

from airflow_provider_garden.cli.packaging import chart_dir
from airflow_provider_garden.localseed.helm import ensure_helm


@pytest.fixture(scope="session")
def helm() -> Path:
    return ensure_helm()


@pytest.fixture(scope="session")
def chart() -> Path:
    return chart_dir()


@pytest.fixture
def render(helm: Path, chart: Path, tmp_path: Path) -> Render:
    """`helm template` with the given values; the rendered objects (CRDs included)."""

    def _render(values: dict[str, Any] | None = None, namespace: str = "garden-system") -> Any:
        values_file = tmp_path / "values.yaml"
        values_file.write_text(yaml.safe_dump(values or {}))
        out = run_helm(
            helm, "template", "garden", str(chart), "--namespace", namespace,
            "--include-crds", "--values", str(values_file),
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        return [d for d in yaml.safe_load_all(out.stdout) if d]

    return _render


@pytest.fixture
def rejected(helm: Path, chart: Path, tmp_path: Path) -> Callable[[dict[str, Any]], str]:
    """`helm template` with values the schema must refuse; helm's message."""

    def _rejected(values: dict[str, Any]) -> str:
        values_file = tmp_path / "bad-values.yaml"
        values_file.write_text(yaml.safe_dump(values))
        out = run_helm(helm, "template", "garden", str(chart), "--values", str(values_file))
        assert out.returncode != 0, f"accepted: {values}"
        return out.stderr

    return _rejected
