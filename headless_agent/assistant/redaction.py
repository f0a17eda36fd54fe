"""What the model may see: redacted and bounded.

Values under credential-like names are replaced by the audit log's own rule
(``store.audit.redact``: token, password, secret, api key, authorization, cookie …), and so
are values under environment-like names (``env``, ``environment``, a Secret's ``data``).
Free text (logs, event and condition messages) gets the same rule applied to its
``name=value`` and ``name: value`` pairs. The records the tools read carry no environment
variables, annotations or Secret data in the first place (``state.records``); this is the
second line, for what a label, a message or a log line might hold.

Every tool result is bounded: lists are cut until their JSON fits, text is cut from the
start (the tail of a log is what matters), and a result says when it was cut.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from headless_agent.store.audit import REDACTED, redact

_ENV_NAMES = frozenset({"env", "envfrom", "environment", "data", "stringdata"})
_NAME = re.compile(r"""(?P<name>[A-Za-z_][\w.\-]*)["']?\s*[=:]\s*""")
_VALUE = re.compile(r"""(?:(?i:bearer|basic)\s+)?(?:\"[^\"]*\"|'[^']*'|[^\s,;&]+)""")


def redact_value(value: Any) -> Any:
    """``value`` with every secret- or environment-like entry replaced, at any depth."""
    if isinstance(value, Mapping):
        cleaned = redact({str(k): v for k, v in value.items()})
        return {
            k: REDACTED if k.lower().replace("_", "") in _ENV_NAMES else redact_value(v)
            for k, v in cleaned.items()
        }
    if isinstance(value, list | tuple):
        return [redact_value(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def redact_text(text: str) -> str:
    """Free text with the values of credential-like ``name=value`` pairs replaced."""
    pieces, done = [], 0
    for match in _NAME.finditer(text):
        name = match.group("name")
        if match.start() < done or redact({name: "x"})[name] != REDACTED:
            continue
        value = _VALUE.match(text, match.end())
        if value is None:
            continue
        pieces += [text[done : match.end()], REDACTED]
        done = value.end()
    pieces.append(text[done:])
    return "".join(pieces)


def bounded(result: Mapping[str, Any], limit: int) -> str:
    """``result`` as JSON of at most ``limit`` characters (lists and text cut to fit)."""
    data = dict(result)
    text = json.dumps(data, ensure_ascii=False, default=str)
    if len(text) <= limit:
        return text
    for key in ("items", "points", "episodes", "events"):
        items = data.get(key)
        if isinstance(items, list) and items:
            total = len(items)
            while len(text) > limit and items:
                items = items[: len(items) // 2]
                data[key] = items
                data["truncated"] = f"showing {len(items)} of {total}"
                text = json.dumps(data, ensure_ascii=False, default=str)
    body = data.get("text")
    if len(text) > limit and isinstance(body, str):
        overflow = len(text) - limit + 60
        data["text"] = body[overflow:] if overflow < len(body) else ""
        data["truncated"] = "only the last part of the text is shown"
        text = json.dumps(data, ensure_ascii=False, default=str)
    if len(text) > limit:
        return json.dumps({"truncated": "result too large", "start": text[: limit - 80]})[:limit]
    return text
