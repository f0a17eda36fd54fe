"""The alert latency benchmark still runs end to end (a few incidents, tiny intervals; no
claims about how fast either path is)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tests.benchmarks import bench_alert_latency
from tests.benchmarks.bench_alert_latency import SECTION, BenchConfig, Profile

#: Every wait of both paths cut to a second or less, so a few incidents take seconds.
QUICK = Profile(
    "quick",
    scrape_interval=1,
    evaluation_interval=1,
    alertmanager_group_wait=0.5,
    group_wait=0.5,
    spacing=0.5,
)
#: A second profile: the first one's pods must be gone before its paths start.
AGAIN = Profile(
    "again",
    scrape_interval=2,
    evaluation_interval=1,
    alertmanager_group_wait=0,
    group_wait=0,
    spacing=0.3,
)


@pytest.mark.cluster
@pytest.mark.timeout(480)  # a cold build of kube-state-metrics included
def test_benchmark_runs_with_a_few_incidents(tmp_path: Path) -> None:
    config = BenchConfig(incidents=4, profiles=(QUICK, AGAIN), namespaces=2, nodes=2, patience=30)
    lines: list[str] = []

    report = bench_alert_latency.run_benchmark(config, workdir=tmp_path / "run", log=lines.append)

    text = bench_alert_latency.format_report(report)
    # A first cluster can be lost to a port another run took at the same moment; the
    # benchmark then starts a fresh one and says so. Anything else is a broken path.
    assert all(w.startswith("first cluster discarded") for w in report.warnings), text
    assert [result.profile for result in report.results] == [QUICK, AGAIN]
    for result in report.results:
        for figures in (result.atlhyper, result.stock):
            # Every incident reached the receiver, one pod per message, and was timed; no
            # message spoke of the other profile's pods.
            assert figures.missing == 0 and len(figures.latencies) == 4, text
            assert figures.messages == 4 and figures.merged == figures.strays == 0, text
            assert all(latency > 0 for latency in figures.latencies), text
            assert len(figures.detected) == 4, text
        assert len(result.patch_seconds) == 4
    # Equal intervals: the scrape-to-evaluation offset is known; unequal: it is not.
    offset = report.results[0].evaluation_after_scrape
    assert offset is not None and 0 <= offset < 1
    assert report.results[1].evaluation_after_scrape is None
    assert not any(math.isnan(float(cell)) for row in bench_alert_latency.figure_rows(report)
                   for cell in row[1:] if not cell.endswith("x"))  # fmt: skip
    assert "stock / AtlHyper" in text and config.command() in text

    # The docs writer creates the section once and keeps hand-written notes around it.
    docs = tmp_path / "BENCHMARKS.md"
    docs.write_text("# Benchmarks\n\n## Another benchmark\n\nTheirs.\n")
    bench_alert_latency.update_docs(report, docs)
    docs.write_text(docs.read_text() + "\nhand-written line\n")
    bench_alert_latency.update_docs(report, docs)
    written = docs.read_text()
    assert "## Another benchmark\n\nTheirs." in written
    assert written.count(SECTION.title) == 1
    assert written.count(SECTION.begin) == 1 and written.count(SECTION.end) == 1
    assert "hand-written line" in written and config.command() in written
