"""Fixture trees of recorded hosts, and a clock the tests move by hand."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from nodeprobe.collectors import ALL, DEFAULT_NAMES, Host, Options
from nodeprobe.registry import Registry

FIXTURES = Path(__file__).parent / "fixtures"


def host_of(tree: Path) -> Host:
    return Host(procfs=str(tree / "proc"), sysfs=str(tree / "sys"), rootfs=str(tree / "root"))


class ManualClock:
    """A monotonic clock that only moves when told to."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def tree(tmp_path: Path) -> Callable[[str], Path]:
    """Copy a fixture tree (``node`` or ``bare``) to a temporary directory."""

    def copy(name: str) -> Path:
        target = tmp_path / name
        shutil.copytree(FIXTURES / name, target, symlinks=True)
        return target

    return copy


def registry_for(
    tree: Path,
    clock: ManualClock,
    names: tuple[str, ...] = DEFAULT_NAMES,
    options: Options | None = None,
) -> Registry:
    return Registry(
        [ALL[name] for name in names],
        host_of(tree),
        options or Options(),
        clock=clock,
        wall_clock=lambda: 1_764_201_600.0 + clock.now,
    )
