"""The bundle benchmark still runs: one launch of the bundle this test run built, no
baseline, nothing written to docs/BENCHMARKS.md (no assertion on speed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.benchmarks.bench_bundle import SECTION, docs_block, measure_app, rows

pytestmark = pytest.mark.packaging


def test_bundle_benchmark_code_path_runs(bundle: Path, tmp_path: Path) -> None:
    measured = measure_app(bundle, tmp_path, runs=1)
    assert measured.size > 50 * 2**20 and len(measured.paints) == 1
    assert 0 < measured.median_paint < 60
    assert rows(measured, None)[0][2] == "not built"
    block = docs_block(measured, None, "bench")
    assert block.startswith(SECTION.begin) and block.rstrip().endswith(SECTION.end)
    assert "the issue quotes about 220 MB for it" in block
