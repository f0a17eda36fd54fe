"""What the agent remembers for hubs that come back: numbered lines, bounded by age and size.

Every change of the cluster's state, every anomaly transition and every health change
becomes one line with a sequence number (the stream's resume cursor). A hub that
reconnects with cursor N gets every line after N; when lines after N were already
dropped, ``since`` says so and the hub starts again from a snapshot. Node samples have a
journal of their own, larger, because a hub that missed them cannot get them from a
snapshot; so have the SLO minutes the agent's collector books. Those two are read in pages
(``page``) rather than streamed.

Lines are encoded once, when recorded (orjson), so ten hubs cost one encoding. Bounds are
a maximum age, a maximum number of lines and a maximum number of bytes; what falls out is
counted.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import trio


class CursorUnknown(Exception):
    """The agent cannot continue after this cursor: start again from a snapshot."""

    def __init__(self, cursor: int, oldest: int, last: int) -> None:
        self.cursor, self.oldest, self.last = cursor, oldest, last
        if cursor > last:
            why = f"is ahead of this agent (last line {last}; it restarted)"
        else:
            why = f"is older than what this agent keeps (oldest line {oldest})"
        super().__init__(f"cursor {cursor} {why}; start again from a snapshot")


@dataclass(frozen=True)
class JournalLimits:
    max_age: float = 6 * 3600.0
    max_lines: int = 200_000
    max_bytes: int = 64 * 2**20


class Journal:
    def __init__(
        self, limits: JournalLimits | None = None, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.limits = limits or JournalLimits()
        self.clock = clock
        # A list with a moving head rather than a deque: reading from a cursor in the
        # middle is an index, not a walk.
        self._lines: list[tuple[int, float, bytes]] = []
        self._head = 0
        self._bytes = 0
        self._last = 0
        self.dropped = 0
        self._grew = trio.Event()

    @property
    def last(self) -> int:
        """The newest line's number (0: none yet)."""
        return self._last

    @property
    def oldest(self) -> int:
        """The oldest line still kept (``last + 1`` when empty)."""
        return self._lines[self._head][0] if len(self) else self._last + 1

    def __len__(self) -> int:
        return len(self._lines) - self._head

    @property
    def size(self) -> int:
        return self._bytes

    def append(self, line: bytes) -> int:
        self._last += 1
        now = self.clock()
        self._lines.append((self._last, now, line))
        self._bytes += len(line)
        self._trim(now)
        self._grew.set()
        self._grew = trio.Event()
        return self._last

    def _trim(self, now: float) -> None:
        limits = self.limits
        lines = self._lines
        while len(self) and (
            len(self) > limits.max_lines
            or self._bytes > limits.max_bytes
            or lines[self._head][1] < now - limits.max_age
        ):
            self._bytes -= len(lines[self._head][2])
            self._head += 1
            self.dropped += 1
        if self._head > 1024 and self._head * 2 > len(lines):
            del lines[: self._head]
            self._head = 0

    def check(self, cursor: int) -> None:
        """Raise ``CursorUnknown`` unless every line after ``cursor`` is still here."""
        self._trim(self.clock())
        if cursor > self._last or cursor + 1 < self.oldest:
            raise CursorUnknown(cursor, self.oldest, self._last)

    def since(self, cursor: int, limit: int = 10_000) -> list[tuple[int, bytes]]:
        """Lines after ``cursor`` (at most ``limit``), oldest first."""
        self.check(cursor)
        start = self._head + cursor + 1 - self.oldest  # lines are numbered without holes
        return [(n, line) for n, _, line in self._lines[start : start + limit]]

    def page(self, after: int, limit: int, field: str) -> bytes:
        """A JSON page of the lines after ``after`` (at most ``limit``), each as ``[number,
        line]`` under ``field``, with ``last`` and ``oldest``. From the oldest line kept when
        ``after`` is older than that (the reader sees the gap from ``oldest``); empty when
        it is ahead (``last`` below the reader's cursor: this agent restarted)."""
        after = max(after, self.oldest - 1)
        after = min(after, self.last)
        lines = self.since(after, limit)
        body = b",".join(b"[%d,%s]" % (seq, line) for seq, line in lines)
        return b'{"last":%d,"oldest":%d,"%s":[%s]}' % (
            self.last,
            self.oldest,
            field.encode(),
            body,
        )

    async def wait_beyond(self, cursor: int) -> None:
        """Return when there is a line after ``cursor``."""
        while self._last <= cursor:
            await self._grew.wait()
