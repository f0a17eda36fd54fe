"""Every module of the engine and the probe imports on its own: an import cycle that only
bites when a module is loaded first (as a test or an entry point may) is caught here
rather than by a user. Each is imported with all of our modules forgotten beforehand
(third-party libraries stay loaded: they cannot take part in our cycles), so the whole
check costs a second, not a fresh interpreter per module."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OURS = ("headless_agent", "nodeprobe")


def _modules() -> list[str]:
    found = []
    for package in OURS:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.name == "__main__.py":
                continue  # runs the program
            parts = path.relative_to(ROOT).with_suffix("").parts
            found.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return found


def test_every_module_imports_alone() -> None:
    modules = _modules()
    assert len(modules) > 50
    saved = {name: module for name, module in sys.modules.items() if name.startswith(OURS)}
    failures = []
    try:
        for module in modules:
            for name in [n for n in sys.modules if n.startswith(OURS)]:
                del sys.modules[name]
            try:
                importlib.import_module(module)
            except ImportError as error:
                failures.append(f"{module}: {error}")
    finally:
        for name in [n for n in sys.modules if n.startswith(OURS)]:
            del sys.modules[name]
        sys.modules.update(saved)  # the rest of the run keeps the modules it had
    assert failures == []
