"""Pushing to the agent: nothing lost across an agent restart, bounded beyond the buffer.

The agent itself does not exist yet; `Receiver` stands in for its push endpoint on
loopback and decodes every body with `nodeprobe.wire.parse_batch`, as the agent will.
"""

from __future__ import annotations

import random
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from nodeprobe.collectors import ALL
from nodeprobe.model import Field, Readings, Sample
from nodeprobe.push import Pusher, token_from_file
from tests.nodeprobe.receiver import Receiver

TOKEN = "probe-token-1"
FIELDS: tuple[Field, ...] = tuple(
    field for name in ("cpu", "memory", "network") for field in ALL[name].fields if field.publish
)


def sample(number: int) -> Sample:
    """A sample the size of a small node's, told apart by its timestamp."""
    values: Readings = {
        ("cpu_seconds_total", (("cpu", str(cpu)), ("mode", mode))): number * 1.5 + cpu
        for cpu in range(8)
        for mode in ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
    }
    values.update(
        {
            ("network_receive_bytes_total", (("interface", f"eth{i}"),)): float(number * 1000 + i)
            for i in range(4)
        }
    )
    values[("memory_total_bytes", ())] = 8e9
    return Sample(timestamp=1_764_201_600.0 + number, elapsed_seconds=15.0, values=values)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver(TOKEN).start()
    yield running
    running.stop()


def pusher_for(
    url: str,
    *,
    token: Callable[[], str] = lambda: TOKEN,
    buffer_batches: int = 10,
    samples_per_request: int = 20,
    backoff_initial: float = 0.05,
    backoff_max: float = 0.2,
    jitter: Callable[[], float] = random.random,
    clock: Callable[[], float] = time.monotonic,
) -> Pusher:
    return Pusher(
        url=url,
        node="worker-1",
        fields=FIELDS,
        token=token,
        buffer_batches=buffer_batches,
        samples_per_request=samples_per_request,
        timeout=2.0,
        backoff_initial=backoff_initial,
        backoff_max=backoff_max,
        jitter=jitter,
        clock=clock,
    )


def test_samples_reach_the_agent_in_order_gzip_with_the_bearer_token(receiver: Receiver) -> None:
    pusher = pusher_for(receiver.url)
    pusher.start()
    try:
        for number in range(3):
            pusher.submit(sample(number))
        assert receiver.wait_for(lambda: len(receiver.samples()) == 3)
    finally:
        pusher.close()
    assert receiver.samples() == [sample(n).timestamp for n in range(3)]
    assert receiver.refusals == []
    assert set(receiver.content_encodings) == {"gzip"}
    batch = receiver.batches[0]
    assert batch.node == "worker-1" and batch.dropped_samples == 0
    assert batch.fields["cpu_seconds_total"].kind == "counter"
    assert pusher.stats().sent_samples == 3


def test_an_agent_restart_loses_no_sample_up_to_the_buffer_size(receiver: Receiver) -> None:
    pusher = pusher_for(receiver.url, buffer_batches=10)
    pusher.start()
    try:
        pusher.submit(sample(0))
        pusher.submit(sample(1))
        assert receiver.wait_for(lambda: len(receiver.samples()) == 2)
        receiver.stop()
        for number in range(2, 12):  # ten samples while the agent is away: the buffer's size
            pusher.submit(sample(number))
            time.sleep(0.03)
        assert receiver.wait_for(lambda: pusher.stats().failed_attempts >= 3)
        assert pusher.stats().buffered_samples == 10
        restarted = Receiver(TOKEN, port=receiver.port).start()
        try:
            assert restarted.wait_for(lambda: len(restarted.samples()) == 10)
            assert restarted.wait_for(lambda: pusher.stats().buffered_samples == 0)
        finally:
            restarted.stop()
    finally:
        pusher.close()
    received = receiver.samples() + restarted.samples()
    assert received == [sample(n).timestamp for n in range(12)], "all, in order, once each"
    assert all(batch.dropped_samples == 0 for batch in restarted.batches)


