"""Real receivers for alert tests: an HTTP endpoint (webhook, Slack), an SMTP server
(aiosmtpd), and Alertmanager from the distribution's package."""

from __future__ import annotations

import email
import email.policy
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
import trio
from aiosmtpd.controller import Controller
from hypercorn.config import Config
from hypercorn.trio import serve
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class HttpReceiver:
    """Records every POST; answers ``status`` (set it to 503 to play a broken receiver)."""

    status: int = 200
    received: list[Received] = field(default_factory=list)
    url: str = ""
    #: 0: any free port; a given one lets a test bring a receiver "back" where it was
    port: int = 0

    async def start(self, nursery: trio.Nursery) -> str:
        async def take(request: Request) -> JSONResponse:
            body = await request.body()
            if self.status == 200:
                self.received.append(Received(dict(request.headers), body))
            return JSONResponse({"ok": self.status == 200}, self.status)

        app = Starlette(routes=[Route("/{path:path}", take, methods=["POST"])])
        config = Config()
        config.bind = [f"127.0.0.1:{self.port}"]
        config.accesslog = None
        [self.url] = await nursery.start(serve, app, config)
        return self.url


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 OK"


class SmtpServer:
    def __init__(self) -> None:
        self.mailbox = _Mailbox()
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=free_port())

    @property
    def port(self) -> int:
        return int(self.controller.port)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.controller.stop()


async def wait_until(condition: Any, seconds: float, what: str) -> None:
    """Poll ``condition`` (a callable) until it is true; fail after ``seconds``."""
    for _ in range(int(seconds / 0.1)):
        if condition():
            return
        await trio.sleep(0.1)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Alertmanager:
    """prometheus-alertmanager on loopback, alone (no cluster peers), routing to nothing."""

    def __init__(self, folder: Path) -> None:
        binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
        if binary is None:
            raise RuntimeError("prometheus-alertmanager is not installed (./dev test installs it)")
        self.port = free_port()
        config = folder / "alertmanager.yml"
        config.write_text("route:\n  receiver: nowhere\nreceivers:\n  - name: nowhere\n")
        self.log = (folder / "alertmanager.log").open("w")
        self.process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.path={folder / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(
            f"alertmanager did not start: {(folder / 'alertmanager.log').read_text()}"
        )

    def alerts(self) -> list[dict[str, Any]]:
        answer: list[dict[str, Any]] = httpx.get(f"{self.url}/api/v2/alerts", timeout=5).json()
        return answer

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        self.log.close()
