"""The record tables apply change batches in place: adds, updates, deletes in any mix."""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest
import shiboken6
from PySide6.QtCore import QObject, QPersistentModelIndex, Qt
from pytestqt.modeltest import ModelTester

from desktop.language import Language
from desktop.pod_table import PodTableModel
from desktop.table_view import sorting_proxy
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


@pytest.mark.parametrize(
    ("column", "order"),
    [
        (-1, Qt.SortOrder.AscendingOrder),
        (1, Qt.SortOrder.DescendingOrder),
        (4, Qt.SortOrder.AscendingOrder),  # restarts: rows move as they change
        (4, Qt.SortOrder.DescendingOrder),
        (6, Qt.SortOrder.AscendingOrder),  # age: youngest first
        (7, Qt.SortOrder.DescendingOrder),  # the cluster column
    ],
)
def test_a_sorted_table_stays_sorted_through_random_batches_and_selection_follows(
    qtmodeltester: ModelTester, column: int, order: Qt.SortOrder
) -> None:
    rng = random.Random(column * 10 + int(order == Qt.SortOrder.DescendingOrder))
    state = ClusterState("c")
    restarts = {f"p{i:03d}": rng.randrange(5) for i in range(60)}

    def pod(name: str) -> dict[str, object]:
        made = raw.pod(
            name,
            f"ns-{int(name[1:]) % 3}",
            owner=None,
            containers=[raw.container(restarts=restarts[name])],
        )
        made["metadata"]["creationTimestamp"] = raw.iso(1_700_000_000 + int(name[1:]) * 7 % 500)
        return made

    state.replace("Pod", [pod(name) for name in restarts])
    model = PodTableModel(Language("en"))
    qtmodeltester.check(model)
    subscription = state.subscribe()
    model.show(state)
    model.sort(column, order)
    followed = QPersistentModelIndex(model.index(17, 1))
    followed_name = followed.data()
    for _ in range(15):
        for _ in range(12):
            name = rng.choice(sorted(restarts))
            action = rng.random()
            if action < 0.15 and name != followed_name:
                state.apply("Pod", "DELETED", pod(name))
                del restarts[name]
            elif action < 0.3:
                fresh = f"p{rng.randrange(100, 999)}"
                if fresh not in restarts:
                    restarts[fresh] = rng.randrange(5)
                    state.apply("Pod", "ADDED", pod(fresh))
            else:
                restarts[name] += rng.randrange(1, 4)
                state.apply("Pod", "MODIFIED", pod(name))
        model.apply(subscription.take())
        shown = [
            tuple(model.index(r, c).data(Qt.ItemDataRole.UserRole) for c in range(8))
            for r in range(model.rowCount())
        ]
        assert sorted(row[1] for row in shown) == sorted(restarts)
        assert [row[4] for row in shown] == [restarts[row[1]] for row in shown]
        if column >= 0:
            keys = [_sort_value(row[column]) for row in shown]
            descending = order == Qt.SortOrder.DescendingOrder
            assert keys == sorted(keys, reverse=descending)
            # Equal cells keep namespace and name order, whichever the direction.
            for a, b in itertools.pairwise(shown):
                if _sort_value(a[column]) == _sort_value(b[column]):
                    assert (a[0], a[1]) < (b[0], b[1])
        else:
            assert [(r[0], r[1]) for r in shown] == sorted((r[0], r[1]) for r in shown)
        assert followed.isValid() and followed.data() == followed_name


def _sort_value(value: object) -> object:
    return -value if isinstance(value, float) else value  # ages: youngest first


def test_showing_thirty_thousand_pods_sorted_is_one_sort_not_a_proxy_resort() -> None:
    """The window's proxy hands sorting to the model: showing a big cluster with a sorted
    column asks ``data()`` only for what is drawn, not twice per comparison."""
    state = ClusterState("big")
    state.replace("Pod", [raw.pod(f"p{i:05d}", f"ns-{i % 7}", owner=None) for i in range(30000)])
    # One owner, deleted in Qt's order at the end (as the window owns its models): a model
    # left to the garbage collector with a proxy under it crashes a later collection.
    owner = QObject()
    model = CountingPodModel(Language("en"), owner)
    proxy = sorting_proxy(model, owner)
    try:
        proxy.sort(4, Qt.SortOrder.DescendingOrder)
        model.show(state)
        assert proxy.rowCount() == 30000
        assert model.calls < 1000, f"{model.calls} data() calls for one show"
        restarts = [proxy.index(r, 4).data(Qt.ItemDataRole.UserRole) for r in range(50)]
        assert restarts == sorted(restarts, reverse=True)
    finally:
        shiboken6.delete(owner)


class CountingPodModel(PodTableModel):
    calls = 0

    def data(self, index: Any, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        self.calls += 1
        return super().data(index, role)
