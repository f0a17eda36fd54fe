"""Disk: space per real mount, and traffic, IOPS and utilisation per block device.

Space: the mount table of the host's init (``<procfs>/1/mounts``, as node_exporter reads
it; ``<procfs>/self/mounts`` if that is not readable), filtered by filesystem type and
mount point patterns, then ``statvfs`` of each mount point under the configured rootfs.
Bind mounts of one block device are counted once (the shortest mount point wins, as in
df). psutil's ``disk_partitions`` reads ``/etc/mtab`` or its own mounts, not init's.

Traffic: ``<procfs>/diskstats``, read directly. (psutil's ``disk_io_counters`` reads the
same file but decides what a whole disk is from the fixed ``/sys/block``, and by default
adds its own wrap correction, which would hide resets from the rate helper.) Sectors in
diskstats are always 512 bytes. The I/O time is printed by the kernel as a 32-bit number
of milliseconds, so it wraps after 49.7 days of busy time; its field says so.

A ``statvfs`` of a network filesystem whose server is gone can hang for good, so for
those types it runs in a helper thread with a deadline; a mount point whose call is
still hanging is skipped until that call returns.
"""

from __future__ import annotations

import functools
import os
import re
import threading

from nodeprobe.collectors.common import Collector, Host, Options, read_text
from nodeprobe.model import Field, Readings

_SECTOR_BYTES = 512.0
_FS_LABELS = ("device", "fstype", "mountpoint")

FIELDS = (
    Field("filesystem_size_bytes", "gauge", "bytes", "Size of the filesystem.", _FS_LABELS),
    Field(
        "filesystem_available_bytes",
        "gauge",
        "bytes",
        "Space available to unprivileged users.",
        _FS_LABELS,
    ),
    Field("filesystem_used_bytes", "gauge", "bytes", "Space in use (size minus free).", _FS_LABELS),
    Field(
        "filesystem_used_percent",
        "gauge",
        "percent",
        "Used space as a share of used plus available, as df shows it.",
        _FS_LABELS,
    ),
    Field("filesystem_files", "gauge", "inodes", "Inodes of the filesystem.", _FS_LABELS),
    Field("filesystem_files_free", "gauge", "inodes", "Free inodes.", _FS_LABELS),
    Field("filesystem_readonly", "gauge", "bool", "1 if mounted read-only.", _FS_LABELS),
    Field(
        "disk_reads_completed_total",
        "counter",
        "operations",
        "Reads completed by the device.",
        ("device",),
        max_rate=1e8,
    ),
    Field(
        "disk_writes_completed_total",
        "counter",
        "operations",
        "Writes completed by the device.",
        ("device",),
        max_rate=1e8,
    ),
    Field(
        "disk_read_bytes_total",
        "counter",
        "bytes",
        "Bytes read from the device.",
        ("device",),
        max_rate=1e11,
    ),
    Field(
        "disk_written_bytes_total",
        "counter",
        "bytes",
        "Bytes written to the device.",
        ("device",),
        max_rate=1e11,
    ),
    Field(
        "disk_io_time_seconds_total",
        "counter",
        "seconds",
        "Time the device had I/O in flight.",
        ("device",),
        wrap_at=2**32 / 1000,
        max_rate=1.5,  # a little slack for the kernel's and our clocks; capped below
    ),
    Field(
        "disk_reads_per_second",
        "gauge",
        "operations/s",
        "Read IOPS over the last interval.",
        ("device",),
        rate_of="disk_reads_completed_total",
    ),
    Field(
        "disk_writes_per_second",
        "gauge",
        "operations/s",
        "Write IOPS over the last interval.",
        ("device",),
        rate_of="disk_writes_completed_total",
    ),
    Field(
        "disk_read_bytes_per_second",
        "gauge",
        "bytes/s",
        "Bytes read per second over the last interval.",
        ("device",),
        rate_of="disk_read_bytes_total",
    ),
    Field(
        "disk_write_bytes_per_second",
        "gauge",
        "bytes/s",
        "Bytes written per second over the last interval.",
        ("device",),
        rate_of="disk_written_bytes_total",
    ),
    Field(
        "disk_utilization_percent",
        "gauge",
        "percent",
        "Share of the last interval the device had I/O in flight.",
        ("device",),
        rate_of="disk_io_time_seconds_total",
        scale=100.0,
        ceiling=100.0,
    ),
)

# Filesystems whose statvfs may wait on a server that is gone.
_REMOTE_FSTYPES = re.compile(
    r"^(nfs4?|cifs|smb3?|smbfs|ceph|glusterfs|lustre|gpfs|9p|afs|beegfs|fuse(\..+)?)$"
)
STATVFS_TIMEOUT_SECONDS = 2.0
_stuck_mounts: set[str] = set()
_stuck_lock = threading.Lock()
_ESCAPE = re.compile(r"\\([0-7]{3})")


def _unescape(field: str) -> str:
    """Mount tables write spaces, tabs and backslashes as octal escapes (``\\040``)."""
    if "\\" not in field:
        return field
    return _ESCAPE.sub(lambda match: chr(int(match.group(1), 8)), field)


