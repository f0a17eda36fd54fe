"""Pushing samples to the agent, with a bounded buffer for when it is away.

Every collection is handed to `Pusher.submit()`, which encodes it as JSON and appends
it to a buffer that holds at most ``buffer_batches`` collections (those queued behind
others are kept zlib-compressed, a few KiB each): when full, the oldest is dropped and
counted, so memory never grows without bound however long the agent is gone. A sender
thread posts the oldest buffered samples as one batch (``nodeprobe.wire``, gzip,
``Authorization: Bearer``), up to ``samples_per_request`` at a time, and removes them
only once the agent answered 2xx. So an agent restart loses nothing as long as the
buffer holds the gap, and the agent is told how many samples were ever dropped. (A
request already under way when its oldest samples are pushed out of a full buffer still
delivers them if it succeeds: they count as dropped, but arrive.) A request whose
answer is lost (a timeout after the agent took it) is sent again, so the agent should
key samples by node and timestamp.

Failures back off exponentially (doubling from ``backoff_initial`` up to
``backoff_max``, each delay drawn between half and all of that, honouring
``Retry-After``). What the agent answers decides what happens to the samples:

- 2xx: sent, removed;
- 413 (too large): the next request carries half as many samples; a single sample
  that is still too large is dropped as rejected;
- 400 and 422 (the agent cannot read them): dropped as rejected, with the agent's
  words in the log; sending them again would block everything behind them;
- anything else (401/403 token refused, 404, 429, 5xx, connection errors, timeouts):
  kept, retried after the backoff. The token is read again for every attempt, so a
  rotated token file is picked up.

The token never appears in logs.

The HTTP client is the standard library's ``http.client`` (one keep-alive connection,
reopened when the agent has closed it), not httpx: prometheus_client already loads
``http.client``, while httpx with httpcore and h11 costs about 3.3 MiB of the probe's
30 MiB memory budget (and httpcore imports trio whenever it is installed, 4 MiB more).
Like any direct connection it ignores ``HTTP_PROXY``: a push goes straight to the agent.
"""

from __future__ import annotations

import gzip
import http.client
import logging
import random
import select
import ssl
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from nodeprobe import __version__, wire
from nodeprobe.model import DisabledCollector, Field, Sample

log = logging.getLogger("nodeprobe.push")

TokenSource = Callable[[], str]


@dataclass(frozen=True, slots=True)
class PushStats:
    """What the pusher has done so far (for ``/metrics`` and the logs)."""

    sent_samples: int
    dropped_samples: int
    rejected_samples: int
    failed_attempts: int
    buffered_samples: int
    buffered_bytes: int


def token_from_file(path: str) -> TokenSource:
    """A token source that reads ``path`` on every call (rotated tokens are picked up)."""

    def read() -> str:
        with open(path, encoding="utf-8") as file:
            token = file.read().strip()
        if not token:
            raise OSError(f"the token file {path} is empty")
        return token

    return read


def tls_context(url: str, ca_file: str | None) -> ssl.SSLContext | None:
    """How to check an ``https://`` agent's certificate: the CA file given, else the
    system's trust store. A plain ``http://`` agent needs none (and loading a trust
    store would cost over a MiB of memory for nothing)."""
    if not url.startswith("https://"):
        return None
    return ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    reason: str
    retry_after: str
    text: str


class AgentConnection:
    """One keep-alive HTTP connection to the agent's push URL."""

    def __init__(self, url: str, *, timeout: float, context: ssl.SSLContext | None) -> None:
        parts = urlsplit(url)
        self._target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host, port = parts.hostname or "", parts.port
        self._connection: http.client.HTTPConnection
        if parts.scheme == "https":
            self._connection = http.client.HTTPSConnection(
                host, port, timeout=timeout, context=context
            )
        else:
            self._connection = http.client.HTTPConnection(host, port, timeout=timeout)

    def post(self, body: bytes, headers: Mapping[str, str]) -> Reply:
        """POST ``body``; raises OSError or http.client.HTTPException if no answer came."""
        connection = self._connection
        sock = connection.sock
        # An idle connection the agent has closed reads as ready (EOF): open a new one
        # rather than find out by losing the request.
        if sock is not None and select.select([sock], [], [], 0)[0]:
            connection.close()
        try:
            connection.request("POST", self._target, body=body, headers=dict(headers))
            response = connection.getresponse()
            data = response.read()
        except BaseException:
            connection.close()
            raise
        if response.will_close:
            connection.close()
        return Reply(
            status=response.status,
            reason=response.reason,
            retry_after=response.getheader("Retry-After") or "",
            text=data[:300].decode("utf-8", "replace"),
        )

    def close(self) -> None:
        self._connection.close()


