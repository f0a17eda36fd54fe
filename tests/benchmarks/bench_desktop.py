"""Desktop smoothness under load: Qt event-loop stalls while a big cluster churns.

A ClusterState holds PODS pods and NODES nodes; a trio task applies UPDATES_PER_SECOND pod
updates per second (in 10 ms batches) while the real MainWindow shows the Pods tab. A
QTimer ticking every 5 ms records how late each tick is: the longest stall and the 99th
percentile are what a user feels as jank. The same run is repeated with a naive table
model that resets itself on every batch (what many tools do) as the baseline. Resident
memory and the time from launch to the first painted window (in a fresh process) are
measured too.

    .venv/bin/python -m tests.benchmarks.bench_desktop [--pods 30000 --nodes 1000 --rate 500]

Run with QT_QPA_PLATFORM=offscreen.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import shiboken6
import trio
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication

from desktop.language import Language
from desktop.main_window import MainWindow
from desktop.pod_table import PodTableModel
from desktop.trio_guest import TrioGuest
from headless_agent.hub import Hub
from headless_agent.kube.health import ClusterHealth
from headless_agent.kube.resources import WATCHED_KINDS
from headless_agent.state.cluster_state import Change, ClusterState
from tests.benchmarks.docs_section import write_figures
from tests.unit import raw_objects as raw

TICK_MS = 5


class ResettingPodModel(PodTableModel):
    """The baseline: every batch rebuilds the whole table (beginResetModel/endResetModel)."""

    def __init__(self, language: Language) -> None:
        super().__init__(language)
        self._state: ClusterState | None = None

    def show(self, state: ClusterState | None) -> None:
        self._state = state
        super().show(state)

    def apply(self, changes: list[Change]) -> None:
        if any(c.kind == "Pod" for c in changes):
            super().show(self._state)


def _fleet(pods: int, nodes: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    node_objects = [raw.node(f"node-{i:04d}") for i in range(nodes)]
    pod_objects = [
        raw.pod(
            f"app-{i // 10:05d}-{i:06d}",
            f"ns-{i % 50:02d}",
            owner=None,
            node=f"node-{i % nodes:04d}",
        )
        for i in range(pods)
    ]
    return pod_objects, node_objects


def _lateness_probe() -> tuple[QTimer, list[float], Callable[[], None]]:
    """A timer ticking every TICK_MS; each tick records how late it came."""
    late: list[float] = []
    timer = QTimer()
    timer.setInterval(TICK_MS)
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        late.append(max(0.0, (now - last[0]) * 1000 - TICK_MS))
        last[0] = now

    def start() -> None:
        last[0] = time.perf_counter()
        timer.start()

    timer.timeout.connect(tick)
    return timer, late, start


def run_load(pods: int, nodes: int, rate: int, seconds: float, naive: bool) -> dict[str, float]:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)  # type: ignore[attr-defined]
    process = psutil.Process()
    rss_before = process.memory_info().rss
    pod_objects, node_objects = _fleet(pods, nodes)
    window = MainWindow(Language("en"))
    if naive:
        window.pod_model = ResettingPodModel(window.language)
        window.pod_proxy.setSourceModel(window.pod_model)
        window.record_models = (window.pod_model, window.node_model, window.workload_model)
    hub = Hub()
    updates = [0]

    async def source(state: ClusterState, health: ClusterHealth) -> None:
        for kind in WATCHED_KINDS:
            health.expect(kind.kind)
        state.replace("Node", node_objects)
        state.replace("Pod", pod_objects)
        for kind in WATCHED_KINDS:
            health.watching(kind.kind, state.count(kind.kind))
        begun = time.perf_counter()
        restarts = [0] * pods
        while True:
            await trio.sleep(0.01)
            due = int((time.perf_counter() - begun) * rate) - updates[0]  # keep the set rate
            for j in range(due):
                index = ((updates[0] + j) * 997) % pods
                restarts[index] += 1  # one restart more for this pod, as a crash would do
                changed = dict(pod_objects[index])
                changed["status"] = dict(changed["status"])
                changed["status"]["containerStatuses"] = [raw.container(restarts=restarts[index])]
                version = f"{index}-{restarts[index]}"
                changed["metadata"] = dict(changed["metadata"], resourceVersion=version)
                state.apply("Pod", "MODIFIED", changed)
            updates[0] += max(due, 0)

    hub.add_cluster("big", "kubeconfig", source)
    timer, late, restart_probe = _lateness_probe()
    guest = TrioGuest(app)
    result: dict[str, float] = {}

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(hub.run)
            window.attach(hub, nursery)
            window.tabs.setCurrentIndex(1)
            window.show()
            await trio.sleep(2.0)  # initial fill and first paints are not the steady state
            late.clear()
            start_updates = updates[0]
            restart_probe()
            started = time.perf_counter()
            await trio.sleep(seconds)
            timer.stop()
            elapsed = time.perf_counter() - started
            result["updates_per_s"] = (updates[0] - start_updates) / elapsed
            result["rows"] = window.pod_proxy.rowCount()
            window.close()
            nursery.cancel_scope.cancel()

    guest.start(main)
    app.exec()
    shiboken6.delete(window)  # in Qt's order, before PySide's exit-time cleanup
    ordered = sorted(late)
    result["max_stall_ms"] = ordered[-1] if ordered else float("nan")
    result["p99_stall_ms"] = ordered[int(len(ordered) * 0.99) - 1] if ordered else float("nan")
    result["median_lateness_ms"] = statistics.median(ordered) if ordered else float("nan")
    result["rss_mib"] = (process.memory_info().rss - rss_before) / 2**20
    return result


class _FirstPaint(QObject):
    def __init__(self, on_paint: Callable[[], None]) -> None:
        super().__init__()
        self._on_paint = on_paint

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self._on_paint()
        return False


def first_paint_child() -> None:
    """In a fresh process: launch the app (demo fleet) and print seconds to first paint."""
    started = psutil.Process().create_time()
    from desktop import app as desktop_app

    window_class = desktop_app.MainWindow
    painted: list[float] = []

    class Probe(window_class):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._probe = _FirstPaint(self._painted)
            self.installEventFilter(self._probe)

        def _painted(self) -> None:
            if not painted:
                painted.append(time.time() - started)
                print(f"FIRST_PAINT {painted[0]:.3f}", flush=True)
                QTimer.singleShot(0, self.close)

    desktop_app.MainWindow = Probe
    desktop_app.main(["--demo"])


def first_paint_seconds(runs: int = 3) -> float:
    """Median seconds to first paint over ``runs`` launches after one discarded warm-up.

    The children may write bytecode (into a throwaway cache folder): an installed app has
    its modules compiled, so a machine that sets PYTHONDONTWRITEBYTECODE would otherwise
    charge every launch for compiling the whole app again.
    """
    times = []
    with tempfile.TemporaryDirectory(prefix="atlhyper-pycache-") as cache:
        env = {**os.environ, "KUBECONFIG": os.devnull, "PYTHONPYCACHEPREFIX": cache}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        for run in range(runs + 1):
            result = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    "from tests.benchmarks.bench_desktop import first_paint_child as f; f()",
                ],
                capture_output=True,
                text=True,
                timeout=60,
                env=env,
            )
            line = next(
                (x for x in result.stdout.splitlines() if x.startswith("FIRST_PAINT")), None
            )
            if line is None:
                raise RuntimeError(f"no first paint: {result.stderr[-2000:]}")
            if run:
                times.append(float(line.split()[1]))
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=30000)
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=500, help="pod updates per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--mode", choices=("both", "engine", "naive"), default="both")
    parser.add_argument("--json", type=Path, help="also write the key figures to this JSON file")
    args = parser.parse_args(argv)
    print(
        f"machine: {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB, "
        f"Python {platform.python_version()}, "
        f"Qt platform {os.environ.get('QT_QPA_PLATFORM', 'default')}"
    )
    print(
        f"load: {args.pods} pods, {args.nodes} nodes, "
        f"{args.rate} pod updates/s for {args.seconds:.0f} s"
    )
    results: dict[str, dict[str, float]] = {}
    for mode in ("engine", "naive") if args.mode == "both" else (args.mode,):
        if mode == "naive" and args.mode == "both":
            # A fresh process, so the naive run's memory figure is its own.
            out = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "tests.benchmarks.bench_desktop",
                    "--mode",
                    "naive",
                    "--pods",
                    str(args.pods),
                    "--nodes",
                    str(args.nodes),
                    "--rate",
                    str(args.rate),
                    "--seconds",
                    str(args.seconds),
                ],
                capture_output=True,
                text=True,
                timeout=900,
            )
            line = next(x for x in out.stdout.splitlines() if x.startswith("RESULT naive"))
            results[mode] = {k: float(v) for k, v in (p.split("=") for p in line.split()[2:])}
            continue
        results[mode] = run_load(
            args.pods, args.nodes, args.rate, args.seconds, naive=mode == "naive"
        )
        print(f"RESULT {mode} " + " ".join(f"{k}={v:.3f}" for k, v in results[mode].items()))
    if args.mode != "both":
        return 0
    paint = first_paint_seconds()
    engine, naive = results["engine"], results["naive"]
    print()
    print(f"{'':24}{'in-place model':>16}{'reset-per-batch':>18}{'ratio':>8}")
    for key, label in (
        ("max_stall_ms", "longest stall (ms)"),
        ("p99_stall_ms", "p99 stall (ms)"),
        ("rss_mib", "resident memory (MiB)"),
        ("updates_per_s", "updates applied/s"),
    ):
        ratio = naive[key] / engine[key] if engine[key] else float("inf")
        print(f"{label:24}{engine[key]:>16.1f}{naive[key]:>18.1f}{ratio:>8.1f}")
    print(f"first paint from launch (median of 3 warm starts): {paint:.2f} s")
    rows = [
        (label, f"{engine[key]:.1f}", f"{naive[key]:.1f}", f"{naive[key] / engine[key]:.1f}x")
        for key, label in (
            ("max_stall_ms", "longest stall of the Qt event loop (ms)"),
            ("p99_stall_ms", "99th percentile stall (ms)"),
            ("rss_mib", "resident memory added (MiB)"),
            ("updates_per_s", "pod updates applied per second"),
        )
        if engine[key]
    ]
    rows.append(("first paint from launch, median of 3 warm starts (s)", f"{paint:.2f}", "—", "—"))
    write_figures(
        args.json,
        measured=f"the desktop's Pods tab with {args.pods:,} pods under {args.rate} updates/s: "
        "the in-place model against one reset per batch",
        columns=("", "in-place model (AtlHyper)", "reset per batch (baseline)", "ratio"),
        rows=rows,
        headline=rows[0],
        command="QT_QPA_PLATFORM=offscreen .venv/bin/python -m tests.benchmarks.bench_desktop "
        f"--pods {args.pods} --nodes {args.nodes} --rate {args.rate} --seconds {args.seconds:g}",
    )
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    # Skip interpreter finalisation: tearing down many Qt objects in arbitrary GC order at
    # exit has crashed PySide6 here (bool_dealloc) after all figures were printed.
    os._exit(code)
