"""Commands and outcomes as they cross the hub–agent wire: any JSON gives a command or a
clear CommandError, never a crash; what goes out comes back the same."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headless_agent import i18n
from headless_agent.kube.errors import status_error
from headless_agent.ops.commands import ACTIONS, Command, CommandError, Outcome

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
_command = st.fixed_dictionaries(
    {},
    optional={
        "action": st.sampled_from(sorted(ACTIONS)) | _json,
        "kind": st.sampled_from(["Pod", "Node", "Deployment", "Secret"]) | _json,
        "namespace": st.text(max_size=10) | _json,
        "name": st.text(max_size=10) | _json,
        "key": st.text(max_size=200) | _json,
        "params": st.dictionaries(st.text(max_size=8), _json, max_size=3) | _json,
        "confirm_protected": st.booleans() | _json,
    },
)


@settings(max_examples=500)
@given(document=_command | _json)
def test_any_document_is_a_command_or_a_clear_refusal(document: Any) -> None:
    try:
        command = Command.from_json(document)
    except CommandError as error:
        assert str(error)
        return
    command.check()  # accepted means well-formed
    assert Command.from_json(command.to_json()) == command


def test_an_outcome_survives_the_trip() -> None:
    outcome = Outcome(
        "k", False, "it no longer exists", "failed", "not-found", {"x": [1]}, 0.5, "u"
    )
    assert Outcome.from_json(outcome.to_json()) == outcome
    said = Outcome.saying(
        "k2", True, ("operation.scaled", {"target": "Deployment a/b", "was": "2", "count": 4})
    )
    assert Outcome.from_json(json.loads(json.dumps(said.to_json()))) == said


def test_a_hub_renders_an_agents_outcome_in_its_own_language() -> None:
    """The wire carries the English words for API clients and the id for hubs."""
    forbidden = status_error(403, {"message": 'User "looker" cannot patch deployments'})
    outcome = Outcome.saying("k", False, forbidden.said(), "failed", forbidden.category)
    wire = json.loads(json.dumps(outcome.to_json()))
    assert wire["message"] == (
        'the cluster does not allow this: User "looker" cannot patch deployments'
    )
    assert wire["message_id"] == "error.forbidden"
    arrived = Outcome.from_json(wire)
    assert arrived.text("ja") == i18n.message("ja", "error.forbidden", detail=forbidden.message)
    assert 'User "looker" cannot patch deployments' in arrived.text("zh")
    assert arrived.text("zh") != arrived.message
    # An older agent sends only English; a newer one may send an id this hub lacks.
    older = Outcome.from_json({k: v for k, v in wire.items() if k not in ("message_id", "params")})
    assert older.text("ja") == wire["message"]
    newer = Outcome.from_json({**wire, "message_id": "operation.from_the_future"})
    assert newer.text("zh") == wire["message"]


def test_refusals_say_in_english_and_render_in_any_language() -> None:
    with pytest.raises(CommandError) as caught:
        Command("scale", "Pod", "shop", "web").check()
    assert str(caught.value) == "scale applies to Deployment, ReplicaSet, StatefulSet, not Pod"
    message_id, params = caught.value.said()
    assert "Pod" in i18n.message("ja", message_id, **params)
    assert re.search(r"[\u4e00-\u9fff]", i18n.message("zh", message_id, **params))
