"""The desktop benchmark still runs (tiny sizes; no assertion on speed)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.benchmarks.bench_desktop import SECTION, run_load
from tests.benchmarks.docs_section import DOCS

pytestmark = pytest.mark.gui


def test_desktop_benchmark_code_path_runs() -> None:
    result = run_load(pods=300, nodes=10, rate=100, seconds=1.0, naive=False)
    assert result["rows"] == 300
    assert result["updates_per_s"] > 0
    assert result["max_stall_ms"] >= result["p99_stall_ms"] >= 0


def test_the_whole_desktop_benchmark_ends_and_writes_its_section(tmp_path: Path) -> None:
    # In a child process as run_all starts it: the baseline in a fresh process, then four
    # launches of the app that close it at their first paint (such a child once never
    # exited, and the benchmark failed on its timeout).
    docs = tmp_path / "BENCHMARKS.md"
    shutil.copy(DOCS, docs)
    command = [sys.executable, "-m", "tests.benchmarks.bench_desktop", "--pods", "300"]
    command += ["--nodes", "10", "--rate", "100", "--seconds", "1"]
    command += ["--update-docs", "yes", "--docs", str(docs)]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "first paint from launch (median of 3 warm starts):" in result.stdout
    text = docs.read_text()
    block = text[text.index(SECTION.begin) : text.index(SECTION.end)]
    assert "--pods 300 --nodes 10 --rate 100 --seconds 1`" in block
    assert "| longest stall of the Qt event loop (ms) |" in block
    assert "first paint under 1.5 s —" in block
    assert text.count(SECTION.title) == 1
