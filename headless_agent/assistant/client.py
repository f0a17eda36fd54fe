"""A client for the OpenAI-compatible chat-completions API: one streamed request at a time.

``POST {base_url}/chat/completions`` with ``stream: true``; the answer comes back as
server-sent events (``data: {...}`` lines, ``data: [DONE]`` at the end), each carrying a
fragment of the text or of a tool call. Hosted providers and local servers (Ollama, vLLM,
llama.cpp) speak the same format; a server that ignores ``stream`` and answers with one
JSON object is read as well. Usage (tokens) comes from the ``usage`` field the server
sends when asked for it (``stream_options.include_usage``); a server that never sends it
is charged an estimate (4 characters a token), so the daily budget still holds.

The API key goes in the ``Authorization`` header and nowhere else: not in a log line,
not in an error message.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from headless_agent import i18n

log = logging.getLogger(__name__)


class AssistantError(Exception):
    """The assistant cannot answer; says why as a catalog message (``said``)."""

    def __init__(self, message_id: str, **params: Any) -> None:
        super().__init__(i18n.english(message_id, **params))
        self.message_id = message_id
        self.params = params

    def said(self) -> i18n.Message:
        return (self.message_id, self.params)


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    #: the arguments as the model wrote them (JSON text, maybe broken)
    arguments: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }


@dataclass(frozen=True, slots=True)
class Reply:
    content: str
    tool_calls: tuple[ToolCall, ...]
    #: tokens this request cost (from the server's usage, else an estimate)
    tokens: int
    finish_reason: str = ""


@dataclass
class _Assembly:
    """Fragments of one streamed answer, put together."""

    text: list[str] = field(default_factory=list)
    calls: dict[int, dict[str, str]] = field(default_factory=dict)
    tokens: int | None = None
    finish_reason: str = ""

    def take(self, chunk: Mapping[str, Any], on_text: Callable[[str], None]) -> None:
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self.tokens = _usage_tokens(usage)
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict):
                continue
            if choice.get("finish_reason"):
                self.finish_reason = str(choice["finish_reason"])
            delta = choice.get("delta") or choice.get("message") or {}
            if not isinstance(delta, dict):
                continue
            content = delta.get("content")
            if isinstance(content, str) and content:
                self.text.append(content)
                on_text(content)
            for position, call in enumerate(delta.get("tool_calls") or ()):
                if not isinstance(call, dict):
                    continue
                index = call.get("index", position)
                slot = self.calls.setdefault(
                    int(index) if isinstance(index, int) else position,
                    {"id": "", "name": "", "arguments": ""},
                )
                if call.get("id"):
                    slot["id"] = str(call["id"])
                function = call.get("function") or {}
                if isinstance(function, dict):
                    if function.get("name"):
                        slot["name"] += str(function["name"])
                    arguments = function.get("arguments")
                    if isinstance(arguments, str):
                        slot["arguments"] += arguments
                    elif isinstance(arguments, dict):  # some local servers send an object
                        slot["arguments"] += json.dumps(arguments)

    def reply(self, sent_chars: int) -> Reply:
        content = "".join(self.text)
        calls = tuple(
            ToolCall(slot["id"] or f"call_{index}", slot["name"], slot["arguments"] or "{}")
            for index, slot in sorted(self.calls.items())
        )
        tokens = self.tokens
        if tokens is None:
            received = len(content) + sum(len(c.arguments) for c in calls)
            tokens = (sent_chars + received) // 4 + 1
        return Reply(content, calls, tokens, self.finish_reason)


def _usage_tokens(usage: Mapping[str, Any]) -> int:
    total = usage.get("total_tokens")
    if isinstance(total, int):
        return total
    parts = (usage.get("prompt_tokens"), usage.get("completion_tokens"))
    return sum(p for p in parts if isinstance(p, int))


class ChatClient:
    """Streamed chat completions from one endpoint and model."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str = "",
        *,
        read_timeout: float = 120.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        headers = {"Accept": "text/event-stream"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._client = httpx.AsyncClient(
            headers=headers,
            timeout=httpx.Timeout(read_timeout, connect=10.0),
            transport=transport,
        )

    @property
    def url(self) -> str:
        return f"{self.base_url}/chat/completions"

    async def aclose(self) -> None:
        await self._client.aclose()

    async def complete(
        self,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]],
        on_text: Callable[[str], None],
    ) -> Reply:
        """One request; text fragments go to ``on_text`` as they arrive.

        Raises AssistantError: unreachable endpoint, an HTTP error, an unreadable answer.
        """
        body: dict[str, Any] = {
            "model": self.model,
            "messages": list(messages),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if tools:
            body["tools"] = list(tools)
            body["tool_choice"] = "auto"
        payload = json.dumps(body, ensure_ascii=False)
        assembly = _Assembly()
        try:
            async with self._client.stream(
                "POST",
                self.url,
                content=payload.encode(),
                headers={"Content-Type": "application/json"},
            ) as response:
                if response.status_code != 200:
                    text = (await response.aread()).decode("utf-8", "replace")
                    raise AssistantError(
                        "assistant.error.http",
                        url=self.url,
                        status=response.status_code,
                        detail=_error_detail(text),
                    )
                kind = response.headers.get("content-type", "")
                if "application/json" in kind:  # a server that does not stream
                    assembly.take(json.loads(await response.aread()), on_text)
                else:
                    async for line in response.aiter_lines():
                        if not line.startswith("data:"):
                            continue  # comments, event names, keep-alives, blank lines
                        data = line[5:].strip()
                        if data == "[DONE]":
                            break
                        if data:
                            chunk = json.loads(data)
                            if isinstance(chunk, dict):
                                if "error" in chunk:
                                    raise AssistantError(
                                        "assistant.error.http",
                                        url=self.url,
                                        status=response.status_code,
                                        detail=_error_detail(data),
                                    )
                                assembly.take(chunk, on_text)
        except httpx.TimeoutException:
            raise AssistantError(
                "assistant.error.unreachable", url=self.url, detail="timed out"
            ) from None
        except httpx.TransportError as error:
            detail = type(error).__name__ + (f": {error}" if str(error) else "")
            raise AssistantError(
                "assistant.error.unreachable", url=self.url, detail=detail
            ) from None
        except ValueError as error:  # JSON that is not
            raise AssistantError("assistant.error.bad_answer", detail=str(error)[:200]) from None
        return assembly.reply(len(payload))


def _error_detail(text: str) -> str:
    """The server's own words about an error (its JSON ``error.message`` if it has one)."""
    try:
        data = json.loads(text)
    except ValueError:
        return text.strip()[:300]
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])[:300]
        if isinstance(error, str):
            return error[:300]
    return text.strip()[:300]
