"""One benchmark's generated section of docs/BENCHMARKS.md, rewritten in place, and the
tables of figures that go into it (and, padded, to the terminal).

Each benchmark owns a section: a ``## title`` and, under it, a block between a BEGIN and an
END marker that the benchmark writes. Only that block is replaced on a later run, so the
hand-written notes after it and every other benchmark's section stay as they are. The
file is read right before it is written, so sections rewritten meanwhile by another
benchmark are kept too.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs" / "BENCHMARKS.md"

#: The file's opening, for when a benchmark writes the first section of a new file.
DOCS_HEADER = """\
# Benchmarks

How fast and how cheaply AtlHyper does its work. Each section names the exact command;
generated parts between `BEGIN`/`END` comments are rewritten by that command, the rest of
a section (its notes) is written by hand.
"""

#: Written once after a new section's block, for the notes a person adds after a run.
NOTES_PLACEHOLDER = "### Notes\n\nNothing odd has been noted about this benchmark yet.\n"


@dataclass(frozen=True)
class DocsSection:
    """``title`` is the section's heading line; ``begin``/``end`` are its markers, which
    the generated block starts and ends with; ``after`` is written after the block only
    when the section is created (its notes, or nothing)."""

    title: str
    begin: str
    end: str
    after: str = ""

    def write(self, block: str, path: Path = DOCS) -> None:
        if not block.startswith(self.begin) or not block.rstrip("\n").endswith(self.end):
            raise ValueError(f"the block for {self.title!r} must start and end with its markers")
        text = path.read_text() if path.exists() else DOCS_HEADER
        begin, end = text.find(self.begin), text.find(self.end)
        if self.title in text and begin != -1 and end > begin:
            text = text[:begin] + block + text[end + len(self.end) :]
        else:
            text = text.rstrip("\n") + f"\n\n{self.title}\n\n{block}\n"
            if self.after:
                text += f"\n{self.after}"
        path.write_text(text)


def add_update_docs_option(parser: argparse.ArgumentParser, when: str = "at full size") -> None:
    """``--update-docs auto|yes|no``; ``when`` says when ``auto`` writes. Also ``--docs
    PATH`` (which file to write) and ``--json FILE`` (the figures for run_all)."""
    parser.add_argument(
        "--update-docs",
        choices=("auto", "yes", "no"),
        default="auto",
        help=f"write the figures into {DOCS.relative_to(REPO)} (auto: only {when})",
    )
    add_docs_and_json_options(parser)


def add_docs_and_json_options(parser: argparse.ArgumentParser) -> None:
    """``--docs PATH``: the file ``--update-docs`` writes; ``--json FILE``: the key figures,
    machine-readable (what ``tests.benchmarks.run_all`` collects)."""
    parser.add_argument(
        "--docs",
        type=Path,
        default=DOCS,
        help="the benchmarks page to write (default: %(default)s)",
    )
    parser.add_argument("--json", type=Path, help="also write the key figures to this JSON file")


def wanted(choice: str, full_size: bool) -> bool:
    """Whether ``--update-docs choice`` writes for a run of this size."""
    return choice == "yes" or (choice == "auto" and full_size)


def write_if_wanted(
    choice: str, full_size: bool, section: DocsSection, block: str, path: Path = DOCS
) -> None:
    """Write the block when ``--update-docs`` asks for it, and say so."""
    if wanted(choice, full_size):
        section.write(block, path)
        print(f"\nupdated {path}")


Row = Sequence[str]


def write_figures(
    path: Path | None,
    *,
    measured: str,
    columns: Row,
    rows: Iterable[Row],
    headline: Row,
    command: str = "",
    warnings: Sequence[str] = (),
) -> None:
    """The figures of one run as JSON (nothing if ``path`` is None), for run_all's summary.

    ``measured`` says what the benchmark measures, in words; ``columns`` and ``rows`` are its
    table as printed (the first column is the label); ``headline`` sums it up in one line:
    (what, AtlHyper's figure, the baseline's, the ratio as the table gives it).
    """
    if path is None:
        return
    what, figure, baseline, ratio = headline
    document = {
        "measured": measured,
        "headline": {"what": what, "figure": figure, "baseline": baseline, "ratio": ratio},
        "columns": list(columns),
        "rows": [list(row) for row in rows],
        "command": command,
        "warnings": list(warnings),
    }
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def reported(warnings: Sequence[str], clean: str) -> list[str]:
    """What the run warned about, as a list under a bold line; ``clean`` if nothing."""
    if warnings:
        return ["**The run reported:**", "", *(f"- {w}" for w in warnings)]
    return [clean]


def markdown_table(header: Row, rows: Iterable[Row]) -> list[str]:
    """A table of figures as Markdown lines: the first column left, the others right.

    An empty header cell is written ``| |``, an empty body cell ``|  |`` (the sections
    already written look so).
    """
    head = "|" + "".join(f" {cell} |" if cell else " |" for cell in header)
    rule = "|---|" + "---:|" * (len(header) - 1)
    return [head, rule, *(f"| {' | '.join(row)} |" for row in rows)]


def text_table(header: Row, rows: Iterable[Row]) -> str:
    """The same table for a terminal: columns padded, the first left, the others right."""
    lines = [tuple(header), *(tuple(row) for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(
            cell.ljust(widths[0]) if i == 0 else cell.rjust(widths[i])
            for i, cell in enumerate(line)
        )
        for line in lines
    )
