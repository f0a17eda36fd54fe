"""Deployments, StatefulSets and DaemonSets of one cluster: how many replicas are ready."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtGui import QColor

from desktop.record_table import AMBER, GREEN, Age, RecordTableModel
from headless_agent.state.records import Record, WorkloadRecord


class WorkloadTableModel(RecordTableModel):
    kinds = ("Deployment", "StatefulSet", "DaemonSet")
    columns = ("namespace", "name", "kind", "ready", "updated", "images", "age")

    def cells(self, kind: str, record: Record) -> Sequence[Any]:
        assert isinstance(record, WorkloadRecord)
        return (
            record.namespace,
            record.name,
            kind,
            f"{record.ready}/{record.desired}",
            record.updated,
            ", ".join(record.images),
            Age(record.created),
        )

    def colour(self, record: Record, column: int) -> QColor | None:
        if column != 3 or not isinstance(record, WorkloadRecord):
            return None
        return GREEN if record.ready >= record.desired else AMBER
