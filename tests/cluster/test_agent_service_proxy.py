"""Reaching the agent through the API server's service proxy, with the user's own
kubeconfig credentials (no port-forward, no Ingress): the API server authenticates the
user and strips their credentials; the agent's token travels in its own header."""

from __future__ import annotations

import json
import socket

import pytest
import trio

from headless_agent.agent.client import AgentTarget
from headless_agent.hub import ClusterHandle, Hub
from headless_agent.kube.cluster_source import KubeTarget
from headless_agent.kube.kubeconfig import load_kubeconfigs
from tests.agent.conftest import VIEWER, serve_agent
from tests.cluster.engine_helpers import context_name, kubectl, wait_for
from tests.kubeharness.cluster import KwokCluster

pytestmark = pytest.mark.cluster


def _host_address() -> str:
    """This machine's address on its network (the API server will not proxy to loopback)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.254", 9))  # no packet is sent: this only picks a route
        return str(probe.getsockname()[0])


def _pods(handle: ClusterHandle) -> set[tuple[str, str]]:
    return {(p.namespace, p.name) for p in handle.state.records("Pod")}


async def test_a_hub_reaches_the_agent_through_the_api_server(
    kube_cluster: KwokCluster, nursery: trio.Nursery
) -> None:
    address = _host_address()
    source = Hub()
    await nursery.start(source.run)
    demo = next(h for h in source.watch_demo(speed=1) if h.name == "demo-staging")
    agent = await serve_agent(nursery, source, demo, host=address)
    port = int(agent.url.rsplit(":", 1)[1])
    # The agent's Service, with this test's agent as its endpoint. The API server proxies
    # only to an endpoint that is a pod with that IP: a pod stands in for the agent's
    # (bound to no node, so nothing else touches its status).
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "atlhyper-agent-0", "namespace": "atlhyper"},
        "spec": {"nodeName": "no-such-node", "containers": [{"name": "agent", "image": "x"}]},
    }
    await trio.to_thread.run_sync(
        lambda: kube_cluster.apply(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "atlhyper"}}, pod
        )
    )
    status = {"status": {"podIP": address, "podIPs": [{"ip": address}], "phase": "Running"}}
    await kubectl(
        kube_cluster,
        "patch", "pod", "atlhyper-agent-0", "-n", "atlhyper", "--subresource=status",
        "--type=merge", "-p", json.dumps(status),
    )  # fmt: skip
    await trio.to_thread.run_sync(
        lambda: kube_cluster.apply(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "atlhyper-agent", "namespace": "atlhyper"},
                "spec": {"ports": [{"name": "https", "port": 8443, "targetPort": port}]},
            },
            {
                "apiVersion": "v1",
                "kind": "Endpoints",
                "metadata": {"name": "atlhyper-agent", "namespace": "atlhyper"},
                "subsets": [
                    {
                        "addresses": [
                            {
                                "ip": address,
                                "targetRef": {
                                    "kind": "Pod",
                                    "name": "atlhyper-agent-0",
                                    "namespace": "atlhyper",
                                },
                            }
                        ],
                        "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
                    }
                ],
            },
        )
    )
    kubeconfigs = load_kubeconfigs([kube_cluster.kubeconfig])
    through = KubeTarget(kubeconfigs, context_name(kube_cluster))
    hub = Hub()
    await nursery.start(hub.run)
    relayed = hub.watch_agent(
        "staging-via-api-server", AgentTarget.via_api_server(through, VIEWER, scheme="http")
    )
    await wait_for(
        lambda: relayed.health.snapshot.state.value == "synced",
        30,
        f"synced through the API server ({relayed.health.snapshot})",
    )
    await wait_for(lambda: _pods(relayed) == _pods(demo), 20, "the same pods")

    # A wrong agent token is refused by the agent, with its words, through the proxy.
    refused = hub.watch_agent(
        "wrong-token", AgentTarget.via_api_server(through, "w" * 24, scheme="http")
    )
    await wait_for(
        lambda: "bearer token is required" in (refused.health.snapshot.last_error or ""),
        30,
        f"the agent's refusal ({refused.health.snapshot})",
    )
    assert refused.health.snapshot.state.value == "offline"
    nursery.cancel_scope.cancel()
