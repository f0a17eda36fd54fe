"""On the real control plane: controllers found by their labels, read through the API
server's pod proxy with the kubeconfig's credentials, and their series placed on the
hosts, paths and services of the cluster's Ingress objects."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
import trio

from headless_agent.slo.collector import SloCollector, ingress_map
from headless_agent.slo.controllers import SeriesLabels
from headless_agent.slo.scraping import ControllerSelector, discover_controllers
from headless_agent.store import HistoryStore
from tests.cluster.engine_helpers import apply, kubectl, start_hub, wait_for, wait_synced
from tests.kubeharness.cluster import KwokCluster
from tests.slo.exporter import NginxRoute, Requests, TraefikRoute, TrafficExporter, spread

pytestmark = pytest.mark.cluster

CHECKOUT = NginxRoute("shop", "shop-web", "shop.example.com", "/checkout", "checkout")
HOME = NginxRoute("shop", "shop-web", "shop.example.com", "/", "frontend")
ORDERS = TraefikRoute(
    "shop-shop-api-api-example-com-orders@kubernetes", "shop-orders-8080@kubernetes"
)


def _host_address() -> str:
    """This machine's address on its network (the API server will not proxy to loopback)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.254", 9))  # no packet is sent: this only picks a route
        return str(probe.getsockname()[0])


def _ingress(
    name: str, ingress_class: str, host: str, paths: list[tuple[str, str, int]]
) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {
            "ingressClassName": ingress_class,
            "rules": [
                {
                    "host": host,
                    "http": {
                        "paths": [
                            {
                                "path": path,
                                "pathType": "Prefix",
                                "backend": {"service": {"name": service, "port": {"number": port}}},
                            }
                            for path, service, port in paths
                        ]
                    },
                }
            ],
        },
    }


def _controller_pod(namespace: str, name: str, app: str) -> dict[str, Any]:
    # Bound to no real node, so that only this test sets its status (kwok leaves it alone).
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/name": app},
        },
        "spec": {"nodeName": "no-such-node", "containers": [{"name": "controller", "image": "x"}]},
    }


async def test_series_map_to_the_hosts_paths_and_services_of_ingress_objects(
    kube_cluster: KwokCluster, nursery: trio.Nursery, tmp_path: Path
) -> None:
    address = _host_address()
    exporter = TrafficExporter([CHECKOUT, HOME, ORDERS])
    port = int(exporter.start(address).rsplit(":", 1)[1])
    try:
        namespaces = [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}}
            for n in ("shop", "ingress-nginx", "traefik")
        ]
        await apply(
            kube_cluster,
            *namespaces,
            _ingress(
                "shop-web",
                "nginx",
                "shop.example.com",
                [("/checkout", "checkout", 80), ("/", "frontend", 80)],
            ),
            _ingress("shop-api", "traefik", "api.example.com", [("/orders", "orders", 8080)]),
            _controller_pod("ingress-nginx", "ingress-nginx-controller-0", "ingress-nginx"),
            _controller_pod("traefik", "traefik-0", "traefik"),
        )
        status = {"status": {"podIP": address, "podIPs": [{"ip": address}], "phase": "Running"}}
        for namespace, pod in (
            ("ingress-nginx", "ingress-nginx-controller-0"),
            ("traefik", "traefik-0"),
        ):
            await kubectl(
                kube_cluster,
                "patch",
                "pod",
                pod,
                "-n",
                namespace,
                "--subresource=status",
                "--type=merge",
                "-p",
                json.dumps(status),
            )

        handle, _ = await start_hub(nursery, kube_cluster)
        await wait_synced(handle)
        # The usual labels, on the port this exporter happens to listen on.
        selectors = [
            ControllerSelector(
                "ingress-nginx", (("app.kubernetes.io/name", "ingress-nginx"),), port
            ),
            ControllerSelector("traefik", (("app.kubernetes.io/name", "traefik"),), port),
        ]
        await wait_for(
            lambda: (
                len(discover_controllers(handle.state.records("Pod"), selectors)) == 2
                and len(list(handle.state.records("Ingress"))) >= 2
            ),
            what="the controller pods and the Ingress objects in the cluster state",
        )
        mapping = ingress_map(handle.state)
        checkout = mapping.route_of(
            SeriesLabels("shop", "shop-web", "shop.example.com", "/checkout")
        )
        orders = mapping.route_of(SeriesLabels(router=ORDERS.router, service=ORDERS.service))
        assert checkout is not None and orders is not None
        assert (checkout.ingress, checkout.service, checkout.port) == ("shop-web", "checkout", "80")
        assert (orders.ingress, orders.host, orders.path, orders.service) == (
            "shop-api",
            "api.example.com",
            "/orders",
            "orders",
        )

        store = await trio.to_thread.run_sync(lambda: HistoryStore.open(tmp_path / "h.sqlite3"))
        clock = [1_800_000_000.0]
        collector = SloCollector(store, selectors=selectors, clock=lambda: clock[0])
        api = await collector.api_for(handle.name, handle.target)  # type: ignore[arg-type]
        for minute in range(3):
            exporter.apply(
                minute,
                [
                    Requests(
                        CHECKOUT,
                        [("GET", "200", 50 + minute), ("GET", "503", minute)],
                        spread(0.02, 0.3),
                    ),
                    Requests(HOME, [("GET", "200", 30)], spread(0.02, 0.3)),
                    Requests(ORDERS, [("GET", "200", 20), ("GET", "500", 2)], spread(0.1, 1.0)),
                ],
            )
            await collector.collect(handle.name, handle.state, api)
            clock[0] += 60
        await api.aclose()
        await trio.to_thread.run_sync(store.flush)
        stored = await trio.to_thread.run_sync(
            lambda: store.slo_traffic(handle.name, 1_800_000_000.0 - 60, clock[0])
        )
        await trio.to_thread.run_sync(store.close)
        by_target = {(w.slo, w.window_start): w for w in stored}
        second = 1_800_000_000.0 // 60 * 60 + 60
        assert dict(by_target[("shop.example.com/checkout", second)].statuses) == {
            "200": 51,
            "503": 1,
        }
        assert by_target[("shop.example.com/", second)].total == 30
        assert dict(by_target[("api.example.com/orders", second)].statuses) == {"200": 20, "500": 2}
        assert {slo for slo, _ in by_target} == {
            "shop.example.com/checkout",
            "shop.example.com/",
            "api.example.com/orders",
        }
    finally:
        exporter.stop()
        # Leave no controller behind for the session's other tests (their hubs would
        # find it and try to read it).
        for namespace in ("ingress-nginx", "traefik"):
            await kubectl(
                kube_cluster,
                "delete",
                "pods",
                "--all",
                "-n",
                namespace,
                "--grace-period=0",
                "--force",
                "--ignore-not-found",
            )
        await kubectl(
            kube_cluster,
            "delete",
            "namespace",
            "shop",
            "ingress-nginx",
            "traefik",
            "--wait=false",
            "--ignore-not-found",
        )
