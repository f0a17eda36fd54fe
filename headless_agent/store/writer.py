"""The one writer: a dedicated thread that owns the write connection and commits batches.

Why a thread of its own rather than ``trio.to_thread.run_sync`` per batch:

- an SQLite connection belongs to one thread; trio's worker threads come and go, so each
  batch would have to reopen or share a connection across threads;
- the writer must also run where no trio loop does (the benchmark, a migration tool, the
  tests that SIGKILL an ingesting process), and keep sealing windows and applying
  retention on its own clock;
- record calls from the trio thread only append to a ``queue.SimpleQueue``: they never
  block, never touch SQLite, and never wait for a lock the writer holds.

Loop: wait for the first job; gather whatever else arrives within ``batch_window``
(0.25 s; a flush request ends the wait at once); apply it all in one transaction, each job
in its own savepoint (a bad job is logged and skipped, the rest commit); spend at most
``maintenance_budget`` sealing due windows and compacting rollups; commit. So a process
killed at any moment loses at most the batch being gathered or committed — well under the
2 s the design allows. Retention runs every ``retention_interval`` in small transactions
between batches, never holding the write lock for long. Readers use their own connections;
in WAL mode they never wait for the writer, nor it for them.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial

from headless_agent.store.record_writing import ClusterRegistry
from headless_agent.store.retention import (
    RECORD_KINDS,
    RetentionSettings,
    delete_older,
    measure,
    optimize_event_index,
    time_at_fraction,
    vacuum_steps,
)
from headless_agent.store.schema import SeriesLayout
from headless_agent.store.series_writing import SeriesWriter, metrics_kind

log = logging.getLogger(__name__)

#: a batch closes early once it holds this many jobs
_MAX_JOBS = 20_000


@dataclass(frozen=True, slots=True)
class WriterOptions:
    #: how long the writer gathers jobs after the first before committing them
    batch_window: float = 0.25
    #: time per batch for sealing windows and compacting (the rest waits for the next)
    maintenance_budget: float = 0.2
    #: seconds between maintenance runs when no jobs come
    idle_maintenance: float = 5.0
    #: seconds between retention passes
    retention_interval: float = 600.0
    #: rows deleted per retention transaction
    retention_step: int = 2000
    #: node samples queued beyond this are dropped (and counted), never anomalies or events
    max_queued_samples: int = 20_000_000
    #: a batch closes early once it carries this many samples
    max_batch_samples: int = 2_000_000


@dataclass
class WriterStatus:
    """What the writer has done; read by the UI's history page and by tests."""

    committed_batches: int = 0
    failed_jobs: int = 0
    dropped_samples: int = 0
    queued_samples: int = 0
    last_error: str = ""
    last_commit_at: float | None = None
    retention_passes: int = 0


@dataclass
class WriterContext:
    """What a job sees: the connection and the writer's helpers (writer thread only)."""

    db: sqlite3.Connection
    clusters: ClusterRegistry
    series: SeriesWriter
    retention: RetentionSettings
    clock: Callable[[], float]
    restart_counts: dict[tuple[int, str], int] = field(default_factory=dict)

    def reset(self) -> None:
        self.clusters.reset()
        self.series.reset()
        self.restart_counts.clear()


Apply = Callable[[WriterContext], None]


@dataclass(eq=False)
class Job:
    apply: Apply | None = None
    samples: int = 0
    done: threading.Event | None = None
    settle: bool = False
    retention_now: bool = False
    stop: bool = False


