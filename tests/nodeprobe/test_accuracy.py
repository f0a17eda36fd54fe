"""nodeprobe against node_exporter (the distribution's package) over the same 30 s window.

Both read the same kernel counters, so over one window their figures must agree: CPU
percentages within 2 points, memory within 1 %, disk and network rates within 5 %. While
the window runs the test reads and writes a file on the block device holding its
temporary directory and streams data through loopback, so the rates compared are not
all zero; it stops a second before the window closes so that neither side's edge falls
in the middle of a burst.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from nodeprobe.collectors import ALL, DEFAULT_NAMES, Host, Options
from nodeprobe.model import Sample
from nodeprobe.registry import Registry
from tests.nodeprobe.node_exporter import Scrape, node_exporter
from tests.nodeprobe.test_live import block_device_of

WINDOW_SECONDS = 30.0
MiB = 1024 * 1024
MODES = ("user", "system", "iowait", "steal", "idle")


@contextmanager
def disk_and_network_load(directory: str) -> Iterator[dict[str, int]]:
    """Write, flush, drop from the cache and read back 2 MiB every 0.1 s; stream
    ~10 MB/s through loopback. Yields counts of what was done."""
    stop = threading.Event()
    done = {"disk_bytes": 0, "network_bytes": 0}
    path = os.path.join(directory, "nodeprobe-accuracy.bin")
    chunk = os.urandom(2 * MiB)

    def disk() -> None:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            while not stop.is_set():
                os.pwrite(descriptor, chunk, 0)
                os.fsync(descriptor)
                os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
                os.pread(descriptor, len(chunk), 0)
                done["disk_bytes"] += 2 * len(chunk)
                stop.wait(0.1)
        finally:
            os.close(descriptor)
            os.unlink(path)

    server = socket.create_server(("127.0.0.1", 0))

    def receive() -> None:
        connection, _ = server.accept()
        with connection:
            while connection.recv(1 << 20):
                pass

    def send() -> None:
        with socket.create_connection(server.getsockname()) as sender:
            piece = b"n" * (256 * 1024)
            while not stop.is_set():
                sender.sendall(piece)
                done["network_bytes"] += len(piece)
                stop.wait(0.025)

    threads = [threading.Thread(target=f, daemon=True) for f in (disk, receive, send)]
    for thread in threads:
        thread.start()
    try:
        yield done
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
        server.close()


def counter(scrape: Scrape, name: str, **labels: str) -> float:
    return scrape[name][tuple(sorted(labels.items()))]


def exporter_rate(before: Scrape, after: Scrape, seconds: float, name: str, **labels: str) -> float:
    return (counter(after, name, **labels) - counter(before, name, **labels)) / seconds


def exporter_cpu_percent(before: Scrape, after: Scrape) -> dict[str, float]:
    spent: dict[str, float] = {}
    for labels, value in after["node_cpu_seconds_total"].items():
        mode = dict(labels)["mode"]
        spent[mode] = spent.get(mode, 0.0) + value - before["node_cpu_seconds_total"][labels]
    total = sum(spent.values())
    return {mode: 100.0 * seconds / total for mode, seconds in spent.items()}


def ours(sample: Sample, name: str, **labels: str) -> float:
    return sample.values[(name, tuple(sorted(labels.items())))]


def within(ours_value: float, theirs: float, relative: float) -> bool:
    return abs(ours_value - theirs) <= relative * max(abs(theirs), 1e-9) or ours_value == theirs


def test_cpu_memory_disk_and_network_agree_with_node_exporter_over_30_seconds(
    tmp_path: Path,
) -> None:
    directory = str(tmp_path)
    device = block_device_of(directory)
    if device is None:  # the temporary directory is in memory: write beside the tests
        directory = str(Path(__file__).parent)
        device = block_device_of(directory)
    assert device is not None
    registry = Registry([ALL[name] for name in DEFAULT_NAMES], Host(), Options())

    with node_exporter() as exporter:
        registry.collect()
        at_start, before = exporter.scrape()
        window_end = time.monotonic() + WINDOW_SECONDS
        with disk_and_network_load(directory) as done:
            time.sleep(WINDOW_SECONDS - 1.5)
        time.sleep(max(0.0, window_end - time.monotonic()))
        sample = registry.collect()
        at_end, after = exporter.scrape()
    seconds = at_end - at_start
    assert sample.elapsed_seconds is not None
    assert sample.elapsed_seconds == pytest.approx(WINDOW_SECONDS, abs=0.5)
    assert done["disk_bytes"] > 100 * MiB and done["network_bytes"] > 100 * MiB, done

    problems: list[str] = []
    report: list[str] = []

    def compare(
        what: str, mine: float, theirs: float, tolerance: float, *, points: bool = False
    ) -> None:
        ok = abs(mine - theirs) <= tolerance if points else within(mine, theirs, tolerance)
        allowed = f"±{tolerance:g} points" if points else f"±{tolerance:.2%}"
        line = f"{what}: nodeprobe {mine:.6g}, node_exporter {theirs:.6g} ({allowed})"
        report.append(line)
        if not ok:
            problems.append(line)

    # CPU: share of all CPUs' time per mode, within 2 percentage points.
    theirs_cpu = exporter_cpu_percent(before, after)
    for mode in MODES:
        compare(
            f"cpu {mode} %",
            ours(sample, "cpu_usage_percent", mode=mode),
            theirs_cpu[mode],
            2.0,
            points=True,
        )

    # Memory at the end of the window, within 1 %.
    def meminfo(name: str) -> float:
        return counter(after, f"node_memory_{name}_bytes")

    memory = {
        "memory_total_bytes": meminfo("MemTotal"),
        "memory_available_bytes": meminfo("MemAvailable"),
        "memory_used_bytes": meminfo("MemTotal") - meminfo("MemAvailable"),
        "memory_free_bytes": meminfo("MemFree"),
        "memory_buffers_bytes": meminfo("Buffers"),
        "memory_cached_bytes": meminfo("Cached") + meminfo("SReclaimable"),
        "swap_total_bytes": meminfo("SwapTotal"),
        "swap_used_bytes": meminfo("SwapTotal") - meminfo("SwapFree"),
    }
    for name, theirs in memory.items():
        compare(name, ours(sample, name), theirs, 0.01)

    # Disk: the device under load, every rate within 5 %.
    disk = {
        "disk_read_bytes_per_second": "node_disk_read_bytes_total",
        "disk_write_bytes_per_second": "node_disk_written_bytes_total",
        "disk_reads_per_second": "node_disk_reads_completed_total",
        "disk_writes_per_second": "node_disk_writes_completed_total",
    }
    for name, theirs_name in disk.items():
        theirs = exporter_rate(before, after, seconds, theirs_name, device=device)
        compare(f"{name} {device}", ours(sample, name, device=device), theirs, 0.05)
    busy = 100 * exporter_rate(
        before, after, seconds, "node_disk_io_time_seconds_total", device=device
    )
    compare(
        f"disk_utilization_percent {device}",
        ours(sample, "disk_utilization_percent", device=device),
        busy,
        0.05,
    )
    assert ours(sample, "disk_write_bytes_per_second", device=device) > 1 * MiB
    assert ours(sample, "disk_read_bytes_per_second", device=device) > 1 * MiB

    # Network: every interface both report, every rate within 5 %.
    network = {
        "network_receive_bytes_per_second": "node_network_receive_bytes_total",
        "network_transmit_bytes_per_second": "node_network_transmit_bytes_total",
        "network_receive_packets_per_second": "node_network_receive_packets_total",
        "network_transmit_packets_per_second": "node_network_transmit_packets_total",
    }
    interfaces = {dict(labels)["device"] for labels in after["node_network_receive_bytes_total"]}
    mine = {
        dict(labels)["interface"] for (name, labels) in sample.values if name.startswith("network_")
    }
    assert "lo" in interfaces & mine
    for interface in interfaces & mine:
        for name, theirs_name in network.items():
            theirs = exporter_rate(before, after, seconds, theirs_name, device=interface)
            compare(f"{name} {interface}", ours(sample, name, interface=interface), theirs, 0.05)
    assert ours(sample, "network_receive_bytes_per_second", interface="lo") > 1 * MiB

    # Space on the root filesystem: the same statvfs.
    for labels, size in after["node_filesystem_size_bytes"].items():
        if dict(labels)["mountpoint"] == "/":
            root = {"device": dict(labels)["device"], "fstype": dict(labels)["fstype"]}
            compare(
                "filesystem_size_bytes /",
                ours(sample, "filesystem_size_bytes", mountpoint="/", **root),
                size,
                0.0001,
            )
            compare(
                "filesystem_available_bytes /",
                ours(sample, "filesystem_available_bytes", mountpoint="/", **root),
                counter(after, "node_filesystem_avail_bytes", mountpoint="/", **root),
                0.01,
            )

    print("\n".join(report))  # shown with -s: the figures compared
    assert not problems, "\n".join(problems)
