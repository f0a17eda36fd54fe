"""A stand-in for the agent's push endpoint: a loopback HTTP server that accepts batches.

The in-cluster agent does not exist yet; this receiver does what it will do with a push:
check the bearer token and decode the body with `nodeprobe.wire.parse_batch`. It runs on
the standard library's threading HTTP server (no hand-written HTTP) and can be stopped and
started again on the same port, or told to answer with an error status.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from nodeprobe.wire import Batch, BatchError, parse_batch


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a connection cut by stop() mid-request is the point of stopping


class Receiver:
    """Accepts pushes on 127.0.0.1; keeps every accepted batch and every refusal."""

    def __init__(self, token: str, port: int = 0) -> None:
        self.token = token
        self.port = port
        self.batches: list[Batch] = []
        self.refusals: list[str] = []
        self.requests = 0
        self.content_encodings: list[str] = []
        self.answer_status: int | None = None  # set to make it answer with that status
        self.retry_after: str | None = None  # sent along with answer_status
        self.max_samples: int | None = None  # more samples in one batch: 413
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._server: _QuietServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/node-samples"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the agent will

            def setup(self) -> None:
                super().setup()
                with receiver._lock:
                    receiver._connections.add(self.connection)

            def finish(self) -> None:
                with receiver._lock:
                    receiver._connections.discard(self.connection)
                super().finish()

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.content_encodings.append(self.headers.get("Content-Encoding", ""))
                status, reason = receiver._accept(self.headers.get("Authorization", ""), body)
                self.send_response(status)
                if receiver.retry_after is not None and receiver.answer_status is not None:
                    self.send_header("Retry-After", receiver.retry_after)
                self.send_header("Content-Length", str(len(reason)))
                self.end_headers()
                self.wfile.write(reason)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = _QuietServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop like a process that exits: the listener and every open connection close."""
        with self._lock:
            for connection in self._connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _accept(self, authorization: str, body: bytes) -> tuple[int, bytes]:
        with self._lock:
            self.requests += 1
            if self.answer_status is not None:
                return self.answer_status, b"told to refuse"
            if authorization != f"Bearer {self.token}":
                self.refusals.append("token")
                return HTTPStatus.UNAUTHORIZED, b"bad token"
            try:
                batch = parse_batch(body)
            except BatchError as error:
                self.refusals.append(str(error))
                return HTTPStatus.BAD_REQUEST, str(error).encode()
            if self.max_samples is not None and len(batch.samples) > self.max_samples:
                self.refusals.append("too large")
                return HTTPStatus.REQUEST_ENTITY_TOO_LARGE, b"too many samples"
            self.batches.append(batch)
            return HTTPStatus.NO_CONTENT, b""

    def samples(self) -> list[float]:
        """Timestamps of every sample received, in order of arrival."""
        with self._lock:
            return [sample.timestamp for batch in self.batches for sample in batch.samples]

    def wait_for(self, condition: Callable[[], bool], timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.02)
        return condition()
