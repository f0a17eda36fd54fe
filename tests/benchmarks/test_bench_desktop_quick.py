"""The desktop benchmark still runs (tiny sizes; no assertion on speed)."""

from __future__ import annotations

import pytest

from tests.benchmarks.bench_desktop import run_load

pytestmark = pytest.mark.gui


def test_desktop_benchmark_code_path_runs() -> None:
    result = run_load(pods=300, nodes=10, rate=100, seconds=1.0, naive=False)
    assert result["rows"] == 300
    assert result["updates_per_s"] > 0
    assert result["max_stall_ms"] >= result["p99_stall_ms"] >= 0
