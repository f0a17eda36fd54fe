"""The probe on this machine's own /proc and /sys, checked against independent sources."""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time

import pytest

from nodeprobe.collectors import ALL, DEFAULT_NAMES, Host, Options
from nodeprobe.model import Sample
from nodeprobe.registry import Registry

MiB = 1024 * 1024


def values_named(sample: Sample, name: str) -> dict[str, float]:
    """Values of one field, keyed by their labels' values joined with '/'."""
    return {
        "/".join(value for _, value in labels): number
        for (field, labels), number in sample.values.items()
        if field == name
    }


def block_device_of(path: str) -> str | None:
    """The whole block device (as diskstats names it) holding ``path``, if it is on one."""
    device = os.stat(path).st_dev
    sys_path = f"/sys/dev/block/{os.major(device)}:{os.minor(device)}"
    if not os.path.exists(sys_path):
        return None  # tmpfs, overlay …
    sys_path = os.path.realpath(sys_path)
    if os.path.exists(os.path.join(sys_path, "partition")):
        sys_path = os.path.dirname(sys_path)
    return os.path.basename(sys_path)


def test_every_collector_runs_or_says_why_not() -> None:
    registry = Registry(
        [ALL[name] for name in (*DEFAULT_NAMES, "processes")], Host(), Options(top_processes=3)
    )
    registry.collect()
    sample = registry.collect()
    assert all(d.state == "unavailable" and d.reason for d in registry.disabled), registry.disabled
    assert {d.collector for d in registry.disabled} <= {"pressure", "sensors"}
    produced = {name for name, _ in sample.values}
    for collector in registry.names:
        if collector in {d.collector for d in registry.disabled}:
            continue
        fields = {field.name for field in ALL[collector].fields if field.publish}
        assert produced & fields, f"{collector} produced nothing"


def test_live_figures_match_what_the_kernel_says_elsewhere() -> None:
    sample = Registry([ALL[name] for name in DEFAULT_NAMES], Host(), Options()).collect()
    page, pages = os.sysconf("SC_PAGE_SIZE"), os.sysconf("SC_PHYS_PAGES")
    assert sample.values[("memory_total_bytes", ())] == page * pages
    assert sample.values[("cpu_count", ())] == os.sysconf("SC_NPROCESSORS_ONLN")
    assert sample.values[("load1", ())] == pytest.approx(os.getloadavg()[0], abs=1.0)
    assert sample.values[("uptime_seconds", ())] == pytest.approx(
        time.clock_gettime(time.CLOCK_BOOTTIME), abs=2.0
    )
    processes = sum(1 for entry in os.listdir("/proc") if entry.isdigit())
    assert sample.values[("processes", ())] == pytest.approx(processes, abs=20)
    root = os.statvfs("/")
    sizes = values_named(sample, "filesystem_size_bytes")
    [root_size] = [size for labels, size in sizes.items() if labels.endswith("/")]
    assert root_size == root.f_blocks * root.f_frsize
    assert "lo" in values_named(sample, "network_receive_bytes_total")


def test_live_rates_see_the_disk_network_and_cpu_work_done_between_collections(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    workdir = str(tmp_path_factory.mktemp("live-load", numbered=True))
    device = block_device_of(workdir)
    if device is None:  # the temporary directory is in memory: write beside the tests
        workdir = os.path.dirname(__file__)
        device = block_device_of(workdir)
    assert device is not None, "no directory on a block device to write to"
    registry = Registry([ALL[name] for name in ("cpu", "disk", "network")], Host(), Options())
    before = registry.collect()

    # 32 MiB through loopback, 16 MiB written and flushed to disk, 0.3 s of busy CPU.
    payload = b"x" * MiB
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]

        def drain() -> None:
            connection, _ = server.accept()
            with connection:
                while connection.recv(1 << 20):
                    pass

        reader = threading.Thread(target=drain)
        reader.start()
        with socket.create_connection(("127.0.0.1", port)) as sender:
            for _ in range(32):
                sender.sendall(payload)
        reader.join()
    with tempfile.NamedTemporaryFile(dir=workdir) as file:
        for _ in range(16):
            file.write(payload)
        file.flush()
        os.fsync(file.fileno())
    deadline = time.process_time() + 0.3
    while time.process_time() < deadline:
        pass

    sample = registry.collect()
    elapsed = sample.elapsed_seconds
    assert elapsed is not None and elapsed > 0

    def increase(name: str, labels: str) -> float:
        return values_named(sample, name)[labels] - values_named(before, name)[labels]

    # The rates are the counters' increase over the interval (each collector times its
    # own reads, so the sample's elapsed time is a close, not an exact, divisor).
    lo_in = increase("network_receive_bytes_total", "lo")
    assert lo_in >= 32 * MiB
    assert increase("network_transmit_bytes_total", "lo") == lo_in
    assert values_named(sample, "network_receive_bytes_per_second")["lo"] == pytest.approx(
        lo_in / elapsed, rel=0.02
    )
    written = increase("disk_written_bytes_total", device)
    assert written >= 16 * MiB
    assert values_named(sample, "disk_write_bytes_per_second")[device] == pytest.approx(
        written / elapsed, rel=0.02
    )
    assert 0 < values_named(sample, "disk_utilization_percent")[device] <= 100
    usage = values_named(sample, "cpu_usage_percent")
    assert sum(usage.values()) == pytest.approx(100.0)
    assert usage["user"] + usage["system"] > 0
    assert all(0 <= value <= 100 for value in usage.values())
