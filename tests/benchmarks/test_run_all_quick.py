"""run_all still runs benchmarks and writes its summary (two cheap ones, quick sizes)."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.benchmarks import run_all
from tests.benchmarks.docs_section import DOCS


def test_a_quick_run_writes_the_summary_at_the_top(tmp_path: Path) -> None:
    docs = tmp_path / "BENCHMARKS.md"
    shutil.copy(DOCS, docs)
    before = docs.read_text()
    lines: list[str] = []

    outcomes = run_all.run_all(
        ["store", "nodeprobe"], quick=True, docs=docs, command="run_all test", log=lines.append
    )

    assert [o.failed for o in outcomes] == [False, False], "\n".join(lines)
    text = docs.read_text()
    summary = text[text.index(run_all.SUMMARY.begin) : text.index(run_all.SUMMARY.end)]
    # At the top: before every benchmark's own section.
    assert text.index("\n## ") + 1 == text.index(run_all.SUMMARY.title)
    assert text.index(run_all.SUMMARY.title) < text.index("## Engine: sync and watch cost")
    assert "Machine: " in summary and " cores (" in summary and "Python " in summary
    assert "**Quick run**" in summary and "`run_all test`" in summary
    for name in ("store", "nodeprobe"):
        [line] = [line for line in summary.splitlines() if line.startswith(f"| [{name}]")]
        assert f"tests.benchmarks.bench_{name} " in line  # its exact command
    # The benchmarks rewrote their own sections in the copy, never the real page.
    assert "bench_nodeprobe --collections 6 --interval 0.1" in text
    assert DOCS.read_text().count(run_all.SUMMARY.begin) == before.count(run_all.SUMMARY.begin)

    # A second run replaces the block; a failing benchmark is reported and the rest still run.
    failing = run_all.Benchmark("broken", "tests.benchmarks.no_such_module", "", (), ())
    run_all.BY_NAME["broken"] = failing
    try:
        outcomes = run_all.run_all(
            ["broken", "nodeprobe"], quick=True, docs=docs, command="again", log=lines.append
        )
    finally:
        del run_all.BY_NAME["broken"]
    assert [o.failed for o in outcomes] == [True, False]
    text = docs.read_text()
    assert text.count(run_all.SUMMARY.begin) == 1
    assert "| broken | **failed**: exit status 1" in text


def test_the_command_line_quick_run_without_docs_writes_nothing(tmp_path: Path) -> None:
    before = DOCS.read_text()
    assert run_all.main(["--quick", "--only", "nodeprobe"]) == 0
    assert DOCS.read_text() == before
