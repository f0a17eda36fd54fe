"""The SLOs tab over the demo shop's recorded ingress traffic: objectives against their
targets, the cart's bad deploy burning its budget, every route's percentiles, and the
burn-rate chart; a cluster without ingress traffic says so."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from desktop.slo_view import SloView
from tests.gui.conftest import AppFactory

pytestmark = pytest.mark.gui


def _column(model: object, column: int) -> list[object]:
    return [
        model.index(r, column).data(Qt.ItemDataRole.UserRole)  # type: ignore[attr-defined]
        for r in range(model.rowCount())  # type: ignore[attr-defined]
    ]


def test_objectives_budgets_percentiles_and_the_burn_chart(
    running_app: AppFactory, qtbot: QtBot, tmp_path: Path
) -> None:
    window = running_app(lambda hub: hub.watch_demo(speed=1), history=tmp_path / "h.sqlite3")
    view = window.views["slo"]
    assert isinstance(view, SloView)
    window.tabs.setCurrentWidget(view)
    objectives = view.objective_model

    def cart_traffic() -> bool:
        rows = [objectives.row(r) for r in range(objectives.rowCount())]
        return any(o.objective.name == "shop-cart" and o.windows[0].requests for o in rows)

    for _ in range(30):  # the demo writes its two days of traffic as it starts
        view.reload()
        qtbot.wait(1000)
        if cart_traffic():
            break
    assert objectives.rowCount() == 2 and cart_traffic()
    rows = {objectives.row(r).objective.name: objectives.row(r) for r in range(2)}
    cart = {w.window: w for w in rows["shop-cart"].windows}
    storefront = {w.window: w for w in rows["shop-storefront"].windows}
    # The cart's bad deploy (3 % errors for the last 40 minutes) burns fast; the storefront
    # keeps to its objective.
    assert cart["1h"].burn_rate > 14.4 and cart["1h"].availability < 0.99
    assert storefront["1d"].availability > 0.995
    assert cart["1d"].requests > 1000
    names = _column(objectives, 0)
    burn = dict(zip(names, _column(objectives, 9), strict=True))
    assert burn["shop-cart"] == pytest.approx(cart["1h"].burn_rate)
    assert objectives.index(names.index("shop-cart"), 9).data().endswith("×")

    targets = view.target_model
    qtbot.waitUntil(lambda: targets.rowCount() == 2, timeout=5000)
    assert sorted(_column(targets, 0)) == ["shop.acme.example/", "shop.acme.example/cart"]
    p50, p99 = _column(targets, 6), _column(targets, 9)
    assert all(0 < a <= b < 3 for a, b in zip(p50, p99, strict=True))  # type: ignore[operator]

    # The chart: one line per window of the alerting table, for the chosen objective.
    qtbot.waitUntil(lambda: len(view.chart.getPlotItem().listDataItems()) >= 2, timeout=10000)
    assert view.chart_title.text().startswith("Burn rate of")

    # Another cluster has no ingress traffic.
    window.clusters.setCurrentRow(1)
    qtbot.waitUntil(lambda: "No ingress traffic" in view.summary.text(), timeout=10000)
    assert targets.rowCount() == 0
    assert all(not objectives.row(r).windows[-1].requests for r in range(objectives.rowCount()))
