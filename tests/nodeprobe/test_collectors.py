"""Each collector on recorded hosts (see fixtures/README.md), including the odd ones."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from nodeprobe.collectors import ALL, Collector, Host, Options, Unavailable
from nodeprobe.model import Readings, Sample, SeriesKey, series
from nodeprobe.registry import Registry
from tests.nodeprobe.conftest import ManualClock, host_of, registry_for

Tree = Callable[[str], Path]
MiB = 1024 * 1024
PAGE = os.sysconf("SC_PAGE_SIZE")


def sample_of(name: str, tree: Path, options: Options | None = None) -> Readings:
    return ALL[name].sample(host_of(tree), options or Options())


def values_named(values: Readings | Sample, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    items = values.values.items() if isinstance(values, Sample) else values.items()
    return {labels: value for (field, labels), value in items if field == name}


def labels_of(values: Readings | Sample, name: str, label: str) -> set[str]:
    return {dict(labels)[label] for labels in values_named(values, name)}


def edit_line(path: Path, starts: str, fields: dict[int, int | str]) -> None:
    """Set whitespace-separated fields (0 = the first) of the line starting with ``starts``."""
    lines = path.read_text().splitlines()
    for index, line in enumerate(lines):
        if line.strip().startswith(starts):
            parts = line.split()
            for position, value in fields.items():
                parts[position] = str(value)
            lines[index] = " ".join(parts)
            break
    else:
        raise AssertionError(f"no line starting with {starts!r} in {path}")
    path.write_text("\n".join(lines) + "\n")


def net_dev(tree: Path, interface: str, *, rx_bytes: int, tx_bytes: int) -> None:
    edit_line(tree / "proc/net/dev", f"{interface}:", {1: rx_bytes, 9: tx_bytes})


def diskstats(tree: Path, device: str, **fields: int) -> None:
    positions = {"reads": 3, "sectors_read": 5, "writes": 7, "sectors_written": 9, "io_ms": 12}
    lines = (tree / "proc/diskstats").read_text().splitlines()
    for index, line in enumerate(lines):
        parts = line.split()
        if parts[2] == device:
            for name, value in fields.items():
                parts[positions[name]] = str(value)
            lines[index] = " ".join(parts)
    (tree / "proc/diskstats").write_text("\n".join(lines) + "\n")


def cpu_ticks(tree: Path, cpu: str, **modes: int) -> None:
    order = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
    edit_line(tree / "proc/stat", f"cpu{cpu} ", {order.index(m) + 1: v for m, v in modes.items()})


# --- cpu ----------------------------------------------------------------------------------


def test_cpu_time_per_cpu_and_mode_in_seconds_with_count_and_load(tree: Tree) -> None:
    readings = sample_of("cpu", tree("node"))
    assert readings[series("cpu_seconds_total", cpu="0", mode="user")] == pytest.approx(1302.06)
    assert readings[series("cpu_seconds_total", cpu="1", mode="idle")] == pytest.approx(4942.77)
    assert readings[series("cpu_seconds_total", cpu="1", mode="steal")] == pytest.approx(0.95)
    assert readings[series("cpu_count")] == 2
    assert (readings[series("load1")], readings[series("load5")], readings[series("load15")]) == (
        3.96,
        3.14,
        2.01,
    )


def test_cpu_percentages_follow_the_ticks_spent_over_the_interval(tree: Tree) -> None:
    host, clock = tree("node"), ManualClock()
    registry = registry_for(host, clock, ("cpu",))
    first = registry.collect()
    assert not values_named(first, "cpu_usage_percent"), "no percentages without a previous sample"
    # 10 s later: cpu0 spent 3 s user, 1 s system, 5 s idle, 1 s iowait; cpu1 was idle.
    cpu_ticks(host, "0", user=130206 + 300, system=29605 + 100, idle=518178 + 500, iowait=337 + 100)
    cpu_ticks(host, "1", idle=494277 + 1000)
    clock.advance(10.0)
    second = registry.collect()
    core0 = {
        dict(k)["mode"]: v
        for k, v in values_named(second, "cpu_core_usage_percent").items()
        if dict(k)["cpu"] == "0"
    }
    assert core0 == pytest.approx(
        {
            "user": 30,
            "system": 10,
            "idle": 50,
            "iowait": 10,
            "nice": 0,
            "irq": 0,
            "softirq": 0,
            "steal": 0,
        }
    )
    total = {dict(k)["mode"]: v for k, v in values_named(second, "cpu_usage_percent").items()}
    assert total["user"] == pytest.approx(15.0)
    assert total["idle"] == pytest.approx(75.0)
    assert sum(total.values()) == pytest.approx(100.0)


def test_iowait_stepping_back_a_tick_is_no_negative_percentage(tree: Tree) -> None:
    host, clock = tree("node"), ManualClock()
    registry = registry_for(host, clock, ("cpu",))
    registry.collect()
    cpu_ticks(host, "0", user=130206 + 100, idle=518178 + 100, iowait=337 - 1)
    clock.advance(2.0)
    core0 = {
        dict(k)["mode"]: v
        for k, v in values_named(registry.collect(), "cpu_core_usage_percent").items()
        if dict(k)["cpu"] == "0"
    }
    assert core0["iowait"] == 0.0
    assert min(core0.values()) >= 0.0
    assert sum(core0.values()) == pytest.approx(100.0)


def test_an_offline_cpu_leaves_the_others_their_kernel_numbers(tree: Tree) -> None:
    readings = sample_of("cpu", tree("bare"))
    assert labels_of(readings, "cpu_seconds_total", "cpu") == {"0", "2", "3"}
    assert readings[series("cpu_count")] == 3


# --- memory and pressure -------------------------------------------------------------------


def test_memory_and_swap_as_free_shows_them(tree: Tree) -> None:
    readings = sample_of("memory", tree("node"))
    kib = 1024.0
    assert readings[series("memory_total_bytes")] == 24684092 * kib
    assert readings[series("memory_available_bytes")] == 22878960 * kib
    assert readings[series("memory_used_bytes")] == (24684092 - 22878960) * kib
    assert readings[series("memory_cached_bytes")] == (3223008 + 624104) * kib
    assert readings[series("memory_buffers_bytes")] == 29184 * kib
    assert readings[series("memory_used_percent")] == pytest.approx(7.313, abs=0.001)
    assert readings[series("swap_total_bytes")] == 2097148 * kib
    assert readings[series("swap_used_bytes")] == (2097148 - 1572860) * kib


def test_a_node_without_swap_reports_zero_swap(tree: Tree) -> None:
    readings = sample_of("memory", tree("bare"))
    assert readings[series("swap_total_bytes")] == 0.0
    assert readings[series("swap_used_bytes")] == 0.0
    assert readings[series("memory_total_bytes")] == 4028084 * 1024.0


def test_pressure_averages_and_stall_totals_per_resource(tree: Tree) -> None:
    readings = sample_of("pressure", tree("node"))
    assert readings[series("pressure_percent", resource="cpu", scope="some", window="10s")] == 85.57
    assert readings[series("pressure_percent", resource="io", scope="full", window="300s")] == 0.10
    assert readings[
        series("pressure_stalled_seconds_total", resource="io", scope="some")
    ] == pytest.approx(30.412934)
    assert len(values_named(readings, "pressure_percent")) == 18


def test_an_older_kernel_without_cpu_full_pressure_still_reports_the_rest(tree: Tree) -> None:
    host = tree("node")
    (host / "proc/pressure/cpu").write_text("some avg10=1.00 avg60=2.00 avg300=3.00 total=12345\n")
    readings = sample_of("pressure", host)
    assert series("pressure_percent", resource="cpu", scope="some", window="60s") in readings
    assert series("pressure_percent", resource="cpu", scope="full", window="60s") not in readings
    assert series("pressure_percent", resource="io", scope="full", window="60s") in readings


def test_a_kernel_without_psi_disables_pressure_and_says_why_while_the_rest_runs(
    tree: Tree,
) -> None:
    host, clock = tree("bare"), ManualClock()
    registry = registry_for(host, clock)
    sample = registry.collect()
    disabled = {d.collector: d for d in registry.disabled}
    assert disabled["pressure"].state == "unavailable"
    assert "pressure" in disabled["pressure"].reason and "PSI" in disabled["pressure"].reason
    assert disabled["sensors"].state == "unavailable"
    assert set(disabled) == {"pressure", "sensors"}
    assert sample.values[series("memory_total_bytes")] > 0
    assert values_named(sample, "cpu_seconds_total")


# --- disk ---------------------------------------------------------------------------------


def test_space_is_reported_per_real_filesystem_once(tree: Tree) -> None:
    readings = sample_of("disk", tree("node"))
    mounts = {
        dict(labels)["mountpoint"]: dict(labels)
        for labels in values_named(readings, "filesystem_size_bytes")
    }
    # overlay, tmpfs (kubelet volumes, /dev/shm), cgroup, proc, sysfs, devpts: skipped;
    # /dev/vda bind-mounted at /var/lib/kubelet: counted once, as "/".
    assert set(mounts) == {"/", "/srv/my data", "/mnt/nfs"}
    assert mounts["/"]["device"] == "/dev/vda"
    assert mounts["/mnt/nfs"]["fstype"] == "nfs4"
    readonly = values_named(readings, "filesystem_readonly")
    assert {dict(k)["mountpoint"]: v for k, v in readonly.items()} == {
        "/": 0.0,
        "/srv/my data": 1.0,
        "/mnt/nfs": 0.0,
    }
    for labels, size in values_named(readings, "filesystem_size_bytes").items():
        available = readings[("filesystem_available_bytes", labels)]
        used = readings[("filesystem_used_bytes", labels)]
        assert size > 0 and 0 <= available <= size and 0 <= used <= size
        assert 0 <= readings[("filesystem_used_percent", labels)] <= 100


def test_mount_patterns_are_configurable_and_invisible_mounts_are_skipped(tree: Tree) -> None:
    host = tree("node")
    volume = "/var/lib/kubelet/pods/0b1c/volumes/kubernetes.io~projected/kube-api-access-x2"
    (host / "root" / volume.lstrip("/")).mkdir(parents=True)
    options = Options(
        skip_fstypes=re.compile(r"^(proc|sysfs|cgroup2?|devpts|devtmpfs|overlay|nfs4)$"),
        skip_mountpoints=re.compile(r"^/(srv|dev|sys|run)($|/)"),
    )
    mounts = labels_of(sample_of("disk", host, options), "filesystem_size_bytes", "mountpoint")
    # tmpfs is now wanted; /mnt/sandboxing/… is in the table but not under the rootfs.
    assert mounts == {"/", volume}


def test_block_devices_skip_partitions_and_loop_devices(tree: Tree) -> None:
    node = sample_of("disk", tree("node"))
    assert labels_of(node, "disk_read_bytes_total", "device") == {"vda", "zram0"}
    assert node[series("disk_read_bytes_total", device="vda")] == 10410250 * 512.0
    assert node[series("disk_written_bytes_total", device="vda")] == 60886192 * 512.0
    assert node[series("disk_reads_completed_total", device="vda")] == 267172
    assert node[series("disk_io_time_seconds_total", device="vda")] == 64.8
    bare = sample_of("disk", tree("bare"))
    assert labels_of(bare, "disk_read_bytes_total", "device") == {"sda", "nvme0n1"}


def test_disk_rates_iops_and_utilisation_over_an_interval(tree: Tree) -> None:
    host, clock = tree("node"), ManualClock()
    registry = registry_for(host, clock, ("disk",))
    registry.collect()
    # 10 s: 20 MiB read in 200 reads, 40 MiB written in 100 writes, busy 2.5 s.
    diskstats(
        host,
        "vda",
        reads=267172 + 200,
        sectors_read=10410250 + 20 * MiB // 512,
        writes=612021 + 100,
        sectors_written=60886192 + 40 * MiB // 512,
        io_ms=64800 + 2500,
    )
    clock.advance(10.0)
    sample = registry.collect()
    vda = (("device", "vda"),)
    assert sample.values[("disk_read_bytes_per_second", vda)] == pytest.approx(2 * MiB)
    assert sample.values[("disk_write_bytes_per_second", vda)] == pytest.approx(4 * MiB)
    assert sample.values[("disk_reads_per_second", vda)] == pytest.approx(20.0)
    assert sample.values[("disk_writes_per_second", vda)] == pytest.approx(10.0)
    assert sample.values[("disk_utilization_percent", vda)] == pytest.approx(25.0)


def test_a_disk_reset_gives_no_rate_then_rates_resume(tree: Tree) -> None:
    host, clock = tree("node"), ManualClock()
    registry = registry_for(host, clock, ("disk",))
    registry.collect()
    # The device was replaced (or the host rebooted under the probe): counters restart.
    diskstats(host, "vda", reads=10, sectors_read=2048, writes=5, sectors_written=1024, io_ms=30)
    clock.advance(15.0)
    after_reset = registry.collect()
    vda = (("device", "vda"),)
    assert ("disk_read_bytes_per_second", vda) not in after_reset.values
    assert ("disk_utilization_percent", vda) not in after_reset.values
    assert all(value >= 0 for value in after_reset.values.values())
    diskstats(
        host,
        "vda",
        reads=10,
        sectors_read=2048 + 30_000,
        writes=5,
        sectors_written=1024,
        io_ms=1530,
    )
    clock.advance(15.0)
    resumed = registry.collect()
    assert resumed.values[("disk_read_bytes_per_second", vda)] == pytest.approx(30_000 * 512 / 15)
    assert resumed.values[("disk_utilization_percent", vda)] == pytest.approx(10.0)


def test_the_32_bit_io_time_wrapping_keeps_utilisation_right(tree: Tree) -> None:
    host, clock = tree("node"), ManualClock()
    registry = registry_for(host, clock, ("disk",))
    diskstats(host, "vda", io_ms=2**32 - 1000)
    registry.collect()
    diskstats(host, "vda", io_ms=3000)  # 4 s busy across the wrap
    clock.advance(10.0)
    assert registry.collect().values[("disk_utilization_percent", (("device", "vda"),))] == (
        pytest.approx(40.0)
    )


# --- network ------------------------------------------------------------------------------


def test_interfaces_skip_container_plumbing_by_default_and_by_pattern(tree: Tree) -> None:
    host = tree("node")
    default = sample_of("network", host)
    assert labels_of(default, "network_receive_bytes_total", "interface") == {"lo", "eth0"}
    assert default[series("network_receive_bytes_total", interface="eth0")] == 2223478695
    assert default[series("network_transmit_packets_total", interface="eth0")] == 50263
    assert default[series("network_receive_drops_total", interface="eth0")] == 0
    only_lo = Options(skip_interfaces=re.compile(r"^(?!lo$)"))
    assert labels_of(
        sample_of("network", host, only_lo), "network_receive_bytes_total", "interface"
    ) == {"lo"}
    everything = Options(skip_interfaces=re.compile(r"^$"))
    assert "vethd2b3c1f" in labels_of(
        sample_of("network", host, everything), "network_receive_bytes_total", "interface"
    )


def test_network_rates_and_a_counter_reset_without_a_spike(tree: Tree) -> None:
    host, clock = tree("node"), ManualClock()
    registry = registry_for(host, clock, ("network",))
    registry.collect()
    net_dev(host, "eth0", rx_bytes=2223478695 + 1_500_000, tx_bytes=5031325 + 300_000)
    clock.advance(15.0)
    sample = registry.collect()
    eth0 = (("interface", "eth0"),)
    assert sample.values[("network_receive_bytes_per_second", eth0)] == pytest.approx(100_000)
    assert sample.values[("network_transmit_bytes_per_second", eth0)] == pytest.approx(20_000)
    # The driver reset its statistics: no rate this time, and nothing negative or huge.
    net_dev(host, "eth0", rx_bytes=4_000, tx_bytes=1_000)
    clock.advance(15.0)
    reset = registry.collect()
    assert ("network_receive_bytes_per_second", eth0) not in reset.values
    assert ("network_transmit_bytes_per_second", eth0) not in reset.values
    assert reset.values[("network_receive_bytes_per_second", (("interface", "lo"),))] == 0.0
    net_dev(host, "eth0", rx_bytes=4_000 + 30_000, tx_bytes=1_000)
    clock.advance(15.0)
    assert registry.collect().values[("network_receive_bytes_per_second", eth0)] == 2_000.0


# --- sensors, system, processes -------------------------------------------------------------


def test_temperatures_from_hwmon_with_chip_and_label(tree: Tree) -> None:
    readings = sample_of("sensors", tree("node"))
    temperatures = {
        (dict(k)["chip"], dict(k)["sensor"]): v
        for k, v in values_named(readings, "temperature_celsius").items()
    }
    # coretemp's temp3_input could not be read; the fan-only chip has no temperature.
    assert temperatures == {
        ("coretemp", "Package id 0"): 45.0,
        ("coretemp", "Core 0"): 43.0,
        ("nvme", "Composite"): 38.85,
    }


def test_thermal_zones_when_there_is_no_hwmon(tree: Tree) -> None:
    host = tree("node")
    shutil.rmtree(host / "sys/class/hwmon")
    readings = sample_of("sensors", host)
    assert values_named(readings, "temperature_celsius") == {
        (("chip", "x86_pkg_temp"), ("sensor", "thermal_zone0")): 47.0
    }


def test_no_sensor_at_all_is_unavailable(tree: Tree) -> None:
    with pytest.raises(Unavailable, match="no temperature sensor"):
        sample_of("sensors", tree("bare"))


def test_uptime_processes_and_file_descriptors(tree: Tree) -> None:
    readings = sample_of("system", tree("node"))
    assert readings == {
        series("uptime_seconds"): 6835.97,
        series("processes"): 4.0,
        series("file_descriptors_allocated"): 918.0,
        series("file_descriptors_maximum"): 2466177.0,
    }


def test_top_processes_by_memory_at_once_and_by_cpu_after_an_interval(tree: Tree) -> None:
    host, clock = tree("node"), ManualClock()
    registry = registry_for(host, clock, ("processes",), Options(top_processes=2))
    first = registry.collect()
    assert values_named(first, "top_process_resident_memory_bytes") == {
        (("name", "kube-apiserver"), ("pid", "18241")): 221004.0 * PAGE,
        (("name", "etcd"), ("pid", "18240")): 26726.0 * PAGE,
    }
    assert not values_named(first, "top_process_cpu_percent")
    assert not values_named(first, "process_cpu_seconds_total"), "per-process raw data is internal"
    # etcd used 5 s of CPU in 10 s, the shell 1 s, the API server nothing.
    edit_line(host / "proc/18240/stat", "18240 ", {13: 382 + 400, 14: 304 + 100})
    edit_line(host / "proc/30470/stat", "30470 ", {13: 3 + 100})
    clock.advance(10.0)
    assert values_named(registry.collect(), "top_process_cpu_percent") == {
        (("name", "etcd"), ("pid", "18240")): pytest.approx(50.0),
        (("name", "bash"), ("pid", "30470")): pytest.approx(10.0),
    }


def test_a_reused_pid_does_not_inherit_the_old_process_cpu_time(tree: Tree) -> None:
    host, clock = tree("node"), ManualClock()
    registry = registry_for(host, clock, ("processes",), Options(top_processes=5))
    registry.collect()
    # pid 18240 is now a new process (another start time) with less CPU time so far.
    edit_line(host / "proc/18240/stat", "18240 ", {1: "(worker)", 13: 10, 14: 0, 21: 999999})
    clock.advance(10.0)
    busy = values_named(registry.collect(), "top_process_cpu_percent")
    assert all(dict(labels)["pid"] != "18240" for labels in busy)


# --- the registry ----------------------------------------------------------------------------


def test_psutil_reads_the_host_root_only_while_collecting(tree: Tree) -> None:
    registry_for(tree("node"), ManualClock()).collect()
    assert psutil.PROCFS_PATH == "/proc", "other psutil users in the process are not redirected"
    assert psutil.Process(os.getpid()).pid == os.getpid()


def test_a_collector_that_raises_is_disabled_and_reported_the_others_keep_going(
    tree: Tree,
) -> None:
    calls = 0

    def broken(host: Host, options: Options) -> Readings:
        nonlocal calls
        calls += 1
        raise PermissionError(13, "Permission denied", "/proc/secret")

    host, clock = tree("node"), ManualClock()
    registry = Registry(
        [ALL["memory"], Collector("broken", (), broken), ALL["system"]],
        host_of(host),
        Options(),
        clock=clock,
    )
    for _ in range(3):
        sample = registry.collect()
        clock.advance(1.0)
    assert calls == 1, "a failed collector is not run again"
    [disabled] = registry.disabled
    assert (disabled.collector, disabled.state) == ("broken", "failed")
    assert "PermissionError" in disabled.reason and "/proc/secret" in disabled.reason
    assert sample.values[series("memory_total_bytes")] > 0
    assert sample.values[series("processes")] == 4.0


def test_every_field_is_named_once_and_every_published_value_has_a_field(tree: Tree) -> None:
    host, clock = tree("node"), ManualClock()
    registry = registry_for(host, clock, tuple(ALL), Options(top_processes=3))
    registry.collect()
    clock.advance(5.0)
    sample = registry.collect()
    fields = {field.name: field for field in registry.fields}
    assert len(fields) == len(registry.fields)
    for (name, labels), _value in sample.values.items():
        assert name in fields, name
        assert sorted(key for key, _ in labels) == sorted(fields[name].labels), name
    keys: set[SeriesKey] = set(sample.values)
    assert len(keys) == len(sample.values)
