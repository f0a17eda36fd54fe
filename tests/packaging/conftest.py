"""Session fixtures: the desktop bundle, the wheel and sdist, and a fresh virtual
environment with the wheel — each built once per test run, however many tests use it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.packaging.building import build_dists, bundle_or_build


@pytest.fixture(scope="session")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The one-folder desktop bundle built from build.spec (or $ATLHYPER_BUNDLE)."""
    try:
        return bundle_or_build(tmp_path_factory.mktemp("bundle"))
    except (RuntimeError, subprocess.TimeoutExpired) as error:
        pytest.fail(f"the bundle could not be built: {error}", pytrace=False)


@dataclass(frozen=True)
class Dists:
    wheel: Path
    sdist: Path


@pytest.fixture(scope="session")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Dists:
    try:
        return Dists(*build_dists(tmp_path_factory.mktemp("dists")))
    except (RuntimeError, subprocess.TimeoutExpired) as error:
        pytest.fail(f"the wheel and sdist could not be built: {error}", pytrace=False)


@dataclass(frozen=True)
class Venv:
    root: Path

    def bin(self, name: str) -> Path:
        folder = "Scripts" if sys.platform == "win32" else "bin"
        return self.root / folder / name

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run one of the environment's commands, with nothing of this repository around."""
        return subprocess.run(
            [str(self.bin(args[0])), *args[1:]],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.root,
        )


@pytest.fixture(scope="session")
def wheel_venv(dists: Dists, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Venv]:
    """A fresh virtual environment with the wheel installed, without the desktop extra."""
    venv = Venv(tmp_path_factory.mktemp("venv") / "atlhyper")
    subprocess.run([sys.executable, "-m", "venv", str(venv.root)], check=True, timeout=120)
    result = subprocess.run(
        [str(venv.bin("python")), "-m", "pip", "install", "-q", "--no-input", str(dists.wheel)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if result.returncode != 0:
        pytest.fail(f"pip install of the wheel failed:\n{result.stderr[-3000:]}", pytrace=False)
    yield venv
