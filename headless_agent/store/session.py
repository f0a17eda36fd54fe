"""Which history file a run of the desktop or of headless mode uses.

The user's history lives in one file (``paths``). A run on the demo fleet gets a throwaway
file instead, removed when the process exits: simulated clusters must never enter a real
history, yet the demo should show the history views working.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

from headless_agent.store.history_store import HistoryStore


def open_session_history(
    setting: str | os.PathLike[str] | None = None, *, demo: bool = False
) -> HistoryStore:
    """Open the history file for this run, its writer not yet started (the Hub runs it).

    Raises ``StoreOpenError`` with a message for the user when the file cannot be used.
    Blocking: from trio, call it through ``trio.to_thread.run_sync``.
    """
    if demo:
        folder = Path(tempfile.mkdtemp(prefix="atlhyper-demo-history-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        return HistoryStore.open(folder / "demo-history.sqlite3", start=False)
    return HistoryStore.open(setting, start=False)