def test_beyond_the_buffer_the_oldest_are_dropped_counted_and_memory_stays_bounded(
    tmp_path: Path,
) -> None:
    away = Receiver(TOKEN).start()
    port = away.port
    away.stop()  # the agent is down from the start
    pusher = pusher_for(f"http://127.0.0.1:{port}/v1/node-samples", buffer_batches=10)
    pusher.start()
    try:
        tracemalloc.start()
        for number in range(100):
            pusher.submit(sample(number))
        after_100, _ = tracemalloc.get_traced_memory()
        for number in range(100, 1000):
            pusher.submit(sample(number))
        after_1000, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        stats = pusher.stats()
        assert stats.buffered_samples == 10
        assert stats.dropped_samples == 990
        assert stats.buffered_bytes < 10 * 4096, "buffered samples are kept compressed"
        assert after_1000 - after_100 < 256 * 1024, "memory does not grow with the outage"
        back = Receiver(TOKEN, port=port).start()
        newest = sample(999).timestamp
        try:
            assert back.wait_for(lambda: newest in back.samples())
        finally:
            back.stop()
    finally:
        pusher.close()
    received = back.samples()
    # The newest ten arrive, in order, once each. (A request already under way when the
    # agent came back may add older ones it had taken from the buffer before they were
    # dropped: they arrive first, and still at most once.)
    assert received[-10:] == [sample(n).timestamp for n in range(990, 1000)], "the newest ten"
    assert received == sorted(set(received))
    assert len(received) <= 10 + 20
    assert back.batches[-1].dropped_samples == 990, "the agent is told what was counted lost"


def test_a_refused_token_keeps_the_samples_until_the_rotated_token_is_accepted(
    receiver: Receiver, tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("expired-token\n")
    pusher = pusher_for(receiver.url, token=token_from_file(str(token_file)))
    pusher.start()
    try:
        pusher.submit(sample(0))
        pusher.submit(sample(1))
        assert receiver.wait_for(lambda: len(receiver.refusals) >= 2)
        assert receiver.samples() == []
        assert pusher.stats().buffered_samples == 2
        token_file.write_text(f"{TOKEN}\n")  # the Secret was updated
        assert receiver.wait_for(lambda: len(receiver.samples()) == 2)
    finally:
        pusher.close()
    assert set(receiver.refusals) == {"token"}


def test_a_batch_the_agent_cannot_read_is_dropped_instead_of_blocking_the_rest(
    receiver: Receiver,
) -> None:
    pusher = pusher_for(receiver.url)
    receiver.answer_status = 400
    pusher.submit(sample(0))
    assert pusher.send_once() is True
    stats = pusher.stats()
    assert (stats.rejected_samples, stats.buffered_samples) == (1, 0)
    receiver.answer_status = None
    pusher.submit(sample(1))
    assert pusher.send_once() is True
    pusher.close()
    assert receiver.samples() == [sample(1).timestamp]


def test_too_large_for_the_agent_sends_fewer_samples_per_request(receiver: Receiver) -> None:
    receiver.max_samples = 2
    pusher = pusher_for(receiver.url, samples_per_request=8)
    for number in range(8):
        pusher.submit(sample(number))
    for _ in range(10):
        pusher.send_once()
    pusher.close()
    assert receiver.samples() == [sample(n).timestamp for n in range(8)]
    assert max(len(batch.samples) for batch in receiver.batches) == 2


def test_retries_back_off_exponentially_with_jitter_and_honour_retry_after(
    receiver: Receiver,
) -> None:
    now = [100.0]
    draws = iter([0.0, 0.0, 0.0, 0.999, 0.0, 0.0])
    pusher = pusher_for(
        receiver.url,
        backoff_initial=1.0,
        backoff_max=8.0,
        jitter=lambda: next(draws),
        clock=lambda: now[0],
    )
    receiver.answer_status = 503
    pusher.submit(sample(0))
    delays = []
    for _ in range(5):
        assert pusher.send_once() is False
        delays.append(round(pusher.retry_at - now[0], 3))
    # Each delay lies between half and all of 1, 2, 4, 8, 8 s (capped).
    assert delays == [0.5, 1.0, 2.0, 7.996, 4.0]
    receiver.retry_after = "30"
    pusher.send_once()
    assert pusher.retry_at - now[0] == 8.0, "Retry-After, but never beyond the maximum"
    receiver.answer_status = None
    assert pusher.send_once() is True and pusher.retry_at == 0.0
    pusher.close()


def test_closing_sends_what_is_still_buffered(receiver: Receiver) -> None:
    pusher = pusher_for(receiver.url)
    for number in range(4):
        pusher.submit(sample(number))
    pusher.close()
    assert receiver.samples() == [sample(n).timestamp for n in range(4)]
