"""A workload's page — a Deployment, StatefulSet, DaemonSet, Job or CronJob: what it is
(replicas, or the job's progress, or the schedule; images, age), its pods and conditions —
live from the cluster's state —, its events (the state's about it, its ReplicaSets or Jobs
and its pods, and the Warning events the history kept), its open anomalies, and buttons
for the operations its kind offers (the window's own dialogs).

Opened from the Workloads table's context menu and from the Resources tab's Jobs table.

A pod belongs to the workload the state resolves it to (``ClusterState.owner_of``: through
its ReplicaSet to the Deployment, through its Job to the CronJob), or directly to a Job.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import trio
from PySide6.QtCore import QModelIndex, QObject, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.detail_parts import (
    DetailTable,
    Facts,
    SomePodsModel,
    emphasise,
    follow_changes,
    when,
    with_note,
)
from desktop.language import Language
from desktop.record_table import AMBER, GREEN, RED
from desktop.table_view import sorting_proxy, table_view
from headless_agent import i18n
from headless_agent.detect.anomaly import Anomaly, Severity, Transition
from headless_agent.hub import Hub
from headless_agent.ops.commands import Command
from headless_agent.state.ages import age
from headless_agent.state.cluster_state import Change, ClusterState
from headless_agent.state.records import (
    Condition,
    CronJobRecord,
    EventRecord,
    JobRecord,
    PodRecord,
    Record,
    WorkloadRecord,
)
from headless_agent.store import HistoryStore, StoredEvent, UnknownCluster

#: the kinds that have a page here
KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")

#: how far back the stored events go
HISTORY_SECONDS = 30 * 86400

#: the controllers between a workload and its pods (their events are the workload's too)
_MIDDLE = {"Deployment": "ReplicaSet", "CronJob": "Job"}

#: the operations each kind's page offers, in button order
OPERATIONS: dict[str, tuple[str, ...]] = {
    "Deployment": ("scale", "rollout-restart", "rollback", "set-image", "describe", "yaml"),
    "StatefulSet": ("scale", "rollout-restart", "set-image", "describe", "yaml"),
    "DaemonSet": ("rollout-restart", "set-image", "describe", "yaml"),
    "Job": ("describe", "yaml"),
    "CronJob": ("describe", "yaml"),
}

_REPLICAS = ("detail.replicas", "detail.updated", "detail.available")
FACTS: dict[str, tuple[str, ...]] = {
    "Deployment": ("detail.kind", "detail.namespace", "detail.age", *_REPLICAS, "detail.images"),
    "StatefulSet": ("detail.kind", "detail.namespace", "detail.age", *_REPLICAS, "detail.images"),
    "DaemonSet": ("detail.kind", "detail.namespace", "detail.age", *_REPLICAS, "detail.images"),
    "Job": (
        "detail.kind",
        "detail.namespace",
        "detail.age",
        "detail.progress",
        "detail.active",
        "detail.owner",
        "detail.images",
    ),
    "CronJob": (
        "detail.kind",
        "detail.namespace",
        "detail.age",
        "detail.schedule",
        "detail.active",
        "detail.suspended",
        "detail.last_schedule",
        "detail.last_success",
        "detail.images",
    ),
}


def belongs(state: ClusterState, pod: PodRecord, kind: str, namespace: str, name: str) -> bool:
    """Whether ``pod`` is one of the workload's (resolved as the detector groups pods)."""
    if pod.namespace != namespace:
        return False
    return state.owner_of(pod) == (kind, name) or (pod.owner_kind, pod.owner_name) == (kind, name)


def workload_status(record: Record | None) -> tuple[str, QColor]:
    """A short status and its colour: ready replicas, or the job's progress."""
    if isinstance(record, WorkloadRecord):
        return (
            f"{record.ready}/{record.desired}",
            GREEN if record.ready >= record.desired else AMBER,
        )
    if isinstance(record, JobRecord):
        if record.failed:
            colour = RED
        else:
            colour = GREEN if record.succeeded >= record.completions else AMBER
        return f"{record.succeeded}/{record.completions}", colour
    if isinstance(record, CronJobRecord):
        return record.schedule, AMBER if record.suspended else GREEN
    return "", AMBER