class Writer:
    def __init__(
        self,
        connection: sqlite3.Connection,
        layout: SeriesLayout,
        settings: RetentionSettings,
        clock: Callable[[], float],
        options: WriterOptions,
    ) -> None:
        self.options = options
        self.status = WriterStatus()
        clusters = ClusterRegistry(connection, clock)
        series = SeriesWriter(connection, layout, clock, settings.max_age)
        self.context = WriterContext(connection, clusters, series, settings, clock)
        clusters.on_merge = series.reset
        self._db = connection
        self._queue: queue.SimpleQueue[Job] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._retention: Iterator[None] | None = None
        self._next_retention = time.monotonic() + min(60.0, options.retention_interval)
        self._failures: dict[str, float] = {}

    # --- called from any thread ------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="history-writer", daemon=True)
            self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def submit(self, apply: Apply, *, samples: int = 0) -> bool:
        """Queue a job; False if it carried samples and the queue is full of them."""
        if samples:
            with self._lock:
                if self.status.queued_samples + samples > self.options.max_queued_samples:
                    self.status.dropped_samples += samples
                    return False
                self.status.queued_samples += samples
        self._queue.put(Job(apply, samples))
        return True

    def wait(self, *, settle: bool = False, retention: bool = False, timeout: float | None) -> None:
        """Block until everything queued so far is committed (and, with ``settle``, every
        due window sealed and span compacted; with ``retention``, a retention pass run)."""
        if not self.running:
            raise RuntimeError("the history writer is not running")
        done = threading.Event()
        self._queue.put(Job(done=done, settle=settle, retention_now=retention))
        if not done.wait(timeout):
            raise TimeoutError("the history writer did not finish in time")

    def stop(self, timeout: float | None = 60.0) -> None:
        if self._thread is None:
            return
        self._queue.put(Job(stop=True))
        self._thread.join(timeout)
        self._thread = None

    # --- the writer thread -----------------------------------------------------------------

    def _run(self) -> None:
        stopping = False
        while not stopping:
            jobs = self._gather()
            stopping = any(job.stop for job in jobs)
            settle = any(job.settle for job in jobs)
            self._commit(jobs, settle=settle)
            if any(job.retention_now for job in jobs):  # after the jobs: they may set limits
                self._retention = self._retention_pass()
                self._finish_retention()
            for job in jobs:
                if job.done is not None:
                    job.done.set()
            if self._retention is None and time.monotonic() >= self._next_retention:
                self._retention = self._retention_pass()
            if self._retention is not None and not stopping:
                self._retention_step()

    def _gather(self) -> list[Job]:
        if self._retention is not None:
            timeout = 0.0  # retention is in progress: take what is there, then go on
        else:
            timeout = min(
                self.options.idle_maintenance, max(self._next_retention - time.monotonic(), 0)
            )
        try:
            first = self._queue.get(timeout=timeout) if timeout > 0 else self._queue.get_nowait()
        except queue.Empty:
            return []
        jobs = [first]
        samples = first.samples
        deadline = time.monotonic() + self.options.batch_window
        # Gather until the window closes, a flush is asked for, or the batch is big: a
        # producer faster than the writer must not keep one batch open for ever.
        while jobs[-1].done is None and not jobs[-1].stop:
            if len(jobs) >= _MAX_JOBS or samples >= self.options.max_batch_samples:
                break
            remaining = deadline - time.monotonic()
            try:
                job = (
                    self._queue.get(timeout=remaining)
                    if remaining > 0
                    else self._queue.get_nowait()
                )
            except queue.Empty:
                break
            jobs.append(job)
            samples += job.samples
        return jobs

    def _commit(self, jobs: list[Job], *, settle: bool) -> None:
        db, context = self._db, self.context
        samples = sum(job.samples for job in jobs)
        try:
            db.execute("BEGIN IMMEDIATE")
            for job in jobs:
                if job.apply is None:
                    continue
                db.execute("SAVEPOINT job")
                try:
                    job.apply(context)
                    db.execute("RELEASE job")
                except Exception as error:
                    db.execute("ROLLBACK TO job")
                    db.execute("RELEASE job")
                    context.reset()  # caches may hold what was just rolled back
                    self.status.failed_jobs += 1
                    self._report("a history record could not be stored", error)
            self._maintain(settle)
            db.execute("COMMIT")
            self.status.committed_batches += 1
            self.status.last_commit_at = time.time()
        except sqlite3.Error as error:
            # The whole batch is lost (disk full, I/O error): say so, keep the writer alive.
            if db.in_transaction:
                db.execute("ROLLBACK")
            context.reset()
            self.status.failed_jobs += sum(1 for job in jobs if job.apply is not None)
            self._report("a batch of history could not be written", error)
        finally:
            if samples:
                with self._lock:
                    self.status.queued_samples -= samples

    def _maintain(self, settle: bool) -> None:
        db = self._db
        db.execute("SAVEPOINT maintenance")
        try:
            deadline = None if settle else time.monotonic() + self.options.maintenance_budget
            self.context.series.maintain(deadline, time.monotonic)
            db.execute("RELEASE maintenance")
        except Exception as error:
            db.execute("ROLLBACK TO maintenance")
            db.execute("RELEASE maintenance")
            self.context.series.reset()
            self._report("sealing or compacting node metrics failed", error)

    def _report(self, what: str, error: BaseException) -> None:
        message = f"{what}: {error}"
        self.status.last_error = message
        now = time.monotonic()
        if now - self._failures.get(message, -1e9) > 60:  # the same failure once a minute
            self._failures[message] = now
            log.error("%s", message, exc_info=error)

    # --- retention -------------------------------------------------------------------------

    def _retention_step(self) -> None:
        assert self._retention is not None
        try:
            next(self._retention)
        except StopIteration:
            self._retention = None
            self.status.retention_passes += 1
            self._next_retention = time.monotonic() + self.options.retention_interval
        except sqlite3.Error as error:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            self._retention = None
            self.context.series.reset()
            self._next_retention = time.monotonic() + self.options.retention_interval
            self._report("retention failed", error)

    def _finish_retention(self) -> None:
        while self._retention is not None:
            self._retention_step()

    def _in_transaction(self, action: Callable[[], int]) -> int:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            result = action()
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return result

    def _delete_records(self, kind: str, cutoff: float) -> Iterator[None]:
        step = self.options.retention_step
        deleted = step
        total = 0
        while deleted >= step:
            deleted = self._in_transaction(partial(delete_older, self._db, kind, cutoff, step))
            total += deleted
            yield
        if kind == "events" and total:
            # The search index only marks deleted rows; merging its segments frees them.
            self._in_transaction(partial(optimize_event_index, self._db))
            yield

    def _delete_chunks(self, level: int, cutoff_ms: int) -> Iterator[None]:
        step = self.options.retention_step
        forget = self.context.series.forget_before
        while self._in_transaction(partial(forget, level, cutoff_ms, step)) >= step:
            yield

    def _retention_pass(self) -> Iterator[None]:
        """Delete by age, then by size, then give free pages back; one small step per
        iteration so batches of new data go in between."""
        settings, layout = self.context.retention, self.context.series.layout
        now = self.context.clock()
        for kind in RECORD_KINDS:
            age = settings.max_age(kind)
            if age is not None:
                yield from self._delete_records(kind, now - age)
        for level, tier in enumerate(layout.tiers):
            age = settings.max_age(metrics_kind(tier.name))
            if age is not None:
                yield from self._delete_chunks(level, round((now - age) * 1000))
        yield
        budgets = {k: r.max_bytes for k, r in settings.rules().items() if r.max_bytes}
        sizes = measure(self._db, layout)[0] if budgets else {}
        for kind, budget in budgets.items():
            size = sizes.get(kind, 0)
            if size <= budget:
                continue
            # Drop the oldest share that should bring the kind under its budget.
            fraction = min(1.0, (size - budget) / size + 0.02)
            cutoff = time_at_fraction(self._db, kind, layout, fraction)
            if cutoff is None:
                continue
            if kind.startswith("metrics."):
                level = [t.name for t in layout.tiers].index(kind.split(".", 1)[1])
                # chunks go by their end: reach past the chunk that starts at the cutoff
                yield from self._delete_chunks(level, int(cutoff) + layout.tiers[level].span_ms + 1)
            else:
                yield from self._delete_records(kind, cutoff + 1e-6)
            yield
        for _ in vacuum_steps(self._db):
            yield
