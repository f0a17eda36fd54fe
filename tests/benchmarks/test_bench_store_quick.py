"""The history store benchmark still runs: a tiny fleet for one day, end to end."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.benchmarks import bench_store


def test_the_benchmark_runs_tiny_and_reports_every_figure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = tmp_path / "BENCHMARKS.md"
    docs.write_text("# Benchmarks\n\n## Another section\n\nkept as it is\n")
    report = bench_store.run(
        days=1,
        nodes=3,
        series=12,
        naive_nodes=2,
        scrape_hours=0.5,
        workdir=tmp_path,
        progress=lambda _: None,
    )
    assert report.engine.samples == 3 * 12 * 5760
    assert report.engine.rate > 0 and report.naive.rate > 0
    # Every sample is in the file, and it is far smaller than a row per sample.
    assert report.engine.file_bytes < report.naive.file_bytes * report.scale
    text = bench_store.format_report(report)
    for chart in bench_store.CHARTS:
        assert f"24 h, {chart}" in text and f"1 d, {chart}" in text
    assert "naive" in text and "×" in text
    # A chart never gets more than the budget of points per series.
    assert max(report.queries.points.values()) <= 1500

    bench_store.update_docs(report, "python -m tests.benchmarks.bench_store --days 1", docs)
    bench_store.update_docs(report, "python -m tests.benchmarks.bench_store --days 1", docs)
    written = docs.read_text()
    assert "kept as it is" in written
    assert written.count(bench_store.SECTION_TITLE) == 1
    assert written.count(bench_store.BEGIN_MARK) == 1