class WorkloadPodsModel(SomePodsModel):
    """The pods of one workload, kept current from the cluster's changes."""

    def __init__(
        self,
        language: Language,
        kind: str,
        namespace: str,
        name: str,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(language, parent)
        self.kind, self.namespace, self.name = kind, namespace, name

    def wants(self, state: ClusterState, pod: PodRecord) -> bool:
        return belongs(state, pod, self.kind, self.namespace, self.name)

    def apply(self, changes: list[Change], cluster: str | None = None) -> None:
        if self._state is not None and any(c.kind == _MIDDLE.get(self.kind) for c in changes):
            # A ReplicaSet (or Job) seen after its pods: who belongs may have changed.
            self.show(self._state)
            return
        super().apply(changes, cluster)


class WorkloadDetailDialog(QDialog):
    def __init__(
        self,
        language: Language,
        hub: Hub,
        cluster: str,
        nursery: trio.Nursery,
        kind: str,
        namespace: str,
        name: str,
        *,
        open_operation: Callable[[Command], object] | None = None,
        open_pod: Callable[[PodRecord], object] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("workloadDetailDialog")
        self.language, self.hub, self.nursery = language, hub, nursery
        self.handle = hub.clusters[cluster]
        self.store: HistoryStore | None = hub.history
        self.kind, self.namespace, self.name = kind, namespace, name
        self.open_operation, self.open_pod = open_operation, open_pod
        self.resize(1100, 720)
        self._scope = trio.CancelScope()
        self._reading: trio.CancelScope | None = None
        self._stored_events: list[StoredEvent] = []
        #: reads of the history so far
        self.history_reads = 0
        self.heading = QLabel()
        self.heading.setProperty("dynamic", True)  # the workload's name and status
        emphasise(self.heading, 1.25)
        self.facts = Facts(language, FACTS[kind])
        actions = QHBoxLayout()
        self.operation_buttons: dict[str, QPushButton] = {}
        for action in OPERATIONS[kind]:
            button = QPushButton()
            button.clicked.connect(lambda _=False, a=action: self._operation(a))
            button.setEnabled(open_operation is not None)
            button.setAutoDefault(False)  # Enter closes the page; it never scales
            actions.addWidget(button)
            self.operation_buttons[action] = button
        actions.addStretch(1)
        self.pod_model = WorkloadPodsModel(language, kind, namespace, name, self)
        self.pod_proxy = sorting_proxy(self.pod_model, self.pod_model)
        self.pod_view: QTableView = table_view(self.pod_proxy, (120, 320, 150, 60, 80, 200))
        self.pod_view.doubleClicked.connect(self._pod_chosen)
        cluster_column = getattr(self.pod_model, "cluster_column", None)
        if cluster_column is not None:  # one cluster here: no column naming it
            self.pod_view.setColumnHidden(cluster_column, True)
        self.pod_view.setColumnHidden(0, True)  # one namespace too
        self.conditions = DetailTable(
            language,
            ("column.type", "column.status", "column.reason", "column.since", "column.message"),
        )
        self.conditions.set_widths((170, 80, 200, 170))
        self.events = DetailTable(
            language,
            (
                "column.last_seen",
                "column.type",
                "column.object",
                "column.reason",
                "column.count",
                "column.message",
            ),
        )
        self.events.set_widths((170, 80, 260, 150, 60))
        self.no_events = QLabel()
        self.no_events.setWordWrap(True)
        self.anomalies = DetailTable(
            language,
            ("column.severity", "column.object", "column.reason", "column.since", "column.message"),
        )
        self.anomalies.set_widths((90, 260, 150, 170))
        self.no_anomalies = QLabel()
        self.no_anomalies.setWordWrap(True)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.pod_view, "")
        self.tabs.addTab(self.conditions, "")
        self.tabs.addTab(with_note(self.events, self.no_events), "")
        self.tabs.addTab(with_note(self.anomalies, self.no_anomalies), "")
        self.tabs.setTabVisible(1, kind != "CronJob")  # a CronJob reports no conditions
        buttons = QDialogButtonBox()
        self.close_button = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.facts)
        layout.addLayout(actions)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(buttons)
        # Anomalies open and resolve apart from the state's changes: a burst of transitions
        # becomes one refresh.
        self._anomaly_timer = QTimer(self)
        self._anomaly_timer.setSingleShot(True)
        self._anomaly_timer.setInterval(200)
        self._anomaly_timer.timeout.connect(self._render_anomalies)
        hub.transition_listeners.append(self._transition)
        # Deleted with its window, without being closed: it follows nothing any more.
        scope, listener = self._scope, self._transition
        self.destroyed.connect(lambda *_: _forget(scope, hub, listener))
        language.changed.connect(self.retranslate)
        self.pod_model.show(self.handle.state)
        self.retranslate()
        nursery.start_soon(follow_changes, self.handle.state, self._scope, self._changed)
        self.read_history()

    # --- texts -----------------------------------------------------------------------------

    def retranslate(self) -> None:
        tr = self.language.tr
        self.setWindowTitle(
            tr("detail.workload_title", kind=self.kind, workload=f"{self.namespace}/{self.name}")
        )
        self.close_button.setText(tr("button.close"))
        for action, button in self.operation_buttons.items():
            button.setText(tr(f"action.{action}"))
        self.facts.retranslate()
        for table in (self.conditions, self.events, self.anomalies):
            table.retranslate()
        self.tabs.setTabText(1, tr("detail.tab.conditions"))
        self.render()

    def record(self) -> Record | None:
        return self.handle.state.get(self.kind, self.namespace, self.name)

    def render(self) -> None:
        tr = self.language.tr
        self.tabs.setTabText(0, tr("detail.tab.pods", count=self.pod_model.rowCount()))
        self._render_events()
        self._render_anomalies()
        record = self.record()
        if record is None:
            self.heading.setText(
                f"<b>{self.namespace}/{self.name}</b> ({self.kind}) — {tr('detail.gone')}"
            )
            return
        status, colour = workload_status(record)
        if isinstance(record, WorkloadRecord):
            status = tr("detail.ready_of", ready=record.ready, desired=record.desired)
        self.heading.setText(
            f"<b>{self.namespace}/{self.name}</b> ({self.kind}) — "
            f"<span style='color:{colour.name()}'>{status}</span>"
        )
        facts = self.facts
        facts.set("detail.kind", self.kind)
        facts.set("detail.namespace", self.namespace)
        facts.set("detail.age", age(time.time() - record.created) if record.created else "—")
        conditions: tuple[Condition, ...] = ()
        images: tuple[str, ...] = ()
        if isinstance(record, WorkloadRecord):
            ready = tr("detail.ready_of", ready=record.ready, desired=record.desired)
            facts.set("detail.replicas", ready, colour)
            facts.set("detail.updated", str(record.updated))
            facts.set("detail.available", str(record.available))
            conditions, images = record.conditions, record.images
        elif isinstance(record, JobRecord):
            progress = tr(
                "jobs.progress",
                succeeded=record.succeeded,
                completions=record.completions,
                failed=record.failed,
            )
            facts.set("detail.progress", progress, colour)
            facts.set("detail.active", str(record.active))
            owner = f"{record.owner_kind}/{record.owner_name}" if record.owner_name else ""
            facts.set("detail.owner", owner)
            conditions = record.conditions
        elif isinstance(record, CronJobRecord):
            facts.set("detail.schedule", record.schedule)
            facts.set("detail.active", str(record.active))
            suspended = tr("detail.yes") if record.suspended else tr("detail.no")
            facts.set("detail.suspended", suspended, AMBER if record.suspended else None)
            facts.set("detail.last_schedule", when(record.last_schedule, self.language))
            facts.set("detail.last_success", when(record.last_success, self.language))
        if not images:  # a job's: those its pods run
            pods = [self.pod_model.record(r) for r in range(self.pod_model.rowCount())]
            seen = {c.image: None for p in pods if isinstance(p, PodRecord) for c in p.containers}
            images = tuple(seen)
        facts.set("detail.images", ", ".join(images))
        self.conditions.fill(
            [
                (
                    c.type,
                    (c.status, GREEN if c.status == "True" else RED),
                    c.reason,
                    when(c.since, self.language),
                    c.message,
                )
                for c in conditions
            ],
            [c.message for c in conditions],
        )

    # --- events ----------------------------------------------------------------------------

    def objects(self) -> set[tuple[str, str]]:
        """(kind, name) of the workload, its ReplicaSets or Jobs, and its pods."""
        found = {(self.kind, self.name)} | {("Pod", name) for _, name in self.pod_model.here}
        middle = _MIDDLE.get(self.kind)
        if middle is not None:
            for record in self.handle.state.records(middle):
                owner = getattr(record, "owner_kind", ""), getattr(record, "owner_name", "")
                if record.namespace == self.namespace and owner == (self.kind, self.name):
                    found.add((middle, record.name))
        return found

    def _state_events(self) -> list[EventRecord]:
        objects = self.objects()
        return [
            e
            for e in self.handle.state.records("Event")
            if isinstance(e, EventRecord)
            and e.object_namespace == self.namespace
            and (e.object_kind, e.object_name) in objects
        ]

    def _stored_mine(self) -> list[StoredEvent]:
        """The stored events of the workload and of its objects, gone ones too: named
        after the workload, and not after another of its namespace with a longer name."""
        state, prefix = self.handle.state, f"{self.name}-"
        others = [
            f"{r.name}-"
            for kind in KINDS
            for r in state.records(kind)
            if r.namespace == self.namespace and r.name.startswith(prefix)
        ]
        objects = self.objects()
        kept = []
        for stored in self._stored_events:
            target = (stored.object_kind, stored.object_name)
            if target in objects:
                kept.append(stored)
            elif stored.object_kind == "Pod" and state.get("Pod", self.namespace, target[1]):
                continue  # a pod still here, of another workload
            elif not any(stored.object_name.startswith(other) for other in others):
                kept.append(stored)
        return kept

    def _render_events(self) -> None:
        tr = self.language.tr
        rows: list[tuple[float, tuple[object, ...], str]] = []
        seen: set[tuple[object, ...]] = set()
        number = self.language.code
        for event in self._state_events():
            seen.add((event.object_name, event.reason, event.message, event.first_seen))
            seen.add((event.namespace, event.name))  # the Event object itself
            stamp = event.last_seen or event.first_seen or 0.0
            rows.append(
                (
                    stamp,
                    (
                        when(stamp, self.language),
                        (event.type, AMBER if event.type == "Warning" else None),
                        f"{event.object_kind}/{event.object_name}",
                        event.reason,
                        i18n.format_number(event.count, number),
                        event.message,
                    ),
                    event.message,
                )
            )
        for stored in self._stored_mine():  # what the cluster no longer keeps
            same = (stored.object_name, stored.reason, stored.message, stored.first_seen)
            if same in seen or (stored.namespace, stored.name) in seen:
                continue
            stamp = stored.last_seen or stored.first_seen or 0.0
            rows.append(
                (
                    stamp,
                    (
                        when(stamp, self.language),
                        ("Warning", AMBER),
                        f"{stored.object_kind}/{stored.object_name}",
                        stored.reason,
                        i18n.format_number(stored.count, number),
                        stored.message,
                    ),
                    stored.message,
                )
            )
        rows.sort(key=lambda row: row[0], reverse=True)
        self.events.fill([r[1] for r in rows], [r[2] for r in rows])  # type: ignore[misc]
        self.events.setVisible(bool(rows))
        self.no_events.setVisible(not rows)
        self.no_events.setText(tr("detail.no_workload_events"))
        self.tabs.setTabText(2, tr("detail.tab.events", count=len(rows)))

    # --- anomalies -------------------------------------------------------------------------

    def open_anomalies(self) -> list[Anomaly]:
        """The hub's open anomalies about the workload or one of its pods."""
        pods = {name for _, name in self.pod_model.here}
        found = []
        for anomaly in self.hub.open_anomalies():
            key = anomaly.key
            if key.cluster != self.handle.name or key.namespace != self.namespace:
                continue
            if (key.kind, key.name) == (self.kind, self.name) or (
                key.kind == "Pod" and key.name in pods
            ):
                found.append(anomaly)
        return sorted(found, key=lambda a: (-a.severity, -a.last_seen))

    def _render_anomalies(self) -> None:
        tr = self.language.tr
        found = self.open_anomalies()
        rows = []
        for anomaly in found:
            key = anomaly.key
            critical = anomaly.severity is Severity.CRITICAL
            rows.append(
                (
                    (tr(f"severity.{anomaly.severity.label}"), RED if critical else AMBER),
                    f"{key.kind}/{key.name}",
                    key.reason,
                    when(anomaly.first_seen, self.language),
                    anomaly.text(self.language.code),
                )
            )
        self.anomalies.fill(rows, [a.text(self.language.code) for a in found])
        self.anomalies.setVisible(bool(rows))
        self.no_anomalies.setVisible(not rows)
        self.no_anomalies.setText(tr("detail.no_anomalies"))
        self.tabs.setTabText(3, tr("detail.tab.anomalies", count=len(rows)))

    def _transition(self, cluster: str, transition: Transition) -> None:
        if cluster != self.handle.name:
            return
        try:
            if not self._anomaly_timer.isActive():
                self._anomaly_timer.start()
        except RuntimeError:  # deleted with the window, without closing: listen no more
            self._stop_listening()

    def _stop_listening(self) -> None:
        if self._transition in self.hub.transition_listeners:
            self.hub.transition_listeners.remove(self._transition)

    # --- history and live ------------------------------------------------------------------

    def read_history(self) -> None:
        """The stored Warning events of the workload and of objects named after it, read
        in a worker thread."""
        store = self.store
        if store is None:
            return
        cluster, namespace, name = self.handle.name, self.namespace, self.name
        since = time.time() - HISTORY_SECONDS

        def query() -> list[StoredEvent]:
            try:
                return [
                    *store.search_events(
                        cluster, object_namespace=namespace, object_name=name, since=since
                    ),
                    *store.search_events(
                        cluster, object_namespace=namespace, object_name=f"{name}-*", since=since
                    ),
                ]
            except UnknownCluster:
                return []

        if self._reading is not None:
            self._reading.cancel()  # this read supersedes it
        scope = self._reading = trio.CancelScope()

        async def read() -> None:
            with scope:
                found = await trio.to_thread.run_sync(query, abandon_on_cancel=True)
                self._stored_events = found
                self.history_reads += 1
                self._render_events()

        self.nursery.start_soon(read)

    def _changed(self, batch: list[Change]) -> None:
        before = self.pod_model.rowCount()
        self.pod_model.apply(batch)
        mine = any(
            c.kind in (self.kind, "Pod", "Event", _MIDDLE.get(self.kind, self.kind)) for c in batch
        )
        if mine or self.pod_model.rowCount() != before:
            self.render()

    def _pod_chosen(self, index: QModelIndex) -> None:
        if self.open_pod is not None and index.isValid():
            record = self.pod_model.record(self.pod_proxy.mapToSource(index).row())
            assert isinstance(record, PodRecord)
            self.open_pod(record)

    def _operation(self, action: str) -> None:
        if self.open_operation is not None:
            self.open_operation(Command(action, self.kind, self.namespace, self.name))

    def done(self, result: int) -> None:
        self._scope.cancel()
        if self._reading is not None:
            self._reading.cancel()
        self._anomaly_timer.stop()
        self._stop_listening()
        super().done(result)


def _forget(scope: trio.CancelScope, hub: Hub, listener: object) -> None:
    scope.cancel()
    if listener in hub.transition_listeners:
        hub.transition_listeners.remove(listener)
