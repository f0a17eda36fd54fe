"""The nodeprobe benchmark still runs (tiny), and writes only its own section of the docs."""

from __future__ import annotations

from pathlib import Path

from tests.benchmarks import bench_nodeprobe
from tests.benchmarks.bench_nodeprobe import BenchConfig, run_benchmark, update_docs


def test_a_tiny_run_measures_both_side_by_side_and_keeps_other_sections(tmp_path: Path) -> None:
    lines: list[str] = []
    report = run_benchmark(BenchConfig(collections=6, interval=0.1), log=lines.append)
    assert report.probe.work >= 5, "nodeprobe pushed its collections to the receiver"
    assert report.exporter.work == 6 and report.probe_scrape.work == 12
    assert 10 * 2**20 < report.probe.rss < 64 * 2**20
    assert report.exporter.rss > 0 and report.probe.peak_rss >= report.probe.rss
    assert report.probe.cpu_seconds > 0 and report.exporter.cpu_seconds > 0
    assert any(name.startswith("psutil==") for name in report.dependencies)
    text = bench_nodeprobe.format_report(report)
    assert "node_exporter / nodeprobe" in text and "target: resident memory" in text

    docs = tmp_path / "BENCHMARKS.md"
    docs.write_text("# Benchmarks\n\n## Another benchmark\n\nTheirs.\n")
    update_docs(report, docs)
    update_docs(report, docs)  # a second run replaces its block, and only that
    written = docs.read_text()
    assert "## Another benchmark\n\nTheirs." in written
    assert written.count(bench_nodeprobe.SECTION_TITLE) == 1
    assert written.count(bench_nodeprobe.BEGIN_MARK) == 1
    assert "bench_nodeprobe --collections 6 --interval 0.1" in written
