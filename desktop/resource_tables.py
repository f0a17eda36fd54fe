"""Tables of the kinds beyond pods, nodes and the long-running workloads: Jobs and
CronJobs, Services, Ingresses and PersistentVolumeClaims of one cluster, live."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtGui import QColor

from desktop.record_table import AMBER, GREEN, RED, Age, RecordTableModel
from headless_agent import i18n
from headless_agent.state.records import (
    CronJobRecord,
    IngressRecord,
    JobRecord,
    PvcRecord,
    Record,
    ServiceRecord,
)

GIB = 2**30


class JobTableModel(RecordTableModel):
    kinds = ("Job", "CronJob")
    columns = ("namespace", "name", "kind", "status", "schedule", "age")

    def cells(self, kind: str, record: Record) -> Sequence[Any]:
        if isinstance(record, CronJobRecord):
            status = self._language.tr(
                "jobs.suspended" if record.suspended else "jobs.active", count=record.active
            )
            return (
                record.namespace,
                record.name,
                kind,
                status,
                record.schedule,
                Age(record.created),
            )
        assert isinstance(record, JobRecord)
        status = self._language.tr(
            "jobs.progress",
            succeeded=record.succeeded,
            completions=record.completions,
            failed=record.failed,
        )
        return (record.namespace, record.name, kind, status, "", Age(record.created))

    def colour(self, record: Record, column: int) -> QColor | None:
        if column != 3 or not isinstance(record, JobRecord):
            return None
        if record.failed:
            return RED
        return GREEN if record.succeeded >= record.completions else AMBER


class ServiceTableModel(RecordTableModel):
    kinds = ("Service",)
    columns = ("namespace", "name", "type", "cluster_ip", "ports", "selector", "age")

    def cells(self, kind: str, record: Record) -> Sequence[Any]:
        assert isinstance(record, ServiceRecord)
        selector = ", ".join(f"{k}={v}" for k, v in record.selector)
        return (
            record.namespace,
            record.name,
            record.type,
            record.cluster_ip,
            ", ".join(record.ports),
            selector,
            Age(record.created),
        )


class IngressTableModel(RecordTableModel):
    kinds = ("Ingress",)
    columns = ("namespace", "name", "ingress_class", "routes", "tls", "age")

    def cells(self, kind: str, record: Record) -> Sequence[Any]:
        assert isinstance(record, IngressRecord)
        routes = ", ".join(f"{r.host or '*'}{r.path} → {r.service}:{r.port}" for r in record.routes)
        return (
            record.namespace,
            record.name,
            record.ingress_class,
            routes,
            ", ".join(record.tls_hosts),
            Age(record.created),
        )


class PvcTableModel(RecordTableModel):
    kinds = ("PersistentVolumeClaim",)
    columns = ("namespace", "name", "status", "storage_class", "volume", "requested", "age")

    def cells(self, kind: str, record: Record) -> Sequence[Any]:
        assert isinstance(record, PvcRecord)
        size = record.capacity_bytes or record.requested_bytes
        shown = f"{i18n.format_number(round(size / GIB, 1), self._language.code)} GiB"
        return (
            record.namespace,
            record.name,
            record.phase,
            record.storage_class,
            record.volume,
            shown if size else "—",
            Age(record.created),
        )

    def colour(self, record: Record, column: int) -> QColor | None:
        if column != 2 or not isinstance(record, PvcRecord):
            return None
        return GREEN if record.phase == "Bound" else AMBER if record.phase == "Pending" else RED
