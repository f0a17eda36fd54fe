"""The Resources tab: Jobs and CronJobs, Services, Ingresses and volume claims of the
selected cluster, each a filtered, sortable table kept current from the cluster's change
stream (rows change in place, as in the Pods tab)."""

from __future__ import annotations

import trio
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QLineEdit, QTableView, QTabWidget, QVBoxLayout, QWidget

from desktop.extensions import REGISTRY, ViewContext, ViewSpec
from desktop.language import Language
from desktop.record_table import RecordTableModel
from desktop.resource_tables import (
    IngressTableModel,
    JobTableModel,
    PvcTableModel,
    ServiceTableModel,
)
from desktop.table_view import FilterProxy, sorting_proxy, table_view

#: page key → (model, starting column widths)
PAGES: tuple[tuple[str, type[RecordTableModel], tuple[int, ...]], ...] = (
    ("jobs", JobTableModel, (120, 240, 80, 220, 110)),
    ("services", ServiceTableModel, (120, 220, 100, 120, 160, 220)),
    ("ingresses", IngressTableModel, (120, 200, 110, 420, 160)),
    ("claims", PvcTableModel, (120, 220, 80, 120, 220, 90)),
)


class ResourcesView(QWidget):
    def __init__(self, language: Language, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.language = language
        self.pages = QTabWidget()
        self.models: dict[str, RecordTableModel] = {}
        self.proxies: dict[str, FilterProxy] = {}
        self.views: dict[str, QTableView] = {}
        self.filters: dict[str, QLineEdit] = {}
        for key, model_type, widths in PAGES:
            model = model_type(language, self)
            field = QLineEdit()
            proxy = sorting_proxy(model, model, field)
            view = table_view(proxy, widths)
            view.setColumnHidden(model.cluster_column, True)
            view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
            view.customContextMenuRequested.connect(
                lambda point, k=key: self._context_menu(k, point)
            )
            page = QWidget()
            layout = QVBoxLayout(page)
            layout.addWidget(field)
            layout.addWidget(view, 1)
            self.pages.addTab(page, "")
            self.models[key], self.proxies[key] = model, proxy
            self.views[key], self.filters[key] = view, field
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.pages)
        self._scope: trio.CancelScope | None = None
        self._context: ViewContext | None = None
        language.changed.connect(self.retranslate)
        self.retranslate()

    def retranslate(self) -> None:
        tr = self.language.tr
        for index, (key, _, _) in enumerate(PAGES):
            self.pages.setTabText(index, tr(f"resources.page.{key}"))
            self.filters[key].setPlaceholderText(tr("resources.filter"))

    def follow(self, context: ViewContext) -> None:
        """Show the selected cluster's records and keep them current."""
        if self._scope is not None:
            self._scope.cancel()
        self._context = context
        handle = context.hub.clusters.get(context.cluster or "")
        if handle is None:
            for model in self.models.values():
                model.show(None)
            return
        scope = self._scope = trio.CancelScope()
        state = handle.state

        async def follow() -> None:
            with scope:
                subscription = state.subscribe()
                try:
                    for model in self.models.values():
                        model.show(state)
                    async for batch in subscription:
                        for model in self.models.values():
                            model.apply(batch)
                finally:
                    subscription.close()

        context.nursery.start_soon(follow)

    def _context_menu(self, key: str, point: QPoint) -> None:
        """The registered actions of the row's kind (a Job's or CronJob's details…)."""
        context, view = self._context, self.views[key]
        index = view.indexAt(point)
        if context is None or not index.isValid():
            return
        model = self.models[key]
        row = self.proxies[key].mapToSource(index).row()
        context.row_cluster = model.cluster_of(row)
        menu = context.window.context_menu(view, model.kind_of(row), model.record(row))
        if menu.actions():
            menu.exec(view.viewport().mapToGlobal(point))

    def set_namespace(self, namespace: str) -> None:
        for proxy in self.proxies.values():
            proxy.set_namespace(namespace)


def _follow(view: ResourcesView, context: ViewContext) -> None:
    view.follow(context)


# Among the first registered views (after the Overview): the other kinds of one cluster.
_AFTER = [index for index, spec in enumerate(REGISTRY.views) if spec.key == "overview"]
REGISTRY.views.insert(
    _AFTER[0] + 1 if _AFTER else 0,
    ViewSpec("resources", "tab.resources", ResourcesView, attach=_follow, cluster_changed=_follow),
)
