"""The engine sync benchmark still runs end to end (at a tiny size; no performance claims)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.benchmarks.bench_engine_sync import (
    BEGIN_MARK,
    END_MARK,
    SECTION_TITLE,
    BenchConfig,
    format_report,
    run_benchmark,
    update_docs,
)


@pytest.mark.cluster
@pytest.mark.timeout(120)
def test_benchmark_runs_at_tiny_size(tmp_path: Path) -> None:
    config = BenchConfig(nodes=3, pods=30, events=30, rounds=2, namespaces=2, child_timeout=60)
    lines: list[str] = []

    report = run_benchmark(config, workdir=tmp_path / "kwok", log=lines.append)

    assert report.setup.not_running == 0, lines
    assert report.warnings == [], format_report(report)
    for measurement in (report.engine, report.baseline):
        assert measurement.health == "synced", measurement
        assert measurement.objects["Pod"] == 30
        assert measurement.objects["Node"] == 3
        assert 0 < measurement.sync_seconds < 60
        assert measurement.sync_cpu_seconds >= 0
        assert measurement.rss_before > 0 and measurement.rss_synced > 0
        assert measurement.peak_rss >= measurement.rss_synced
        assert measurement.events == 30 and measurement.events_missing == 0
        assert len(measurement.rounds) == config.rounds
        for event_round in measurement.rounds:
            assert event_round.wall_seconds > 0 and event_round.patch_seconds > 0
            assert event_round.cpu_seconds >= 0
    assert "baseline / engine" in format_report(report)

    # The docs writer creates the section once and keeps hand-written notes around it.
    docs = tmp_path / "BENCHMARKS.md"
    update_docs(report, docs)
    docs.write_text(docs.read_text() + "\nhand-written line\n")
    update_docs(report, docs)
    text = docs.read_text()
    assert text.count(SECTION_TITLE) == 1
    assert text.count(BEGIN_MARK) == 1 and text.count(END_MARK) == 1
    assert "hand-written line" in text
    assert config.command() in text
