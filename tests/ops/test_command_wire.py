"""Commands and outcomes as they cross the hub–agent wire: any JSON gives a command or a
clear CommandError, never a crash; what goes out comes back the same."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

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
