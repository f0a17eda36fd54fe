"""Several processes opening a new history file at once (the desktop and a headless run
sharing it, a test reading while the app starts) all get the same, fully migrated file."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from headless_agent.store import HistoryStore
from headless_agent.store.schema import LATEST_VERSION

# Each process imports first, then waits for the same moment to open: a real race.
OPEN = (
    "import sys, time; from headless_agent.store import HistoryStore; "
    "time.sleep(max(0.0, float(sys.argv[2]) - time.time())); "
    "HistoryStore.open(sys.argv[1], start=False, check='none').close()"
)


def test_processes_opening_a_new_file_together_all_succeed(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    root = Path(__file__).resolve().parents[2]
    moment = str(time.time() + 3.0)
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN, str(path), moment], cwd=root, stderr=subprocess.PIPE
        )
        for _ in range(6)
    ]
    errors = [(run.wait(timeout=120), run.stderr.read().decode()) for run in runs if run.stderr]
    assert [code for code, _ in errors] == [0] * 6, [text for _, text in errors]
    with HistoryStore.open(path, start=False) as store:
        version = store._read(lambda db: db.execute("PRAGMA user_version").fetchone()[0])
    assert version == LATEST_VERSION
