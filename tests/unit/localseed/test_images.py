from __future__ import annotations

from pathlib import Path

import pytest

from airflow_provider_garden.localseed.images import (
    ImageSpec,
    input_key,
    mmdebstrap_phase,
    podman_step,
)


@pytest.fixture
def spec(tmp_path: Path) -> ImageSpec:
    dockerfile_dir = tmp_path / "docker"
    dockerfile_dir.mkdir()
    (dockerfile_dir / "Dockerfile").write_text("FROM scratch\nCOPY app /app\n")
    package = tmp_path / "pkg"
    (package / "__pycache__").mkdir(parents=True)
    (package / "mod.py").write_text("X = 1\n")
    (package / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"\x00")
    app = tmp_path / "app"
    app.write_bytes(b"binary")
    return ImageSpec(
        ref="localhost/test:1",
        dockerfile_dir=dockerfile_dir,
        context=(("app", app), ("pkg", package)),
    )


def test_input_key_is_stable(spec: ImageSpec) -> None:
    assert input_key(spec, "base") == input_key(spec, "base")


def test_input_key_follows_the_base_image(spec: ImageSpec) -> None:
    assert input_key(spec, "base") != input_key(spec, "other-base")


def test_input_key_follows_staged_file_content(spec: ImageSpec) -> None:
    before = input_key(spec, "base")
    (spec.dockerfile_dir.parent / "pkg" / "mod.py").write_text("X = 2\n")
    assert input_key(spec, "base") != before


def test_input_key_follows_the_executable_bit(spec: ImageSpec) -> None:
    before = input_key(spec, "base")
    (spec.dockerfile_dir.parent / "app").chmod(0o755)
    assert input_key(spec, "base") != before


def test_input_key_ignores_bytecode_caches(spec: ImageSpec) -> None:
    before = input_key(spec, "base")
    (spec.dockerfile_dir.parent / "pkg" / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"1")
    assert input_key(spec, "base") == before


def test_input_key_follows_the_dockerfile(spec: ImageSpec) -> None:
    before = input_key(spec, "base")
    (spec.dockerfile_dir / "Dockerfile").write_text("FROM scratch\nCOPY app /bin/app\n")
    assert input_key(spec, "base") != before


def test_build_progress_reads_podman_steps_and_mmdebstrap_phases() -> None:
    assert podman_step("STEP 3/7: RUN apt-get update") == "STEP 3/7: RUN apt-get update"
    assert podman_step("Get:1 http://deb.debian.org/debian bookworm InRelease") is None
    long = podman_step("STEP 2/9: RUN " + "x" * 200)
    assert long == "STEP 2/9: RUN " + "x" * 83 + "..."
    assert mmdebstrap_phase("I: extracting archives...") == "extracting archives..."
    assert mmdebstrap_phase("W: no hooks") is None
