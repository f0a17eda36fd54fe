"""The ``nodeprobe`` command: settings, ``--once``, and a run as the DaemonSet runs it."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from nodeprobe.cli import main
from nodeprobe.config import load_config
from nodeprobe.wire import parse_batch
from tests.nodeprobe.receiver import Receiver

Tree = Callable[[str], Path]
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("NODEPROBE_") or name == "NODE_NAME":
            monkeypatch.delenv(name)


@pytest.mark.parametrize(
    ("argv", "environment", "message"),
    [
        ([], {"NODEPROBE_INTERVAL": "fast"}, "NODEPROBE_INTERVAL='fast': expected a duration"),
        (["--interval", "0"], {}, "--interval='0': must be between 0.1 s and 3600 s"),
        ([], {"NODEPROBE_INTERVAL": "2h"}, "NODEPROBE_INTERVAL='2h': expected a duration"),
        ([], {"NODEPROBE_LISTEN": "9100"}, "NODEPROBE_LISTEN='9100': expected host:port"),
        ([], {"NODEPROBE_LISTEN": ":70000"}, "the port must be from 0 to 65535"),
        (
            [],
            {"NODEPROBE_TOP_PROCESSES": "-1"},
            "NODEPROBE_TOP_PROCESSES='-1': must be from 0 to 100",
        ),
        ([], {"NODEPROBE_TOP_PROCESSES": "ten"}, "expected a whole number from 0 to 100"),
        ([], {"NODEPROBE_BUFFER_BATCHES": "0"}, "NODEPROBE_BUFFER_BATCHES='0': must be from 1"),
        (
            [],
            {"NODEPROBE_SKIP_INTERFACES": "veth("},
            "NODEPROBE_SKIP_INTERFACES='veth(': not a valid regular expression",
        ),
        ([], {"NODEPROBE_SKIP_FSTYPES": "[tmpfs"}, "NODEPROBE_SKIP_FSTYPES='[tmpfs': not a valid"),
        ([], {"NODEPROBE_COLLECTORS": "cpu,gpu"}, "unknown collector gpu; choose from cpu, memory"),
        (
            [],
            {"NODEPROBE_PROCFS": "/nonexistent"},
            "NODEPROBE_PROCFS='/nonexistent': no such directory",
        ),
        (["--procfs", "/usr"], {}, "--procfs='/usr': has no stat, so it is not a procfs"),
        ([], {"NODEPROBE_AGENT_URL": "agent:8443"}, "expected an http:// or https:// URL"),
        ([], {"NODEPROBE_AGENT_URL": "https://user:pw@agent/"}, "not in the URL"),
        ([], {"NODEPROBE_AGENT_URL": "https://agent:99999/"}, "bad port"),
        ([], {"NODEPROBE_AGENT_URL": "https://agent/v1"}, "there is no token: set NODEPROBE_TOKEN"),
        (
            [],
            {"NODEPROBE_TOKEN_FILE": "/nonexistent/token"},
            "NODEPROBE_TOKEN_FILE='/nonexistent/token': cannot be read",
        ),
        ([], {"NODEPROBE_TOKEN": "a", "NODEPROBE_TOKEN_FILE": "/etc/hostname"}, "set only one"),
        ([], {"NODE_NAME": "bad name!"}, "NODE_NAME='bad name!': expected a node name"),
        ([], {"NODEPROBE_LOG_LEVEL": "loud"}, "expected one of debug, info, warning, error"),
        ([], {"NODEPROBE_LISTEN": "off"}, "nothing to do"),
    ],
)
def test_a_bad_setting_stops_the_probe_with_one_line_naming_it(
    argv: list[str],
    environment: dict[str, str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert error.startswith("nodeprobe: ") and error.count("\n") == 1
    assert message in error


def test_flags_win_over_variables_and_defaults_fill_the_rest(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("secret\n")
    config = load_config(
        ["--interval", "30s", "--top-processes", "5"],
        {
            "NODE_NAME": "worker-7",
            "NODEPROBE_INTERVAL": "1m",
            "NODEPROBE_AGENT_URL": "https://atlhyper-agent.atlhyper.svc:8443/v1/node-samples",
            "NODEPROBE_TOKEN_FILE": str(token),
            "NODEPROBE_LISTEN": "[::]:9199",
            "NODEPROBE_SKIP_INTERFACES": "^(veth|lo)",
        },
    )
    assert config.node_name == "worker-7"
    assert config.interval == 30.0
    assert config.token_file == str(token) and config.token is None
    assert config.listen == ("::", 9199)
    assert config.collectors[-1] == "processes" and config.options.top_processes == 5
    assert config.options.skip_interfaces.search("lo")
    assert (config.procfs, config.sysfs, config.rootfs, config.buffer_batches) == (
        "/proc",
        "/sys",
        "/",
        240,
    )


def test_once_prints_one_collection_with_rates_as_a_batch(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--once", "--node-name", "laptop"]) == 0
    printed = capsys.readouterr().out
    batch = parse_batch(printed.encode())
    assert batch.node == "laptop"
    [sample] = batch.samples
    assert sample.elapsed_seconds is not None and 0.9 < sample.elapsed_seconds < 3
    usage = {
        dict(labels)["mode"]: value
        for (name, labels), value in sample.values.items()
        if name == "cpu_usage_percent"
    }
    assert sum(usage.values()) == pytest.approx(100.0)
    assert ("network_receive_bytes_per_second", (("interface", "lo"),)) in sample.values
    assert json.loads(printed)["schema_version"] == 1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver("daemonset-token").start()
    yield running
    running.stop()


def test_a_run_like_the_daemonset_pushes_serves_and_stops_cleanly_on_sigterm(
    tree: Tree, receiver: Receiver, tmp_path: Path
) -> None:
    host = tree("node")  # the host's /proc, /sys and / as a container sees them
    token = tmp_path / "token"
    token.write_text("daemonset-token\n")
    port = free_port()
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "NODE_NAME": "worker-1",
        "NODEPROBE_AGENT_URL": receiver.url,
        "NODEPROBE_TOKEN_FILE": str(token),
        "NODEPROBE_INTERVAL": "200ms",
        "NODEPROBE_PROCFS": str(host / "proc"),
        "NODEPROBE_SYSFS": str(host / "sys"),
        "NODEPROBE_ROOTFS": str(host / "root"),
        "NODEPROBE_LISTEN": f"127.0.0.1:{port}",
    }
    probe = subprocess.Popen(
        [sys.executable, "-m", "nodeprobe"],
        cwd=REPO,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert receiver.wait_for(lambda: len(receiver.samples()) >= 3), probe.stderr
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", "/metrics")
        text = connection.getresponse().read().decode()
        connection.close()
        probe.send_signal(signal.SIGTERM)
        out, err = probe.communicate(timeout=10)
    finally:
        if probe.poll() is None:
            probe.kill()
            probe.wait()
    assert probe.returncode == 0, err
    assert "Traceback" not in err
    assert "daemonset-token" not in err
    batch = receiver.batches[-1]
    assert batch.node == "worker-1"
    assert batch.samples[-1].values[("memory_total_bytes", ())] == 24684092 * 1024.0
    assert batch.samples[-1].values[("uptime_seconds", ())] == 6835.97
    assert {d.collector for d in batch.disabled} == set(), "the fixture host has everything"
    metrics = {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if not sample.labels
    }
    assert metrics["nodeprobe_memory_total_bytes"] == 24684092 * 1024.0
    # Every collection reached the agent, the last ones during the shutdown.
    collections = int(err.rsplit("stopped after ", 1)[1].split()[0])
    assert receiver.samples() == sorted(receiver.samples())
    assert len(receiver.samples()) == collections
    assert out == ""


def test_failures_are_logged_but_the_token_never_is() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "nodeprobe", "--log-level", "debug", "--interval", "100ms"],
        cwd=REPO,
        env={
            "PATH": os.environ.get("PATH", ""),
            "NODEPROBE_AGENT_URL": f"http://127.0.0.1:{free_port()}/nowhere",
            "NODEPROBE_TOKEN": "do-not-print-me",
            "NODEPROBE_LISTEN": "off",
        },
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.0)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "push to http://127.0.0.1" in err and "Connection refused" in err
    assert "do-not-print-me" not in err
