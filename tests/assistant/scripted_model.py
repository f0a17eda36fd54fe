"""A scripted OpenAI-compatible chat-completions server on loopback (Starlette + Hypercorn).

It answers each request with the next turn of its script — words, streamed in pieces, or
tool calls, their arguments streamed in fragments — as server-sent events in the format
hosted providers send, with a ``usage`` chunk at the end. It keeps every request body as
it came off the wire, and checks its shape: what a real server would refuse is listed in
``problems`` (a test asserts the list is empty).
"""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import trio
from hypercorn.config import Config
from hypercorn.trio import serve
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


@dataclass
class Turn:
    """One answer: ``text`` (streamed in pieces), or ``calls``: (tool, arguments) pairs."""

    text: str = ""
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    tokens: int = 100


def say(text: str, tokens: int = 100) -> Turn:
    return Turn(text=text, tokens=tokens)


def call(tool: str, /, *, tokens: int = 100, **arguments: Any) -> Turn:
    return Turn(calls=[(tool, arguments)], tokens=tokens)


Script = list[Turn | Callable[[dict[str, Any]], Turn]]


@dataclass
class ScriptedModel:
    script: Script = field(default_factory=list)
    #: the turn played once the script is over (None: an error answer)
    then: Turn | None = None
    bodies: list[bytes] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    #: seconds to wait before answering (a slow model)
    delay: float = 0.0
    url: str = ""
    _cancel: trio.CancelScope | None = None
    _token: trio.lowlevel.TrioToken | None = None
    _thread: threading.Thread | None = None

    @property
    def requests(self) -> list[dict[str, Any]]:
        return [json.loads(b) for b in self.bodies]

    @property
    def wire(self) -> str:
        """Every request body, as text: what left the app."""
        return "\n".join(b.decode() for b in self.bodies)

    def _check(self, body: Any) -> None:
        if not isinstance(body, dict):
            self.problems.append("the body is not a JSON object")
            return
        if not isinstance(body.get("model"), str) or not body["model"]:
            self.problems.append("no model")
        if body.get("stream") is not True:
            self.problems.append(f"stream is {body.get('stream')!r}, not true")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            self.problems.append("no messages")
            return
        if messages[0].get("role") != "system":
            self.problems.append("the first message is not the system prompt")
        answered: set[str] = set()
        for message in messages:
            role = message.get("role")
            if role not in ("system", "user", "assistant", "tool"):
                self.problems.append(f"unknown role {role!r}")
            if role == "assistant":
                for tool_call in message.get("tool_calls") or ():
                    function = tool_call.get("function", {})
                    if tool_call.get("type") != "function" or not isinstance(
                        function.get("arguments"), str
                    ):
                        self.problems.append(f"malformed tool call {tool_call}")
                    answered.add(tool_call["id"])
            if role == "tool":
                if message.get("tool_call_id") not in answered:
                    self.problems.append(f"a tool result for no call: {message}")
                if not isinstance(message.get("content"), str):
                    self.problems.append("a tool result that is not text")
        for message in messages:  # every call answered (else the API refuses)
            for tool_call in message.get("tool_calls") or ():
                if not any(m.get("tool_call_id") == tool_call["id"] for m in messages):
                    self.problems.append(f"call {tool_call['id']} has no result")
        for tool in body.get("tools") or ():
            function = tool.get("function", {})
            parameters = function.get("parameters", {})
            if tool.get("type") != "function" or not function.get("name"):
                self.problems.append(f"malformed tool {tool}")
            if parameters.get("type") != "object":
                self.problems.append(f"tool {function.get('name')} parameters are not an object")

    def _next(self, body: dict[str, Any]) -> Turn | None:
        index = len(self.bodies) - 1
        if index < len(self.script):
            turn = self.script[index]
            return turn(body) if callable(turn) else turn
        return self.then

    async def _answer(self, request: Request) -> Response:
        raw = await request.body()
        self.bodies.append(raw)
        self.headers.append(dict(request.headers))
        try:
            body = json.loads(raw)
        except ValueError:
            self.problems.append("the body is not JSON")
            return JSONResponse({"error": {"message": "bad JSON"}}, 400)
        self._check(body)
        if self.delay:
            await trio.sleep(self.delay)
        try:
            turn = self._next(body)
        except Exception as error:  # a broken script: say what broke
            self.problems.append(f"the script failed: {error!r}")
            return JSONResponse({"error": {"message": repr(error)}}, 500)
        if turn is None:
            return JSONResponse({"error": {"message": "the script is over"}}, 500)
        number = len(self.bodies)
        return StreamingResponse(_events(turn, number), media_type="text/event-stream")

    async def start(self, nursery: trio.Nursery) -> str:
        app = Starlette(routes=[Route("/v1/chat/completions", self._answer, methods=["POST"])])
        config = Config()
        config.bind = ["127.0.0.1:0"]
        config.accesslog = None
        [address] = await nursery.start(serve, app, config)
        self.url = f"{address}/v1"
        return self.url

    # --- for GUI tests, whose trio loop belongs to the app -----------------------------------

    def start_in_thread(self) -> str:
        ready = threading.Event()

        async def main() -> None:
            async with trio.open_nursery() as nursery:
                self._cancel = nursery.cancel_scope
                self._token = trio.lowlevel.current_trio_token()
                await self.start(nursery)
                ready.set()

        self._thread = threading.Thread(target=lambda: trio.run(main), daemon=True)
        self._thread.start()
        if not ready.wait(20):
            raise RuntimeError("the scripted model did not start")
        return self.url

    def stop_thread(self) -> None:
        if self._cancel is not None and self._token is not None:
            trio.from_thread.run_sync(self._cancel.cancel, trio_token=self._token)
        if self._thread is not None:
            self._thread.join(10)


def _chunk(number: int, delta: dict[str, Any], finish: str | None = None) -> str:
    data = {
        "id": f"chatcmpl-{number}",
        "object": "chat.completion.chunk",
        "model": "scripted",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(data)}\n\n"


async def _events(turn: Turn, number: int) -> AsyncIterator[str]:
    yield _chunk(number, {"role": "assistant", "content": ""})
    if turn.calls:
        for index, (name, arguments) in enumerate(turn.calls):
            text = json.dumps(arguments)
            half = len(text) // 2
            first = {
                "index": index,
                "id": f"call_{number}_{index}",
                "type": "function",
                "function": {"name": name, "arguments": text[:half]},
            }
            yield _chunk(number, {"tool_calls": [first]})
            rest = {"index": index, "function": {"arguments": text[half:]}}
            yield _chunk(number, {"tool_calls": [rest]})
        yield _chunk(number, {}, "tool_calls")
    else:
        half = len(turn.text) // 2
        for piece in (turn.text[:half], turn.text[half:]):
            yield _chunk(number, {"content": piece})
            await trio.sleep(0.01)
        yield _chunk(number, {}, "stop")
    usage = {
        "prompt_tokens": turn.tokens - 10,
        "completion_tokens": 10,
        "total_tokens": turn.tokens,
    }
    yield f"data: {json.dumps({'id': f'chatcmpl-{number}', 'choices': [], 'usage': usage})}\n\n"
    yield "data: [DONE]\n\n"
