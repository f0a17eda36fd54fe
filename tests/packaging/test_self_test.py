"""`atlhyper --self-test` from the source tree: it passes on a complete installation and
names what is missing on a broken one (fast; the bundle's own run is in test_bundle)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.gui

BROKEN_CATALOGS = """
from pathlib import Path
from headless_agent import i18n
i18n.catalog_path = lambda language: Path("/nonexistent") / language / "atlhyper.po"
from desktop.app import main
raise SystemExit(main(["--self-test"]))
"""


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "KUBECONFIG": os.devnull},
    )


def test_the_self_test_renders_every_view_and_exits_zero() -> None:
    result = _run("-m", "desktop", "--self-test")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "engine on the demo fleet (3 clusters" in result.stdout
    rendered = [line for line in result.stdout.splitlines() if " rendered (" in line]
    assert len(rendered) >= 8  # anomalies, pods, nodes, workloads, history, audit, …
    assert f"self-test passed: {len(rendered)} views rendered" in result.stdout


def test_the_self_test_names_what_is_missing_and_exits_one() -> None:
    result = _run("-c", BROKEN_CATALOGS)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "self-test FAILED: message catalog zh: missing" in result.stdout
    assert "self-test passed" not in result.stdout
