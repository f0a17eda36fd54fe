"""Memory and swap, from ``<procfs>/meminfo``.

RAM comes through psutil's ``virtual_memory()`` (which honours the procfs root), so the
figures follow free(1): *available* is the kernel's MemAvailable estimate (psutil
estimates it on kernels older than 3.14), *used* is total minus available, *cached* is
the page cache plus reclaimable slab. Swap is read from the same file directly:
psutil's ``swap_memory()`` also parses all of ``/proc/vmstat`` for swap-in/out counts
not reported here, which costs more than the rest of this collector.
"""

from __future__ import annotations

import psutil

from nodeprobe.collectors.common import Collector, Host, Options, psutil_reading, read_text
from nodeprobe.model import Field, Readings

FIELDS = (
    Field("memory_total_bytes", "gauge", "bytes", "Usable RAM (MemTotal)."),
    Field(
        "memory_available_bytes",
        "gauge",
        "bytes",
        "Memory available for new work without swapping (MemAvailable).",
    ),
    Field("memory_used_bytes", "gauge", "bytes", "Memory in use: total minus available."),
    Field("memory_used_percent", "gauge", "percent", "Used memory as a share of the total."),
    Field("memory_free_bytes", "gauge", "bytes", "Memory not used for anything (MemFree)."),
    Field(
        "memory_cached_bytes",
        "gauge",
        "bytes",
        "Page cache plus reclaimable slab (Cached + SReclaimable), as free(1) shows it.",
    ),
    Field("memory_buffers_bytes", "gauge", "bytes", "Block device buffers (Buffers)."),
    Field("swap_total_bytes", "gauge", "bytes", "Swap space; 0 when the node has none."),
    Field("swap_used_bytes", "gauge", "bytes", "Swap space in use."),
)


def sample(host: Host, options: Options) -> Readings:
    with psutil_reading(host):
        memory = psutil.virtual_memory()
    swap_total = swap_free = 0.0
    for line in read_text(host.proc("meminfo")).splitlines():
        if line.startswith("Swap"):
            name, value = line.split()[:2]
            if name == "SwapTotal:":
                swap_total = int(value) * 1024.0
            elif name == "SwapFree:":
                swap_free = int(value) * 1024.0
    used = memory.total - memory.available
    return {
        ("memory_total_bytes", ()): float(memory.total),
        ("memory_available_bytes", ()): float(memory.available),
        ("memory_used_bytes", ()): float(used),
        ("memory_used_percent", ()): 100.0 * used / memory.total if memory.total else 0.0,
        ("memory_free_bytes", ()): float(memory.free),
        ("memory_cached_bytes", ()): float(memory.cached),
        ("memory_buffers_bytes", ()): float(memory.buffers),
        ("swap_total_bytes", ()): swap_total,
        ("swap_used_bytes", ()): swap_total - swap_free,
    }


COLLECTOR = Collector("memory", FIELDS, sample)
