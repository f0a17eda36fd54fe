"""The views, context-menu actions and settings pages AtlHyper ships, registered through
the same ``extensions`` API any other would use (the live tables — anomalies, pods,
nodes, workloads — are the window's own)."""

from __future__ import annotations

from typing import Any

from desktop.alerts_view import AlertsView
from desktop.audit_view import AuditView
from desktop.console_view import ConsoleView
from desktop.extensions import REGISTRY, MenuAction, ViewContext, ViewSpec
from desktop.history_view import HistoryView
from desktop.metrics_view import MetricsView
from desktop.overview_view import OverviewView
from headless_agent.ops.commands import Command
from headless_agent.state.records import Record

# --- the overview: the first view after the window's own tables ------------------------------

REGISTRY.add_view(
    ViewSpec(
        "overview",
        "tab.overview",
        OverviewView,
        attach=lambda view, context: view.attach(context),
        cluster_changed=lambda view, context: view.cluster_changed(),
        shown=lambda view, context: view.refresh_now(),
        anomalies_changed=lambda view, context: view.anomalies_changed(),
    )
)

#: the operations each kind offers in its context menu, in menu order
OPERATIONS: dict[str, tuple[str, ...]] = {
    "Pod": ("restart-pod", "delete-pod", "logs", "exec", "describe", "yaml"),
    "Node": ("cordon", "uncordon", "drain", "describe", "yaml"),
    "Deployment": ("scale", "rollout-restart", "rollback", "set-image", "describe", "yaml"),
    "StatefulSet": ("scale", "rollout-restart", "set-image", "describe", "yaml"),
    "DaemonSet": ("rollout-restart", "set-image", "describe", "yaml"),
}


# --- views -------------------------------------------------------------------------------------


def _history_attach(view: HistoryView, context: ViewContext) -> None:
    view.attach(context.hub.history, context.nursery, context.history_problem)


def _history_shown(view: HistoryView, context: ViewContext) -> None:
    view.show_cluster(context.cluster)
    view.reload()


def _history_follows(view: HistoryView, context: ViewContext) -> None:
    if view.isVisible():
        _history_shown(view, context)


def _metrics_shown(view: MetricsView, context: ViewContext) -> None:
    handle = context.hub.clusters.get(context.cluster or "")
    nodes = sorted(n.name for n in handle.state.records("Node")) if handle else []
    view.show_cluster(context.cluster, nodes)


def _metrics_follows(view: MetricsView, context: ViewContext) -> None:
    if view.isVisible():
        _metrics_shown(view, context)


def _reload(view: Any, context: ViewContext) -> None:
    view.reload()


REGISTRY.add_view(
    ViewSpec(
        "history",
        "tab.history",
        HistoryView,
        attach=_history_attach,
        cluster_changed=_history_follows,
        shown=_history_shown,
        anomalies_changed=lambda view, context: view.isVisible() and view.reload(),
    )
)
REGISTRY.add_view(
    ViewSpec(
        "audit",
        "tab.audit",
        AuditView,
        attach=lambda view, context: view.attach(context.hub.history, context.nursery),
        shown=_reload,
    )
)
REGISTRY.add_view(
    ViewSpec(
        "console",
        "tab.console",
        ConsoleView,
        attach=lambda view, context: view.attach(context.ops, context.nursery),
        cluster_changed=lambda view, context: view.show_cluster(context.cluster),
    )
)
REGISTRY.add_view(
    ViewSpec(
        "metrics",
        "tab.metrics",
        MetricsView,
        attach=lambda view, context: _metrics_attach(view, context),
        cluster_changed=_metrics_follows,
        shown=_metrics_shown,
    )
)
REGISTRY.add_view(
    ViewSpec(
        "alerts",
        "tab.alerts",
        AlertsView,
        attach=lambda view, context: view.attach(context.alerts, context.nursery),
        shown=_reload,
    )
)


# --- context-menu actions ----------------------------------------------------------------------


def _operation(action: str) -> MenuAction:
    def run(context: ViewContext, kind: str, record: Record) -> None:
        context.window.open_operation(Command(action, kind, record.namespace, record.name))

    kinds = frozenset(kind for kind, actions in OPERATIONS.items() if action in actions)
    return MenuAction(action, f"action.{action}", kinds, run)


