"""What importing the probe brings in: nothing of the engine, Qt or async frameworks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def modules_after(statement: str) -> set[str]:
    code = f"import sys, json; {statement}; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    return {name.split(".")[0] for name in json.loads(result.stdout)}


def test_the_running_probe_imports_no_engine_qt_or_async_framework() -> None:
    loaded = modules_after("import nodeprobe.cli, nodeprobe.push, nodeprobe.exposition")
    assert {"psutil", "prometheus_client"} <= loaded
    forbidden = {"headless_agent", "desktop", "PySide6", "pyqtgraph", "trio", "anyio", "httpx"}
    assert not loaded & forbidden


def test_the_wire_format_is_light_enough_for_the_agent_to_import() -> None:
    loaded = modules_after("import nodeprobe.wire")
    assert not loaded & {"psutil", "prometheus_client", "http", "ssl", "logging"}
