"""What every collector shares: where the host's files are, the options, the contract.

A collector is a module with a field table (``FIELDS``), a ``sample()`` function that
reads the host and returns plain readings, and optionally a ``derive()`` function that
turns the previous and current readings into derived gauges (by default: the rates the
field table asks for). The module exposes both as one ``COLLECTOR`` value; the registry
composes them. A collector that cannot work on this host raises `Unavailable`; any
other exception disables it as failed.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import psutil

from nodeprobe.model import Field, Readings

# Container plumbing that would drown the node's own interfaces: veth pairs, CNI
# bridges and tunnels of the common network plugins, docker and libvirt bridges.
DEFAULT_SKIP_INTERFACES = (
    r"^(veth|cni|flannel|cali|docker|br-|cbr|virbr|vxlan|tunl|weave|vethwe|datapath|"
    r"kube-bridge|kube-ipvs|cilium|lxc|genev|nodelocaldns|antrea|ovs-system|tap|ifb)"
)
# Pseudo, in-memory and layered filesystems: no disk space of the node behind them.
DEFAULT_SKIP_FSTYPES = (
    r"^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|efivarfs|fusectl|"
    r"hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|ramfs|rpc_pipefs|securityfs|"
    r"selinuxfs|squashfs|sysfs|tmpfs|tracefs|fuse\.lxcfs|shm)$"
)
# Kernel and runtime mount points, and the per-pod volumes kubelet mounts by the hundred.
DEFAULT_SKIP_MOUNTPOINTS = (
    r"^/(dev|proc|sys|run/credentials/.+|run/containerd/.+|run/k3s/.+|run/netns/.+|"
    r"var/lib/docker/.+|var/lib/containers/storage/.+|var/lib/kubelet/pods/.+|"
    r"var/lib/kubelet/plugins/.+|var/lib/rancher/.+/agent/containerd/.+)($|/)"
)
# node_exporter's default: partitions (their disk is counted), loop and ram devices.
DEFAULT_SKIP_DEVICES = r"^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$"


class Unavailable(Exception):
    """The host lacks what a collector reads (e.g. no PSI in this kernel); not an error."""


@dataclass(frozen=True, slots=True)
class Host:
    """Where the host's /proc, /sys and root filesystem are mounted.

    On a node these are ``/proc``, ``/sys`` and ``/``; in a container they are the
    host's, mounted read-only (``/host/proc`` …), the way node_exporter's
    ``--path.procfs``, ``--path.sysfs`` and ``--path.rootfs`` work.
    """

    procfs: str = "/proc"
    sysfs: str = "/sys"
    rootfs: str = "/"

    def proc(self, *parts: str) -> str:
        return os.path.join(self.procfs, *parts)

    def sys(self, *parts: str) -> str:
        return os.path.join(self.sysfs, *parts)

    def root(self, host_path: str) -> str:
        """A path of the host (as its mount table names it) seen from here."""
        if self.rootfs in ("", "/"):
            return host_path
        return os.path.join(self.rootfs, host_path.lstrip("/"))


@dataclass(frozen=True, slots=True)
class Options:
    """What the collectors may be told (all from the probe's configuration)."""

    top_processes: int = 0
    skip_interfaces: re.Pattern[str] = re.compile(DEFAULT_SKIP_INTERFACES)
    skip_fstypes: re.Pattern[str] = re.compile(DEFAULT_SKIP_FSTYPES)
    skip_mountpoints: re.Pattern[str] = re.compile(DEFAULT_SKIP_MOUNTPOINTS)
    skip_devices: re.Pattern[str] = re.compile(DEFAULT_SKIP_DEVICES)


SampleFunction = Callable[[Host, Options], Readings]
DeriveFunction = Callable[[Readings | None, Readings, float | None, Options], Readings]


@dataclass(frozen=True, slots=True)
class Collector:
    """One subsystem: its field table, how to sample it and (optionally) derive from it."""

    name: str
    fields: tuple[Field, ...]
    sample: SampleFunction
    derive: DeriveFunction | None = None


@contextlib.contextmanager
def psutil_reading(host: Host) -> Iterator[None]:
    """Point psutil at the host's procfs for the duration of the block.

    ``psutil.PROCFS_PATH`` is a module global: it is set only while a collector calls
    psutil and put back afterwards, so nothing else in the process (a test, a benchmark
    measuring processes) reads another root by surprise.
    """
    previous = psutil.PROCFS_PATH
    psutil.PROCFS_PATH = host.procfs
    try:
        yield
    finally:
        psutil.PROCFS_PATH = previous


def read_text(path: str) -> str:
    """The whole file, decoded as UTF-8 (bad bytes replaced).

    Plain ``os.read`` calls: a collection opens a dozen small kernel files, and Python's
    buffered text files cost several times more per file than the read itself.
    """
    descriptor = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        chunks = []
        while chunk := os.read(descriptor, 65536):
            chunks.append(chunk)
    finally:
        os.close(descriptor)
    return b"".join(chunks).decode("utf-8", "replace")


def read_first_line(path: str) -> str:
    return read_text(path).partition("\n")[0].strip()