# Changes first, then reading; each kind's menu keeps this order.
for _action in ("scale", "rollout-restart", "rollback", "set-image", "restart-pod",
                "delete-pod", "cordon", "uncordon", "drain", "logs", "exec", "describe",
                "yaml"):  # fmt: skip
    REGISTRY.add_action(_operation(_action))


def _silence(context: ViewContext, kind: str, anomaly: Any) -> None:
    context.window.silence_anomaly(anomaly)


REGISTRY.add_action(MenuAction("silence", "silence.from_anomaly", frozenset({"Anomaly"}), _silence))


# --- detail pages ------------------------------------------------------------------------------
# (imported here: the pages come last, after every view and action above)

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QDialog  # noqa: E402

from desktop.node_detail import NodeDetailDialog  # noqa: E402
from desktop.pod_detail import PodDetailDialog  # noqa: E402
from desktop.workload_detail import KINDS as WORKLOAD_KINDS  # noqa: E402
from desktop.workload_detail import WorkloadDetailDialog  # noqa: E402


def open_node_details(
    context: ViewContext, node: str, cluster: str | None = None
) -> NodeDetailDialog | None:
    """The page of ``node`` of ``cluster`` (by default the selected one), beside the window."""
    handle = context.hub.clusters.get(cluster or context.cluster or "")
    if handle is None:
        return None
    window = context.window
    dialog = NodeDetailDialog(
        window.language,
        handle,
        context.hub.history,
        context.nursery,
        node,
        open_pod=lambda pod: open_pod_details(context, pod.namespace, pod.name, handle.name),
        parent=window,
    )
    _show_detail(context, dialog)
    return dialog


def open_pod_details(
    context: ViewContext, namespace: str, name: str, cluster: str | None = None
) -> PodDetailDialog | None:
    """The page of one pod of ``cluster`` (by default the selected one), beside the window."""
    handle = context.hub.clusters.get(cluster or context.cluster or "")
    if handle is None:
        return None
    window = context.window
    dialog = PodDetailDialog(
        window.language,
        handle,
        context.hub.history,
        context.nursery,
        namespace,
        name,
        open_operation=lambda command: window.open_operation(command, handle.name),
        open_node=lambda node: open_node_details(context, node, handle.name),
        parent=window,
    )
    _show_detail(context, dialog)
    return dialog


def open_workload_details(
    context: ViewContext, kind: str, namespace: str, name: str, cluster: str | None = None
) -> WorkloadDetailDialog | None:
    """The page of one workload (or Job, or CronJob) of ``cluster`` (by default the
    selected one), beside the window."""
    handle = context.hub.clusters.get(cluster or context.cluster or "")
    if handle is None:
        return None
    window = context.window
    dialog = WorkloadDetailDialog(
        window.language,
        context.hub,
        handle.name,
        context.nursery,
        kind,
        namespace,
        name,
        open_operation=lambda command: window.open_operation(command, handle.name),
        open_pod=lambda pod: open_pod_details(context, pod.namespace, pod.name, handle.name),
        parent=window,
    )
    _show_detail(context, dialog)
    return dialog


def _show_detail(context: ViewContext, dialog: QDialog) -> None:
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    theme = context.window.theme
    follow = getattr(dialog, "set_dark", None)
    if theme is not None and follow is not None:
        follow(theme.dark)
        theme.changed.connect(follow)
    dialog.show()


def _details(context: ViewContext, kind: str, record: Record) -> None:
    # The row's own cluster: the tables may show every cluster at once.
    if kind == "Node":
        open_node_details(context, record.name, context.row_cluster)
    elif kind in WORKLOAD_KINDS:
        open_workload_details(context, kind, record.namespace, record.name, context.row_cluster)
    else:
        open_pod_details(context, record.namespace, record.name, context.row_cluster)


def _metrics_attach(view: MetricsView, context: ViewContext) -> None:
    view.attach(context.hub.history, context.nursery)
    view.details_requested.connect(lambda node: open_node_details(context, node, context.cluster))


# First in the menus of nodes, pods and workloads: reading before changing.
REGISTRY.actions.insert(
    0,
    MenuAction("details", "detail.action", frozenset({"Node", "Pod", *WORKLOAD_KINDS}), _details),
)

# The assistant registers its own view and settings page (off until an endpoint is set).
import desktop.assistant_view  # noqa: E402, F401
