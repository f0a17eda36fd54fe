"""Pods of one cluster: status coloured as a user reads it at a glance."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtGui import QColor

from desktop.record_table import AMBER, GREEN, RED, Age, RecordTableModel
from headless_agent.state.records import PodRecord, Record

_BAD = {"CrashLoopBackOff", "OOMKilled", "ImagePullBackOff", "ErrImagePull", "Error", "Evicted"}
_BAD |= {"CreateContainerConfigError", "CreateContainerError", "RunContainerError", "Failed"}


class PodTableModel(RecordTableModel):
    kinds = ("Pod",)
    columns = ("namespace", "name", "status", "ready", "restarts", "node", "age")

    def cells(self, kind: str, record: Record) -> Sequence[Any]:
        assert isinstance(record, PodRecord)
        containers = [c for c in record.containers if not c.init]
        ready = f"{sum(c.ready for c in containers)}/{len(containers)}"
        since = Age(record.created)  # kubectl's units, as drawn
        return (
            record.namespace,
            record.name,
            record.display_status,
            ready,
            record.restart_count,
            record.node,
            since,
        )

    def colour(self, record: Record, column: int) -> QColor | None:
        if column != 2 or not isinstance(record, PodRecord):
            return None
        status = record.display_status
        if status in _BAD:
            return RED
        return GREEN if status == "Running" and record.ready else AMBER
