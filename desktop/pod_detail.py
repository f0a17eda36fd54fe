"""A pod's page: its containers (image, state, readiness, restarts, last termination),
owner, node, addresses, age and conditions — live from the cluster's state —, its events
(the state's, and the Warning events the history kept), its restart history from the
store, and buttons for its logs and YAML (the window's own dialogs).

Opened from the Pods table's context menu, and from a node's page.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import trio
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.detail_parts import (
    DetailTable,
    Facts,
    cores,
    emphasise,
    follow_changes,
    when,
    with_note,
)
from desktop.language import Language
from desktop.pod_table import _BAD as BAD_STATUSES
from desktop.record_table import AMBER, GREEN, RED
from headless_agent import i18n
from headless_agent.hub import ClusterHandle
from headless_agent.ops.commands import Command
from headless_agent.state.ages import age
from headless_agent.state.cluster_state import Change
from headless_agent.state.records import ContainerState, EventRecord, PodRecord
from headless_agent.store import HistoryStore, PodRestart, StoredEvent, UnknownCluster

#: how far back the restart history and the stored events go
HISTORY_SECONDS = 30 * 86400
#: how often, and how far apart, the history is read again while it lags behind the state
HISTORY_TRIES = 3
HISTORY_RETRY_SECONDS = 2.0

FACTS = (
    "detail.status",
    "detail.namespace",
    "detail.node",
    "detail.owner",
    "detail.pod_ip",
    "detail.host_ip",
    "detail.age",
    "detail.restarts",
    "detail.qos",
    "detail.requests",
    "detail.limits",
)


def status_colour(pod: PodRecord) -> QColor:
    """The colour the Pods table gives this pod's status."""
    if pod.display_status in BAD_STATUSES:
        return RED
    return GREEN if pod.display_status == "Running" and pod.ready else AMBER