def _mount_table(host: Host) -> str:
    try:
        return read_text(host.proc("1", "mounts"))
    except PermissionError:
        return read_text(host.proc("self", "mounts"))


Mount = tuple[str, str, str, bool]  # device, mount point, fstype, read-only


def real_mounts(host: Host, options: Options) -> tuple[Mount, ...]:
    """The host's mounts worth reporting: (device, mount point, fstype, read-only)."""
    return _choose_mounts(_mount_table(host), options.skip_fstypes, options.skip_mountpoints)


# A node with many pods has hundreds of mounts that rarely change between collections:
# parse the table again only when its text changed.
@functools.lru_cache(maxsize=1)
def _choose_mounts(
    table: str, skip_fstypes: re.Pattern[str], skip_mountpoints: re.Pattern[str]
) -> tuple[Mount, ...]:
    chosen: dict[str, Mount] = {}
    for line in table.splitlines():
        parts = line.split()
        if len(parts) < 4:
            continue
        device, mountpoint = _unescape(parts[0]), _unescape(parts[1])
        fstype, mount_options = parts[2], parts[3]
        if skip_fstypes.search(fstype) or skip_mountpoints.search(mountpoint):
            continue
        readonly = "ro" in mount_options.split(",")
        # One block device mounted (or bind-mounted) several times is one filesystem.
        # Names like "tmpfs" or "nfs-server:/export" are not unique devices.
        identity = device if device.startswith("/dev/") else f"{device}\0{mountpoint}"
        known = chosen.get(identity)
        if known is None or len(mountpoint) < len(known[1]):
            chosen[identity] = (device, mountpoint, fstype, readonly)
    return tuple(chosen.values())


def _statvfs(path: str, fstype: str) -> os.statvfs_result:
    if not _REMOTE_FSTYPES.match(fstype):
        return os.statvfs(path)
    with _stuck_lock:
        if path in _stuck_mounts:
            raise TimeoutError(f"an earlier statvfs({path!r}) has not returned yet")
        _stuck_mounts.add(path)
    outcome: list[os.statvfs_result | OSError] = []

    def call() -> None:
        try:
            outcome.append(os.statvfs(path))
        except OSError as error:
            outcome.append(error)
        finally:
            with _stuck_lock:
                _stuck_mounts.discard(path)

    helper = threading.Thread(target=call, name=f"statvfs {path}", daemon=True)
    helper.start()
    helper.join(STATVFS_TIMEOUT_SECONDS)
    if not outcome:
        raise TimeoutError(f"statvfs({path!r}) took longer than {STATVFS_TIMEOUT_SECONDS} s")
    result = outcome[0]
    if isinstance(result, OSError):
        raise result
    return result


def _filesystems(host: Host, options: Options, readings: Readings) -> None:
    for device, mountpoint, fstype, readonly in real_mounts(host, options):
        try:
            stats = _statvfs(host.root(mountpoint), fstype)
        except OSError:
            continue  # not visible from here, no permission, or hanging: not this time
        if stats.f_blocks == 0:
            continue  # nothing to measure (pseudo filesystems under other names)
        block = float(stats.f_frsize or stats.f_bsize)
        size = stats.f_blocks * block
        free = stats.f_bfree * block
        available = stats.f_bavail * block
        used = size - free
        labels = (("device", device), ("fstype", fstype), ("mountpoint", mountpoint))
        readings[("filesystem_size_bytes", labels)] = size
        readings[("filesystem_available_bytes", labels)] = available
        readings[("filesystem_used_bytes", labels)] = used
        readings[("filesystem_used_percent", labels)] = (
            100.0 * used / (used + available) if used + available > 0 else 0.0
        )
        readings[("filesystem_files", labels)] = float(stats.f_files)
        readings[("filesystem_files_free", labels)] = float(stats.f_ffree)
        readings[("filesystem_readonly", labels)] = 1.0 if readonly else 0.0


def _block_devices(host: Host, options: Options, readings: Readings) -> None:
    for line in read_text(host.proc("diskstats")).splitlines():
        parts = line.split()
        # 14 fields since Linux 2.6 (more since 4.18 and 5.5); partitions of 2.6.x
        # kernels had 7 and are not whole devices anyway.
        if len(parts) < 14:
            continue
        device = parts[2]
        if options.skip_devices.search(device):
            continue
        labels = (("device", device),)
        readings[("disk_reads_completed_total", labels)] = float(parts[3])
        readings[("disk_read_bytes_total", labels)] = int(parts[5]) * _SECTOR_BYTES
        readings[("disk_writes_completed_total", labels)] = float(parts[7])
        readings[("disk_written_bytes_total", labels)] = int(parts[9]) * _SECTOR_BYTES
        readings[("disk_io_time_seconds_total", labels)] = int(parts[12]) / 1000.0


def sample(host: Host, options: Options) -> Readings:
    readings: Readings = {}
    _filesystems(host, options, readings)
    _block_devices(host, options, readings)
    return readings


COLLECTOR = Collector("disk", FIELDS, sample)
