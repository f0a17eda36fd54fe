"""The fleet benchmark still runs end to end (two tiny clusters; no performance claims)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.benchmarks import bench_fleet
from tests.benchmarks.bench_fleet import BenchConfig, docs_block, format_report, run_benchmark


@pytest.mark.cluster
@pytest.mark.timeout(240)
def test_benchmark_runs_with_two_tiny_clusters(tmp_path: Path) -> None:
    config = BenchConfig(clusters=2, pods=50, nodes=3, churn_seconds=5, incidents=2, timeout=60)
    lines: list[str] = []

    report = run_benchmark(config, workdir=tmp_path / "kwok", log=lines.append)

    text = format_report(report)
    assert report.warnings == [], text
    for hub, clusters in ((report.one, 1), (report.fleet, 2)):
        assert hub.clusters == clusters
        assert hub.pods == 50 * clusters, text
        assert len(hub.sync_seconds) == clusters and hub.all_synced_seconds > 0
        assert hub.rss_synced > hub.rss_before > 0
        assert hub.patches == 250 * clusters
        # Every PATCH is a watch event (kwok and the incidents add a few).
        assert hub.churn_events >= hub.patches and hub.churn_cpu_seconds > 0
        assert hub.marked
        assert len(hub.latencies) == 2 * clusters and hub.missing == 0
        assert all(latency > 0 for latency in hub.latencies)
    assert report.official.rss_delta > 0 and report.official.objects["Pod"] == 50
    assert "fleet / one" in text

    # The section is created once and later runs replace only its block.
    docs = tmp_path / "BENCHMARKS.md"
    docs.write_text("# Benchmarks\n\n## Another section\n\nkept\n")
    for _ in range(2):
        bench_fleet.SECTION.write(docs_block(report), docs)
    written = docs.read_text()
    assert written.count(bench_fleet.SECTION.title) == 1 and "kept" in written
    assert config.command() in written
