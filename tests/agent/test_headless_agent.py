"""`atlhyper-headless --agent NAME=URL`: a jump host watching a cluster through its agent."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import trio

from headless_agent.hub import Hub
from tests.agent.conftest import VIEWER, serve_agent

COMMAND = [
    sys.executable,
    "-c",
    "from headless_agent.cli import headless_main; raise SystemExit(headless_main())",
]


async def test_headless_reports_a_cluster_seen_through_its_agent(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(f"# viewer token\n{VIEWER}\n")
    source = Hub()
    async with trio.open_nursery() as nursery:
        await nursery.start(source.run)
        prod = next(h for h in source.watch_demo(speed=30) if h.name == "demo-prod-eu")
        agent = await serve_agent(nursery, source, prod)
        process = await trio.lowlevel.open_process(
            [*COMMAND, "--agent", f"prod={agent.url}", "--agent-token-file", str(token_file)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "ATLHYPER_DB": str(tmp_path / "h.sqlite3")},
        )
        assert process.stdout is not None
        buffer = b""
        records = []
        with trio.fail_after(30):
            while not any(
                r["event"] == "anomaly-opened" and r["reason"] == "CrashLoopBackOff"
                for r in records
            ):
                buffer += await process.stdout.receive_some(65536)
                *lines, buffer = buffer.split(b"\n")
                records += [json.loads(line) for line in lines if line]
        process.send_signal(signal.SIGTERM)
        with trio.fail_after(20):
            assert await process.wait() == 0
        assert ("prod", "synced") in {
            (r["cluster"], r["state"]) for r in records if r["event"] == "cluster-state"
        }
        crash = next(r for r in records if r.get("reason") == "CrashLoopBackOff")
        assert crash["cluster"] == "prod" and crash["name"] == "checkout"
        assert (tmp_path / "h.sqlite3").exists()  # the jump host keeps the history
        nursery.cancel_scope.cancel()


def test_an_agent_without_a_token_is_a_clear_error() -> None:
    env = {k: v for k, v in os.environ.items() if k != "ATLHYPER_AGENT_TOKEN"}
    result = subprocess.run(
        [*COMMAND, "--agent", "prod=https://agent.example:8443"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "--agent needs a token" in result.stderr and "Traceback" not in result.stderr
    bad = subprocess.run(
        [*COMMAND, "--agent", "no-url-here"], env=env, capture_output=True, text=True, timeout=30
    )
    assert bad.returncode == 2 and "expected NAME=https://HOST:PORT" in bad.stderr