class PodDetailDialog(QDialog):
    def __init__(
        self,
        language: Language,
        handle: ClusterHandle,
        store: HistoryStore | None,
        nursery: trio.Nursery,
        namespace: str,
        name: str,
        *,
        open_operation: Callable[[Command], object] | None = None,
        open_node: Callable[[str], object] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("podDetailDialog")
        self.language, self.handle, self.store, self.nursery = language, handle, store, nursery
        self.namespace, self.name = namespace, name
        self.open_operation, self.open_node = open_operation, open_node
        self.resize(1100, 720)
        self._scope = trio.CancelScope()
        self._stored_events: list[StoredEvent] = []
        self._restarts: list[PodRestart] = []
        self._restart_count: int | None = None
        self._reading: trio.CancelScope | None = None
        #: reads of the history so far (events and restarts)
        self.history_reads = 0
        self.heading = QLabel()
        self.heading.setProperty("dynamic", True)  # the pod's name and status
        emphasise(self.heading, 1.25)
        self.facts = Facts(language, FACTS)
        self.logs_button = QPushButton()
        self.yaml_button = QPushButton()
        self.node_button = QPushButton()
        self.logs_button.clicked.connect(lambda: self._operation("logs"))
        self.yaml_button.clicked.connect(lambda: self._operation("yaml"))
        self.node_button.clicked.connect(self._node)
        self.logs_button.setEnabled(open_operation is not None)
        self.yaml_button.setEnabled(open_operation is not None)
        self.node_button.setVisible(open_node is not None)
        actions = QHBoxLayout()
        actions.addWidget(self.logs_button)
        actions.addWidget(self.yaml_button)
        actions.addWidget(self.node_button)
        actions.addStretch(1)
        self.containers = DetailTable(
            language,
            (
                "column.container",
                "column.image",
                "column.state",
                "column.ready",
                "column.restarts",
                "column.last_termination",
            ),
        )
        self.containers.set_widths((160, 300, 190, 60, 80))
        self.conditions = DetailTable(
            language,
            ("column.type", "column.status", "column.reason", "column.since", "column.message"),
        )
        self.conditions.set_widths((170, 80, 200, 170))
        self.events = DetailTable(
            language,
            ("column.last_seen", "column.type", "column.reason", "column.count", "column.message"),
        )
        self.events.set_widths((170, 80, 170, 60))
        self.no_events = QLabel()
        self.no_events.setWordWrap(True)
        self.restarts = DetailTable(
            language,
            ("column.at", "column.increase", "column.restarts", "column.reason", "column.node"),
        )
        self.restarts.set_widths((170, 130, 80, 180))
        self.no_restarts = QLabel()
        self.no_restarts.setWordWrap(True)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.containers, "")
        self.tabs.addTab(self.conditions, "")
        self.tabs.addTab(with_note(self.events, self.no_events), "")
        self.tabs.addTab(with_note(self.restarts, self.no_restarts), "")
        buttons = QDialogButtonBox()
        self.close_button = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.facts)
        layout.addLayout(actions)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(buttons)
        language.changed.connect(self.retranslate)
        self.retranslate()
        nursery.start_soon(follow_changes, handle.state, self._scope, self._changed)
        self.read_history()

    # --- texts -----------------------------------------------------------------------------

    def retranslate(self) -> None:
        tr = self.language.tr
        self.setWindowTitle(tr("detail.pod_title", pod=f"{self.namespace}/{self.name}"))
        self.close_button.setText(tr("button.close"))
        self.logs_button.setText(tr("action.logs"))
        self.yaml_button.setText(tr("action.yaml"))
        self.node_button.setText(tr("detail.node_details"))
        self.facts.retranslate()
        for table in (self.containers, self.conditions, self.events, self.restarts):
            table.retranslate()
        self.tabs.setTabText(1, tr("detail.tab.conditions"))
        self.render()

    def record(self) -> PodRecord | None:
        found = self.handle.state.get("Pod", self.namespace, self.name)
        return found if isinstance(found, PodRecord) else None

    def render(self) -> None:
        tr = self.language.tr
        pod = self.record()
        self._render_events()
        self._render_restarts()
        if pod is None:
            self.heading.setText(f"<b>{self.namespace}/{self.name}</b> — {tr('detail.gone')}")
            self.tabs.setTabText(0, tr("detail.tab.containers", count=0))
            return
        status = pod.display_status
        colour = status_colour(pod)
        self.heading.setText(
            f"<b>{pod.namespace}/{pod.name}</b> — "
            f"<span style='color:{colour.name()}'>{status}</span>"
        )
        facts = self.facts
        facts.set("detail.status", status, colour)
        facts.set("detail.namespace", pod.namespace)
        facts.set("detail.node", pod.node)
        facts.set("detail.owner", f"{pod.owner_kind}/{pod.owner_name}" if pod.owner_name else "")
        facts.set("detail.pod_ip", pod.pod_ip)
        facts.set("detail.host_ip", pod.host_ip)
        facts.set("detail.age", age(time.time() - pod.created) if pod.created else "—")
        facts.set("detail.restarts", str(pod.restart_count))
        facts.set("detail.qos", pod.qos)
        facts.set(
            "detail.requests", self._resources(pod.cpu_request_milli, pod.memory_request_bytes)
        )
        facts.set("detail.limits", self._resources(pod.cpu_limit_milli, pod.memory_limit_bytes))
        self.node_button.setEnabled(bool(pod.node))
        self.tabs.setTabText(0, tr("detail.tab.containers", count=len(pod.containers)))
        self.containers.fill(
            [self._container_row(c) for c in pod.containers],
            [c.message for c in pod.containers],
        )
        self.conditions.fill(
            [
                (
                    c.type,
                    (c.status, GREEN if c.status == "True" else RED),
                    c.reason,
                    when(c.since, self.language),
                    c.message,
                )
                for c in pod.conditions
            ],
            [c.message for c in pod.conditions],
        )

    def _container_row(self, container: ContainerState) -> tuple[object, ...]:
        tr = self.language.tr
        name = (
            tr("detail.init_container", name=container.name) if container.init else container.name
        )
        state = container.state + (f": {container.reason}" if container.reason else "")
        colour = GREEN if container.state == "running" and container.ready else None
        if container.reason in BAD_STATUSES:
            colour = RED
        last = ""
        if container.last_reason:
            last = tr(
                "detail.last_termination",
                reason=container.last_reason,
                code="—" if container.last_exit_code is None else str(container.last_exit_code),
                time=when(container.last_finished, self.language),
            )
        return (
            name,
            container.image,
            (state, colour),
            "✓" if container.ready else "—",
            str(container.restart_count),
            (last, RED if container.last_reason else None),
        )

    def _state_events(self) -> list[EventRecord]:
        return [
            e
            for e in self.handle.state.records("Event")
            if isinstance(e, EventRecord)
            and e.object_kind == "Pod"
            and e.object_namespace == self.namespace
            and e.object_name == self.name
        ]

    def _render_events(self) -> None:
        tr = self.language.tr
        rows: list[tuple[float, tuple[object, ...], str]] = []
        seen = set()
        for event in self._state_events():
            seen.add((event.reason, event.message, event.first_seen))
            stamp = event.last_seen or event.first_seen or 0.0
            colour = AMBER if event.type == "Warning" else None
            rows.append(
                (
                    stamp,
                    (
                        when(stamp, self.language),
                        (event.type, colour),
                        event.reason,
                        i18n.format_number(event.count, self.language.code),
                        event.message,
                    ),
                    event.message,
                )
            )
        for stored in self._stored_events:  # what the cluster no longer keeps
            if (stored.reason, stored.message, stored.first_seen) in seen:
                continue
            stamp = stored.last_seen or stored.first_seen or 0.0
            rows.append(
                (
                    stamp,
                    (
                        when(stamp, self.language),
                        ("Warning", AMBER),
                        stored.reason,
                        i18n.format_number(stored.count, self.language.code),
                        stored.message,
                    ),
                    stored.message,
                )
            )
        rows.sort(key=lambda row: row[0], reverse=True)
        self.events.fill([r[1] for r in rows], [r[2] for r in rows])  # type: ignore[misc]
        self.events.setVisible(bool(rows))
        self.no_events.setVisible(not rows)
        self.no_events.setText(tr("detail.no_events"))
        self.tabs.setTabText(2, tr("detail.tab.events", count=len(rows)))

    def _render_restarts(self) -> None:
        tr = self.language.tr
        rows = []
        for restart in sorted(
            self._restarts, key=lambda r: r.observation.observed_at, reverse=True
        ):
            seen = restart.observation
            rows.append(
                (
                    when(seen.last_restart_at or seen.observed_at, self.language),
                    (f"+{restart.increase}", RED if restart.increase else None),
                    str(seen.restart_count),
                    seen.last_reason,
                    seen.node,
                )
            )
        self.restarts.fill(rows)
        self.restarts.setVisible(bool(rows))
        self.no_restarts.setVisible(not rows)
        if self.store is None:
            self.no_restarts.setText(tr("detail.no_history"))
        else:
            self.no_restarts.setText(tr("detail.no_restarts", days=HISTORY_SECONDS // 86400))
        total = sum(r.increase for r in self._restarts)
        self.tabs.setTabText(3, tr("detail.tab.restarts", count=total))

    # --- history and live ------------------------------------------------------------------

    def read_history(self) -> None:
        """The pod's stored Warning events and restarts, read in a worker thread."""
        store = self.store
        if store is None:
            return
        cluster, namespace, name = self.handle.name, self.namespace, self.name
        end = time.time()
        start = end - HISTORY_SECONDS

        def query() -> tuple[list[StoredEvent], list[PodRestart]]:
            try:
                events = store.search_events(
                    cluster,
                    object_kind="Pod",
                    object_namespace=namespace,
                    object_name=name,
                    since=start,
                )
                restarts = store.pod_restarts(cluster, start, end, namespace=namespace, pod=name)
            except UnknownCluster:
                return [], []
            return events, restarts

        if self._reading is not None:
            self._reading.cancel()  # this read supersedes it
        scope = self._reading = trio.CancelScope()

        async def read() -> None:
            with scope:
                for _ in range(HISTORY_TRIES):
                    found = await trio.to_thread.run_sync(query, abandon_on_cancel=True)
                    self._stored_events, self._restarts = found
                    self.history_reads += 1
                    self.render()
                    pod = self.record()
                    recorded = sum(r.increase for r in self._restarts)
                    if pod is None or recorded >= pod.restart_count:
                        return
                    # Seen in the state, not yet written by the store's writer thread.
                    await trio.sleep(HISTORY_RETRY_SECONDS)

        self.nursery.start_soon(read)

    def _changed(self, batch: list[Change]) -> None:
        key = (self.namespace, self.name)
        mine = [c for c in batch if c.key == key and c.kind == "Pod"]
        events = any(c.kind == "Event" for c in batch)
        if mine or events:
            self.render()
        pod = self.record()
        count = pod.restart_count if pod is not None else None
        if mine and count != self._restart_count:
            self._restart_count = count
            self.read_history()  # the store has recorded the restart by the next read

    def _resources(self, cpu_milli: int, memory_bytes: int) -> str:
        if not cpu_milli and not memory_bytes:
            return "—"
        cpu = cores(cpu_milli) if cpu_milli else "—"
        memory = f"{memory_bytes / 2**20:.0f} MiB" if memory_bytes else "—"
        return self.language.tr("detail.resources", cpu=cpu, memory=memory)

    def _operation(self, action: str) -> None:
        if self.open_operation is not None:
            self.open_operation(Command(action, "Pod", self.namespace, self.name))

    def _node(self) -> None:
        pod = self.record()
        if pod is not None and pod.node and self.open_node is not None:
            self.open_node(pod.node)

    def done(self, result: int) -> None:
        self._scope.cancel()
        if self._reading is not None:
            self._reading.cancel()
        super().done(result)
