"""The assistant against a scripted OpenAI-compatible server on loopback: the tool-call loop
over the demo fleet's real state and history, the wire format, round and token limits,
the timeout, an unreachable endpoint, redaction on the wire, proposals, audit, storage."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import trio

from headless_agent import i18n
from headless_agent.assistant import (
    Assistant,
    AssistantError,
    AssistantSettings,
    Proposed,
    TextDelta,
    ToolUsed,
)
from headless_agent.assistant.conversation import AssistantEvent
from headless_agent.hub import ClusterHandle, Hub
from headless_agent.kube.health import ClusterHealth
from headless_agent.ops.runner import Operations
from headless_agent.state.cluster_state import ClusterState
from headless_agent.state.records import PodRecord
from headless_agent.store import HistoryStore
from tests.alerts.receivers import free_port
from tests.assistant.scripted_model import ScriptedModel, Turn, call, say
from tests.cluster.engine_helpers import wait_for

CLUSTER = "demo-prod-eu"


@pytest.fixture
async def demo(nursery: trio.Nursery, tmp_path: Path) -> AsyncIterator[Hub]:
    hub = Hub(history=HistoryStore.open(tmp_path / "h.sqlite3", start=False))
    await nursery.start(hub.run)
    handles = hub.watch_demo(speed=20)
    with trio.fail_after(20):
        for handle in handles:
            await handle.first_sync.wait()
    # the crash loop the demo plays first
    await wait_for(hub.clusters[CLUSTER].detector.open_anomalies, 20, "the demo's crash loop")
    yield hub


async def _model(nursery: trio.Nursery, *script: Turn, then: Turn | None = None) -> ScriptedModel:
    model = ScriptedModel(list(script), then=then)
    await model.start(nursery)
    return model


def _assistant(hub: Hub, model: ScriptedModel, **limits: Any) -> Assistant:
    settings = AssistantSettings(base_url=model.url, model="scripted-1", **limits)
    return Assistant(hub, settings, api_key="sk-test-key-1234", ops=Operations(hub))


def _tool_results(request: dict[str, Any]) -> list[dict[str, Any]]:
    return [json.loads(m["content"]) for m in request["messages"] if m["role"] == "tool"]


async def test_a_question_is_answered_from_the_demo_fleets_state_and_history(
    demo: Hub, nursery: trio.Nursery
) -> None:
    hub = demo
    checkout = sorted(
        p.name
        for p in hub.clusters[CLUSTER].state.records("Pod")
        if isinstance(p, PodRecord) and p.name.startswith("checkout")
    )

    def describe_the_first_pod(body: dict[str, Any]) -> Turn:
        listed = _tool_results(body)[-1]
        return call(
            "describe_object", kind="Pod", namespace="shop", name=listed["items"][0]["name"]
        )

    model = await _model(
        nursery,
        call("list_objects", kind="Pod", namespace="shop", name_contains="checkout"),
        describe_the_first_pod,
        call("open_anomalies"),
        call("node_metrics", hours=1),
        call("anomaly_timeline", hours=2),
        say("checkout is crash-looping: its containers exit and restart."),
    )
    assistant = _assistant(hub, model)
    conversation = assistant.new_conversation(CLUSTER)
    events: list[AssistantEvent] = []
    answer = await assistant.ask(conversation, "Why is checkout crash-looping?", events.append)

    assert model.problems == []
    assert answer.text == "checkout is crash-looping: its containers exit and restart."
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == answer.text
    assert answer.rounds == 5 and answer.tokens == 600 and answer.stopped is None
    requests = model.requests
    assert len(requests) == 6
    first = requests[0]
    assert first["model"] == "scripted-1" and first["stream"] is True
    assert {t["function"]["name"] for t in first["tools"]} >= {
        "list_objects",
        "describe_object",
        "list_events",
        "open_anomalies",
        "anomaly_timeline",
        "node_metrics",
        "pod_restarts",
        "slo_status",
        "container_logs",
        "propose_operation",
    }
    assert "Answer in English" in first["messages"][0]["content"].replace("Always answer", "Answer")
    assert first["messages"][1] == {"role": "user", "content": "Why is checkout crash-looping?"}
    assert model.headers[0]["authorization"] == "Bearer sk-test-key-1234"

    # What the tools sent back is the live state and the stored history.
    listed, described, anomalies, metrics, timeline = _tool_results(requests[-1])
    assert [row["name"] for row in listed["items"]] == checkout
    assert described["object"]["name"] == checkout[0]
    assert described["object"]["containers"][0]["name"]
    assert any(a["name"] == "checkout" for a in anomalies["items"])
    assert metrics["items"] and {"node", "metric", "avg", "points"} <= set(metrics["items"][0])
    assert any(e["name"] == "checkout" for e in timeline["episodes"])
    assert [e.name for e in events if isinstance(e, ToolUsed)] == [
        "list_objects",
        "describe_object",
        "open_anomalies",
        "node_metrics",
        "anomaly_timeline",
    ]

    # Every tool call is in the audit log; the conversation is in the history.
    store = hub.history
    assert store is not None
    await trio.to_thread.run_sync(store.flush)
    entries = store.audit_log(0, 2e10, action="assistant-tool")
    assert len(entries) == 5 and all(e.outcome == "succeeded" for e in entries)
    assert entries[0].parameters["tool"] == "list_objects" and entries[0].via == "assistant"
    assert store.verify_audit().ok
    [stored] = store.conversations()
    assert stored.key == conversation.key and stored.cluster == CLUSTER
    messages = store.conversation_messages(conversation.key)
    assert [m.role for m in messages] == ["user"] + ["assistant", "tool"] * 5 + ["assistant"]
    assert sum(m.tokens for m in messages) == 600
    await assistant.aclose()


async def test_the_answer_is_in_the_ui_language_and_a_conversation_continues(
    demo: Hub, nursery: trio.Nursery
) -> None:
    model = await _model(nursery, say("结账服务正在崩溃循环。"), say("是的。"))
    assistant = _assistant(demo, model)
    assistant.language = "zh"
    conversation = assistant.new_conversation(CLUSTER)
    await assistant.ask(conversation, "checkout 怎么了?")
    await assistant.ask(conversation, "确定吗?")
    second = model.requests[1]["messages"]
    assert "Simplified Chinese" in second[0]["content"]
    assert [m["role"] for m in second] == ["system", "user", "assistant", "user"]
    assert second[2]["content"] == "结账服务正在崩溃循环。"
    assert model.problems == []


async def test_tool_rounds_are_limited_and_the_conversation_stays_valid(
    demo: Hub, nursery: trio.Nursery
) -> None:
    # A model that never stops calling tools.
    model = await _model(nursery, then=call("list_clusters"))
    assistant = _assistant(demo, model, max_rounds=3)
    conversation = assistant.new_conversation(CLUSTER)
    answer = await assistant.ask(conversation, "What is going on?")
    assert answer.rounds == 3 and len(model.requests) == 4
    assert answer.stopped == ("assistant.stopped.rounds", {"count": 3})
    assert "3" in i18n.render("en", answer.stopped)
    # The next question is sent with every call answered.
    model.then = say("All quiet.")
    assert (await assistant.ask(conversation, "And now?")).text == "All quiet."
    assert model.problems == []


async def test_the_daily_token_budget_holds_across_restarts(
    demo: Hub, nursery: trio.Nursery
) -> None:
    model = await _model(
        nursery, call("list_clusters", tokens=600), say("Two clusters.", tokens=600)
    )
    assistant = _assistant(demo, model, tokens_per_day=1000)
    conversation = assistant.new_conversation(CLUSTER)
    await assistant.ask(conversation, "How many clusters?")
    assert await assistant.tokens_used_today() == 1200
    with pytest.raises(AssistantError) as refused:
        await assistant.ask(conversation, "And nodes?")
    assert refused.value.message_id == "assistant.error.budget"
    assert len(model.requests) == 2  # refused before anything was sent
    # Counted from the history file: a new assistant (a restarted app) knows it too.
    again = _assistant(demo, model, tokens_per_day=1000)
    with pytest.raises(AssistantError, match="budget"):
        await again.ask(again.new_conversation(CLUSTER), "Anything?")
    roomier = _assistant(demo, model, tokens_per_day=5000)
    assert await roomier.tokens_used_today() == 1200


async def test_a_budget_spent_during_an_answer_stops_it(demo: Hub, nursery: trio.Nursery) -> None:
    model = await _model(nursery, then=call("list_clusters", tokens=700))
    assistant = _assistant(demo, model, tokens_per_day=1000)
    conversation = assistant.new_conversation(CLUSTER)
    with pytest.raises(AssistantError, match="budget"):
        await assistant.ask(conversation, "Go on and on")
    assert len(model.requests) == 2  # 700, 1400: the third is not sent
    assert conversation.messages == [{"role": "user", "content": "Go on and on"}]


async def test_an_unreachable_endpoint_and_a_slow_one_say_so(
    demo: Hub, nursery: trio.Nursery
) -> None:
    settings = AssistantSettings(base_url=f"http://127.0.0.1:{free_port()}/v1", model="m")
    assistant = Assistant(demo, settings)
    with pytest.raises(AssistantError) as unreachable:
        await assistant.ask(assistant.new_conversation(CLUSTER), "hello?")
    assert unreachable.value.message_id == "assistant.error.unreachable"
    assert "127.0.0.1" in i18n.render("ja", unreachable.value.said())

    slow = ScriptedModel([say("late")], delay=8)
    await slow.start(nursery)
    late = Assistant(demo, AssistantSettings(base_url=slow.url, model="m", timeout=5))
    with trio.fail_after(7):
        with pytest.raises(AssistantError) as timed_out:
            await late.ask(late.new_conversation(CLUSTER), "hello?")
    assert timed_out.value.message_id == "assistant.error.timeout"

    off = Assistant(demo, AssistantSettings())
    with pytest.raises(AssistantError) as not_configured:
        await off.ask(off.new_conversation(CLUSTER), "hello?")
    assert not_configured.value.message_id == "assistant.error.not_configured"


SECRET_POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {
        "name": "vault-client",
        "namespace": "shop",
        "uid": "u-1",
        "labels": {"app": "vault-client", "session-token": "label-secret-value"},
        "annotations": {"example.com/api-key": "annotation-secret-value"},
    },
    "spec": {
        "nodeName": "n1",
        "containers": [
            {
                "name": "main",
                "image": "vault:1",
                "env": [
                    {"name": "DB_PASSWORD", "value": "env-secret-value"},
                    {"name": "PLAIN", "value": "env-plain-value"},
                ],
            }
        ],
    },
    "status": {
        "phase": "Running",
        "containerStatuses": [
            {
                "name": "main",
                "image": "vault:1",
                "ready": False,
                "restartCount": 2,
                "state": {
                    "terminated": {
                        "reason": "Error",
                        "exitCode": 1,
                        "message": "login failed: password=message-secret-value user=app",
                    }
                },
            }
        ],
    },
}


async def test_secret_values_never_reach_the_wire(nursery: trio.Nursery) -> None:
    hub = Hub()
    await nursery.start(hub.run)

    async def source(state: ClusterState, health: ClusterHealth) -> None:
        state.replace("Pod", [SECRET_POD])
        await trio.sleep_forever()

    hub.add_cluster("lab", "demo", source)
    model = await _model(
        nursery,
        call("describe_object", kind="Pod", namespace="shop", name="vault-client"),
        call("list_objects", kind="Pod"),
        say("The container cannot log in."),
    )
    await wait_for(lambda: hub.clusters["lab"].state.get("Pod", "shop", "vault-client"), 5)
    assistant = _assistant(hub, model)
    await assistant.ask(assistant.new_conversation("lab"), "Why does vault-client fail?")
    wire = model.wire
    assert "vault-client" in wire and "login failed" in wire  # the facts went out
    for value in (
        "label-secret-value",
        "annotation-secret-value",
        "env-secret-value",
        "env-plain-value",
        "message-secret-value",
    ):
        assert value not in wire
    assert "sk-test-key-1234" not in wire  # the key goes in the header only


async def test_a_proposal_needs_the_users_request_and_never_runs(
    demo: Hub, nursery: trio.Nursery
) -> None:
    hub = demo
    handle: ClusterHandle = hub.clusters[CLUSTER]
    pod = sorted(p.name for p in handle.state.records("Pod") if p.name.startswith("checkout"))[0]

    def propose(action: str, name: str = pod) -> Turn:
        return call(
            "propose_operation", action=action, kind="Pod", namespace="shop", name=name, reason="r"
        )

    model = await _model(
        nursery,
        # Asked only why: the model proposes anyway — refused.
        propose("restart-pod"),
        say("It crashes."),
        # Asked to restart that pod: proposed (but something else is refused).
        propose("delete-pod"),
        propose("restart-pod"),
        propose("exec"),
        propose("restart-pod", "ghost"),
        say("Review the restart."),
    )
    assistant = _assistant(hub, model, max_rounds=10)
    conversation = assistant.new_conversation(CLUSTER)
    events: list[AssistantEvent] = []
    why = await assistant.ask(conversation, f"Why does {pod} crash?", events.append)
    assert why.proposals == () and not any(isinstance(e, Proposed) for e in events)
    assert "did not ask" in _tool_results(model.requests[1])[-1]["refused"]

    restart = await assistant.ask(conversation, f"Please restart pod {pod}.", events.append)
    [proposal] = restart.proposals
    assert proposal.command.action == "restart-pod" and proposal.command.name == pod
    assert proposal.cluster == CLUSTER
    assert [e.proposal for e in events if isinstance(e, Proposed)] == [proposal]
    refusals = [r.get("refused", "") for r in _tool_results(model.requests[-1])]
    assert "did not ask" in refusals[-4]  # delete: not asked for
    assert "cannot be proposed" in refusals[-2]  # exec
    assert "no Pod shop/ghost" in refusals[-1]

    store = hub.history
    assert store is not None
    await trio.to_thread.run_sync(store.flush)
    entries = store.audit_log(0, 2e10, action="assistant-proposal")
    assert [e.outcome for e in entries] == ["refused", "refused", "succeeded", "refused", "refused"]
    # Nothing ran: the only audit entries are the assistant's own.
    assert {e.action for e in store.audit_log(0, 2e10)} == {"assistant-proposal"}
    assert model.problems == []
