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


def _unreachable_kubeconfig(folder: Path) -> Path:
    kubeconfig = folder / "config"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: prod\n"
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: prod, context: {cluster: c, user: u}}]\n"
    )
    return kubeconfig


def test_an_unknown_context_is_a_clear_error(tmp_path: Path) -> None:
    kubeconfig = _unreachable_kubeconfig(tmp_path)
    result = subprocess.run(
        [*COMMAND, "--context", "staging"],
        env={**os.environ, "KUBECONFIG": str(kubeconfig)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "unknown context(s): staging" in result.stderr and "known: prod" in result.stderr


def test_a_file_that_is_not_a_history_is_refused_and_left_alone(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes, not a database\n" * 100)
    before = notes.read_bytes()
    kubeconfig = _unreachable_kubeconfig(tmp_path)
    result = subprocess.run(
        [*COMMAND, "--history", str(notes)],
        env={**os.environ, "KUBECONFIG": str(kubeconfig)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert str(notes) in result.stderr and "has not changed it" in result.stderr
    assert "Traceback" not in result.stderr
    assert notes.read_bytes() == before


def test_the_demo_never_enters_a_real_history_file(tmp_path: Path) -> None:
    real = tmp_path / "history.sqlite3"
    kept = tmp_path / "kept.sqlite3"
    env = {**os.environ, "ATLHYPER_DB": str(real)}
    runs = [["--demo"], ["--demo", "--history", str(kept)]]
    for extra in runs:
        process = subprocess.Popen(
            [*COMMAND, *extra, "--demo-speed", "20"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(4)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=20)
        assert process.returncode == 0, err
    # The demo's history goes to a throwaway file, whatever ATLHYPER_DB or --history say.
    assert not real.exists() and not kept.exists()


def test_status_port_reports_clusters_and_metrics(tmp_path: Path) -> None:
    import socket

    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [*COMMAND, "--demo", "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        health = None
        while time.monotonic() < deadline:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).json()
                if all(c["state"] == "synced" for c in health["clusters"].values()):
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        assert health is not None and health["status"] == "serving"
        assert set(health["clusters"]) == {"demo-prod-eu", "demo-staging", "demo-edge-tokyo"}
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
        assert 'atlhyper_clusters{state="synced"} 3.0' in metrics
        assert "atlhyper_open_anomalies" in metrics
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
