"""One small module per subsystem, each with its field table and a pure sample function.

| module | reads |
|---|---|
| `cpu` | ``<procfs>/stat``, ``<procfs>/loadavg`` |
| `memory` | ``<procfs>/meminfo`` (psutil) |
| `pressure` | ``<procfs>/pressure/{cpu,memory,io}`` |
| `disk` | ``<procfs>/1/mounts`` + statvfs under the rootfs, ``<procfs>/diskstats`` |
| `network` | ``<procfs>/net/dev`` (psutil) |
| `sensors` | ``<sysfs>/class/hwmon``, ``<sysfs>/class/thermal`` |
| `system` | ``<procfs>/uptime``, ``<procfs>/sys/fs/file-nr``, the pids (psutil) |
| `processes` | ``<procfs>/<pid>/stat`` of every process (only when asked for) |

`nodeprobe.registry` composes them; `common` holds the contract they share.
"""

from __future__ import annotations

from nodeprobe.collectors import cpu, disk, memory, network, pressure, processes, sensors, system
from nodeprobe.collectors.common import Collector, Host, Options, Unavailable

ALL: dict[str, Collector] = {
    module.COLLECTOR.name: module.COLLECTOR
    for module in (cpu, memory, pressure, disk, network, sensors, system, processes)
}
# Everything but the per-process ranking, which costs one file read per process and
# is enabled by asking for a number of top processes.
DEFAULT_NAMES: tuple[str, ...] = tuple(name for name in ALL if name != "processes")

__all__ = ["ALL", "DEFAULT_NAMES", "Collector", "Host", "Options", "Unavailable"]
