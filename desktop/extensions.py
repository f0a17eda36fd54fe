"""How a view, a context-menu action or a settings page joins the main window without
editing it: describe it, register it, and the window builds it, feeds it and retranslates
its title.

A view is any QWidget. The window calls its hooks on the Qt thread (which, in guest mode,
is trio's): ``attach`` once the engine runs, ``cluster_changed`` when the user selects a
cluster, ``shown`` when the user switches to it, ``anomalies_changed`` after open
anomalies changed (at most every 200 ms). Each hook receives the view and the window's
``ViewContext``; leave out the ones a view does not need.

Built-in views register themselves in ``desktop.builtin_views`` the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import trio
from PySide6.QtWidgets import QWidget

from desktop.language import Language
from headless_agent.hub import Hub
from headless_agent.ops.runner import Operations

if TYPE_CHECKING:
    from desktop.alert_setup import DesktopAlerts
    from desktop.main_window import MainWindow


@dataclass
class ViewContext:
    """What the window shares with its views once the engine runs."""

    window: MainWindow
    hub: Hub
    nursery: trio.Nursery
    ops: Operations
    alerts: DesktopAlerts | None = None
    #: why there is no history file, when it could not be opened
    history_problem: str | None = None
    #: the cluster selected in the sidebar
    cluster: str | None = None
    #: the namespace chosen in the namespace filter ("" for all)
    namespace: str = ""
    #: the cluster of the row a context menu was opened on (tables can show several)
    row_cluster: str | None = None


def _nothing(*_: Any) -> None:
    return None


@dataclass(frozen=True)
class ViewSpec:
    key: str
    #: catalog id of the tab's title
    title: str
    create: Callable[[Language, QWidget], QWidget]
    attach: Callable[[Any, ViewContext], None] = _nothing
    cluster_changed: Callable[[Any, ViewContext], None] = _nothing
    shown: Callable[[Any, ViewContext], None] = _nothing
    anomalies_changed: Callable[[Any, ViewContext], None] = _nothing


@dataclass(frozen=True)
class MenuAction:
    """An entry of the context menu of the tables showing ``kinds`` (``"Anomaly"`` for
    the anomalies table). ``run`` gets the context, the row's kind and its record (or the
    ``Anomaly``)."""

    key: str
    title: str
    kinds: frozenset[str]
    run: Callable[[ViewContext, str, Any], None]


@dataclass(frozen=True)
class SettingsPage:
    """A page of the Settings dialog. ``create`` builds its widget; the dialog calls
    ``apply(widget, context)`` when the user presses Apply or OK."""

    key: str
    title: str
    create: Callable[[Language, ViewContext | None], QWidget]
    apply: Callable[[Any, ViewContext | None], None] = _nothing


@dataclass
class Registry:
    views: list[ViewSpec] = field(default_factory=list)
    actions: list[MenuAction] = field(default_factory=list)
    settings_pages: list[SettingsPage] = field(default_factory=list)

    def add_view(self, spec: ViewSpec) -> ViewSpec:
        if any(v.key == spec.key for v in self.views):
            raise ValueError(f"a view {spec.key!r} is registered already")
        self.views.append(spec)
        return spec

    def add_action(self, action: MenuAction) -> MenuAction:
        self.actions.append(action)
        return action

    def add_settings_page(self, page: SettingsPage) -> SettingsPage:
        self.settings_pages.append(page)
        return page

    def actions_for(self, kind: str) -> list[MenuAction]:
        return [a for a in self.actions if kind in a.kinds]


#: the window's registry; register before the window is created
REGISTRY = Registry()
