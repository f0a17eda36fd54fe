"""The agent and nodeprobe images, built for real with `docker build` and run.

Needs a Docker daemon (``docker info`` answers, e.g. through $DOCKER_HOST) that can get
the base image: ``python:3.11-slim-bookworm`` from Docker Hub, or the image named by
$ATLHYPER_PYTHON_IMAGE. Without a daemon the test is skipped and the container files are
still checked by reading them (test_containerfiles.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.packaging.building import REPO

pytestmark = pytest.mark.packaging

#: What the two Containerfiles COPY from the repository (the build context holds no more).
CONTEXT = ("pyproject.toml", "README.md", "headless_agent", "nodeprobe", "desktop", "i18n")
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


def _docker(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    if shutil.which("docker") is None or _docker("info", timeout=30).returncode != 0:
        pytest.skip("no Docker daemon answers `docker info` (set DOCKER_HOST to use one)")
    folder = tmp_path_factory.mktemp("context")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in CONTEXT:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, folder / name, ignore=ignore)
        else:
            shutil.copy2(source, folder / name)
    shutil.copytree(REPO / "resources", folder / "resources", ignore=ignore)
    yield folder


def _build(context: Path, image: str, version: str = VERSION) -> subprocess.CompletedProcess[str]:
    base = os.environ.get("ATLHYPER_PYTHON_IMAGE", "python:3.11-slim-bookworm")
    return _docker(
        "build",
        "--network=host",  # pip in the build stage reaches PyPI as this host does
        "-f",
        str(context / "resources" / image / "Containerfile"),
        "--build-arg",
        f"PYTHON_IMAGE={base}",
        "--build-arg",
        f"VERSION={version}",
        "-t",
        f"atlhyper-test/{image}:{version}",
        str(context),
    )


@pytest.mark.parametrize("image", ["agent", "nodeprobe"])
def test_the_image_builds_and_runs_as_nobody_with_its_version(context: Path, image: str) -> None:
    built = _build(context, image)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    tag = f"atlhyper-test/{image}:{VERSION}"
    [inspected] = json.loads(_docker("image", "inspect", tag).stdout)
    assert inspected["Config"]["User"] == "65534:65534"
    assert inspected["Config"]["Labels"]["org.opencontainers.image.version"] == VERSION
    # A read-only root filesystem and a writable /tmp, as the agent's Deployment has them
    # (an in-memory emptyDir there).
    run = ("run", "--rm", "--read-only", "--tmpfs", "/tmp", "--network=host")
    if image == "agent":
        result = _docker(*run, tag, "--version", timeout=120)
        assert result.stdout.strip() == f"atlhyper-agent {VERSION}", result.stderr
    else:
        result = _docker(*run, tag, "--once", timeout=120)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["probe_version"] == VERSION
    tools = _docker(*run, "--entrypoint", "sh", tag, "-c", "command -v gcc cc make pip")
    assert tools.stdout.strip() == "", f"build tools in the final stage: {tools.stdout}"


def test_a_build_with_another_version_fails(context: Path) -> None:
    result = _build(context, "nodeprobe", version="0.0.0-not-this")
    assert result.returncode != 0
    assert f"nodeprobe is {VERSION}, VERSION is 0.0.0-not-this" in result.stdout + result.stderr
