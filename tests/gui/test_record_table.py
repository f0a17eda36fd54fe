"""The record tables apply change batches in place: adds, updates, deletes in any mix."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester

from desktop.language import Language
from desktop.pod_table import PodTableModel
from headless_agent.state.cluster_state import ClusterState
from tests.unit import raw_objects as raw

pytestmark = pytest.mark.gui


def test_batches_of_adds_updates_and_deletes_keep_rows_and_index_right(
    qtmodeltester: ModelTester,
) -> None:
    state = ClusterState("c")
    state.replace("Pod", [raw.pod(f"p{i}", owner=None) for i in range(10)])
    model = PodTableModel(Language("en"))
    qtmodeltester.check(model)
    subscription = state.subscribe()
    model.show(state)
    for i in (1, 3, 4, 8):
        state.apply("Pod", "DELETED", raw.pod(f"p{i}", owner=None))
    state.apply("Pod", "ADDED", raw.pod("new", owner=None))
    state.apply(
        "Pod",
        "MODIFIED",
        raw.pod("p9", owner=None, containers=[raw.container(waiting="CrashLoopBackOff")]),
    )
    model.apply(subscription.take())
    names = [model.index(r, 1).data() for r in range(model.rowCount())]
    assert sorted(names) == sorted(["p0", "p2", "p5", "p6", "p7", "p9", "new"])
    row = names.index("p9")
    assert model.index(row, 2).data() == "CrashLoopBackOff"
    assert model.index(row, 4).data(Qt.ItemDataRole.UserRole) == 0
    state.apply("Pod", "DELETED", raw.pod("new", owner=None))
    state.apply(
        "Pod", "MODIFIED", raw.pod("p0", owner=None, containers=[raw.container(restarts=2)])
    )
    model.apply(subscription.take())
    names = [model.index(r, 1).data() for r in range(model.rowCount())]
    assert "new" not in names and model.index(names.index("p0"), 4).data() == "2"
