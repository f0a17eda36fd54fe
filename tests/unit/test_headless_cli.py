"""`atlhyper-headless` as a user runs it: JSON lines out, clean stop on SIGTERM, clear errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

COMMAND = [
    sys.executable,
    "-c",
    "from headless_agent.cli import headless_main; raise SystemExit(headless_main())",
]


def test_demo_anomalies_come_out_as_json_lines_and_sigterm_stops_cleanly() -> None:
    process = subprocess.Popen(
        [*COMMAND, "--demo", "--demo-speed", "20", "--language", "zh"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(4)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    records = [json.loads(line) for line in out.splitlines()]
    states = {(r["cluster"], r["state"]) for r in records if r["event"] == "cluster-state"}
    assert ("demo-prod-eu", "synced") in states
    crash = next(
        r for r in records if r["event"] == "anomaly-opened" and r["reason"] == "CrashLoopBackOff"
    )
    assert (
        crash["cluster"] == "demo-prod-eu"
        and crash["kind"] == "Deployment"
        and crash["name"] == "checkout"
    )
    assert "反复崩溃" in crash["message"]


def test_an_unknown_context_is_a_clear_error(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\n"
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: prod, context: {cluster: c, user: u}}]\n"
    )
    result = subprocess.run(
        [*COMMAND, "--context", "staging"],
        env={**os.environ, "KUBECONFIG": str(kubeconfig)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "unknown context(s): staging" in result.stderr and "known: prod" in result.stderr