class Pusher:
    """Buffers samples and sends them to the agent from its own thread.

    Args:
        url: where to POST batches.
        node: the node name carried by every batch.
        fields: the field table (all configured collectors', disabled ones included,
            since buffered samples may hold their values).
        token: returns the bearer token; called for every attempt.
        buffer_batches: how many collections the buffer holds at most.
        samples_per_request: the most samples sent in one batch.
        timeout: seconds for one request (connect, write, read).
        backoff_initial: seconds before the first retry.
        backoff_max: the longest wait between retries.
        ca_file: CA bundle for an ``https://`` agent with a private certificate.
        jitter: returns a number in [0, 1); injectable for tests.
        clock: monotonic seconds; injectable for tests.
    """

    def __init__(
        self,
        *,
        url: str,
        node: str,
        fields: Iterable[Field],
        token: TokenSource,
        buffer_batches: int = 240,
        samples_per_request: int = 20,
        timeout: float = 10.0,
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
        ca_file: str | None = None,
        jitter: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if buffer_batches < 1 or samples_per_request < 1:
            raise ValueError("buffer_batches and samples_per_request must be at least 1")
        self.url = url
        self.node = node
        self._token = token
        self._fields_json = wire.encode_fields(fields)
        self._disabled_json = b"[]"
        self._encode = wire.SampleEncoder()
        # (sequence number, JSON or zlib-compressed JSON, compressed?)
        self._buffer: deque[tuple[int, bytes, bool]] = deque(maxlen=buffer_batches)
        self._samples_per_request = samples_per_request
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._jitter = jitter
        self._clock = clock
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sequence = 0
        self._attempt = 0
        self._retry_at = 0.0
        self._sent = self._dropped = self._rejected = self._failed = 0
        self._connection = AgentConnection(url, timeout=timeout, context=tls_context(url, ca_file))

    # --- the collection side -------------------------------------------------------------

    def submit(self, sample: Sample, disabled: Sequence[DisabledCollector] = ()) -> None:
        """Queue one collection for sending; drops (and counts) the oldest when full."""
        data = self._encode(sample)
        # Normally the sender takes each sample before the next arrives; one queued
        # behind others is waiting for the agent and is compressed while it waits.
        compressed = bool(self._buffer)
        if compressed:
            data = zlib.compress(data, 1)
        disabled_json = wire.encode_disabled(disabled)
        with self._lock:
            if len(self._buffer) == self._buffer.maxlen:
                self._dropped += 1
            self._sequence += 1
            self._buffer.append((self._sequence, data, compressed))
            self._disabled_json = disabled_json
        self._wake.set()

    def stats(self) -> PushStats:
        with self._lock:
            return PushStats(
                sent_samples=self._sent,
                dropped_samples=self._dropped,
                rejected_samples=self._rejected,
                failed_attempts=self._failed,
                buffered_samples=len(self._buffer),
                buffered_bytes=sum(len(data) for _, data, _ in self._buffer),
            )

    @property
    def retry_at(self) -> float:
        """Monotonic time of the next attempt after a failure (0: no failure pending)."""
        return self._retry_at

    # --- the sending side ----------------------------------------------------------------

    def send_once(self) -> bool:
        """Send the oldest buffered samples in one request, ignoring any backoff.

        Returns:
            True if it made progress (samples sent or rejected, or the next request made
            smaller after a 413), False if nothing was pending or the attempt failed
            (then `retry_at` is set).
        """
        with self._lock:
            chunk = list(self._buffer)[: self._samples_per_request]
            disabled_json, dropped = self._disabled_json, self._dropped
        if not chunk:
            return False
        try:
            body = wire.assemble_batch(
                node=self.node,
                probe_version=__version__,
                sent_at=time.time(),
                dropped_samples=dropped,
                fields_json=self._fields_json,
                disabled_json=disabled_json,
                sample_jsons=[
                    zlib.decompress(data) if compressed else data for _, data, compressed in chunk
                ],
            )
            headers = {
                "Authorization": f"Bearer {self._token()}",
                "Content-Type": "application/json",
                "Content-Encoding": "gzip",
                "User-Agent": f"nodeprobe/{__version__}",
            }
            reply = self._connection.post(gzip.compress(body, compresslevel=1, mtime=0), headers)
        except (OSError, http.client.HTTPException) as error:
            self._failure(f"{type(error).__name__}: {error}" if str(error) else repr(error))
            return False
        status = reply.status
        if 200 <= status < 300:
            self._forget(chunk[-1][0], sent=len(chunk))
            return True
        if status == 413 and len(chunk) > 1:
            self._samples_per_request = max(1, len(chunk) // 2)
            log.warning(
                "the agent found %d samples too large (413); sending %d at a time",
                len(chunk),
                self._samples_per_request,
            )
            return True
        if status in (400, 413, 422):
            log.error(
                "the agent rejected %d samples (HTTP %d: %s); dropping them",
                len(chunk),
                status,
                reply.text,
            )
            self._forget(chunk[-1][0], rejected=len(chunk))
            return True
        retry_after = reply.retry_after.strip()
        self._failure(
            f"HTTP {status} {reply.reason}"
            + (" (the agent refused the token)" if status in (401, 403) else ""),
            retry_after=float(retry_after) if retry_after.isdigit() else None,
        )
        return False

    def _forget(self, last_sequence: int, *, sent: int = 0, rejected: int = 0) -> None:
        with self._lock:
            # The buffer may have dropped some of these meanwhile; remove by sequence.
            while self._buffer and self._buffer[0][0] <= last_sequence:
                self._buffer.popleft()
            self._sent += sent
            self._rejected += rejected
            buffered = len(self._buffer)
        if self._attempt:
            log.info(
                "the agent at %s is reachable again after %d failed attempts; "
                "%d samples still buffered",
                self.url,
                self._attempt,
                buffered,
            )
        self._attempt = 0
        self._retry_at = 0.0

    def _failure(self, reason: str, retry_after: float | None = None) -> None:
        self._attempt += 1
        with self._lock:
            self._failed += 1
            buffered = len(self._buffer)
        ceiling = min(self._backoff_max, self._backoff_initial * 2 ** (self._attempt - 1))
        delay = ceiling * (0.5 + 0.5 * self._jitter())
        if retry_after is not None:
            delay = max(delay, min(retry_after, self._backoff_max))
        self._retry_at = self._clock() + delay
        level = logging.WARNING if self._attempt == 1 else logging.DEBUG
        log.log(
            level,
            "push to %s failed (%s); %d samples buffered, retrying in %.1f s",
            self.url,
            reason,
            buffered,
            delay,
        )

    def run(self) -> None:
        """The sender loop: send whatever is buffered, waiting out backoffs, until stopped."""
        while not self._stop.is_set():
            now = self._clock()
            pending = bool(self._buffer)
            if pending and now >= self._retry_at:
                self.send_once()
                continue
            self._wake.wait(None if not pending else self._retry_at - now)
            self._wake.clear()

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="nodeprobe-push", daemon=True)
        self._thread.start()

    def close(self, flush_seconds: float = 2.0) -> None:
        """Stop the sender, try once more to send what is buffered, close the client."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=flush_seconds + 15.0)
        deadline = self._clock() + flush_seconds
        while self._buffer and self._clock() < deadline:
            if not self.send_once() and self._attempt:
                break
        self._connection.close()
