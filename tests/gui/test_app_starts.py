"""The desktop app starts, paints its window with trio running as a guest, and quits cleanly."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from desktop.app import main

pytestmark = pytest.mark.gui


def test_app_paints_a_window_and_exits_zero(qapp: object, tmp_path: Path) -> None:
    shot = tmp_path / "window.png"
    assert main(["--demo", "--quit-after", "0.5", "--screenshot", str(shot)]) == 0
    image = QImage(str(shot))
    assert image.width() >= 800 and image.height() >= 600
    # A painted window has text on it: more than one colour in its pixels.
    colours = {
        image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)
    }
    assert len(colours) > 2


def test_the_app_quits_without_crashing() -> None:
    """Closing the window ends the process with status 0, every time (no crash on exit)."""
    import os
    import subprocess
    import sys

    for _ in range(3):
        result = subprocess.run(
            [sys.executable, "-m", "desktop", "--demo", "--quit-after", "0.5"],
            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr[-2000:]


def test_agents_on_the_command_line_become_clusters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from desktop.app import add_clusters, build_parser
    from headless_agent.hub import Hub
    from headless_agent.kube.kubeconfig import KubeconfigSet

    monkeypatch.delenv("ATLHYPER_AGENT_TOKEN", raising=False)
    args = build_parser().parse_args(["--agent", "prod=https://agent.example:8443"])
    with pytest.raises(ValueError, match="needs a token"):
        add_clusters(Hub(), args, KubeconfigSet((), None, {}))
    token = tmp_path / "token"
    token.write_text("viewer-token-0123456789\n")
    args = build_parser().parse_args(
        ["--agent", "prod=https://agent.example:8443", "--agent-token-file", str(token)]
    )
    hub = Hub()
    add_clusters(hub, args, KubeconfigSet((), None, {}))
    assert [(h.name, h.origin, h.description) for h in hub.clusters.values()] == [
        ("prod", "agent", "https://agent.example:8443")
    ]
