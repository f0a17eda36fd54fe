"""Nodes of one cluster: readiness, roles, capacity, schedulability."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtGui import QColor

from desktop.record_table import AMBER, GREEN, RED, Age, RecordTableModel
from headless_agent.state.records import NodeRecord, Record


def _gib(value: int) -> str:
    return f"{value / 2**30:.1f} GiB"


class NodeTableModel(RecordTableModel):
    kinds = ("Node",)
    columns = ("name", "status", "roles", "cpu", "memory", "pods", "version", "age")

    def cells(self, kind: str, record: Record) -> Sequence[Any]:
        assert isinstance(record, NodeRecord)
        status = {"True": "Ready", "False": "NotReady"}.get(record.ready_status, "Unknown")
        if record.unschedulable:
            status += ",SchedulingDisabled"
        return (
            record.name,
            status,
            ",".join(record.roles) or "<none>",
            f"{record.cpu_allocatable_milli / 1000:g}",
            _gib(record.memory_allocatable_bytes),
            record.pods_allocatable,
            record.kubelet_version,
            Age(record.created),
        )

    def colour(self, record: Record, column: int) -> QColor | None:
        if column != 1 or not isinstance(record, NodeRecord):
            return None
        if record.ready_status != "True":
            return RED
        return AMBER if record.unschedulable else GREEN
