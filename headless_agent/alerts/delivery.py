"""Sending what is in the outbox, until it is delivered.

One task per channel sends the channel's notifications in the order they were written,
and marks each delivered only when the receiver took it. A failure that another try can
fix is retried with exponential backoff (5 s doubling to 10 min), for as long as it takes,
and the notifications behind it wait (a resolve never overtakes its alert); one that
cannot (the receiver refuses the request itself) is marked failed with its words. After a
restart the pending ones simply go out: the outbox is the truth, and each carries its
stable id for receivers that see it twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import trio

from headless_agent.alerts.channels import DeliveryFailed, send
from headless_agent.alerts.config import AlertConfig, Channel
from headless_agent.store import HistoryStore

log = logging.getLogger(__name__)

FIRST_RETRY = 5.0
LONGEST_RETRY = 600.0
POLL = 5.0

#: shows a notification on this machine's desktop (the desktop app's tray)
LocalNotify = Callable[[Mapping[str, Any]], None]


def retry_delay(attempts: int) -> float:
    return float(min(LONGEST_RETRY, FIRST_RETRY * 2 ** max(0, attempts)))


class Delivery:
    def __init__(
        self,
        config: AlertConfig,
        store: HistoryStore,
        *,
        clock: Callable[[], float] = time.time,
        poll: float = POLL,
        local: LocalNotify | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.poll = poll
        self.local = local
        self._wakes = {name: trio.Event() for name in config.channels}
        self._serving: trio.CancelScope | None = None
        self.delivered = 0
        self.failures = 0

    def reconfigure(self, config: AlertConfig) -> None:
        """Serve these channels from now on (the settings were edited); what is in the
        outbox stays there and goes out on the channels that still exist."""
        self.config = config
        if self._serving is not None:
            self._serving.cancel()

    def wake(self) -> None:
        """New notifications are in the outbox (``Dispatcher.enqueued``)."""
        for event in self._wakes.values():
            event.set()

    async def run(self) -> None:
        while True:  # once per configuration
            with trio.CancelScope() as self._serving:
                async with trio.open_nursery() as nursery:
                    for channel in self.config.channels.values():
                        nursery.start_soon(self._serve, channel)
                    await trio.sleep_forever()

    async def deliver(self, channel: Channel, payload: Mapping[str, Any]) -> None:
        """One notification on one channel now; raises ``DeliveryFailed``."""
        if channel.type != "desktop":
            await send(channel, payload)
        elif self.local is None:
            raise DeliveryFailed("no desktop to show it on (headless mode)", retry=False)
        else:
            self.local(payload)

    async def _serve(self, channel: Channel) -> None:
        while True:
            wake = self._wakes[channel.name] = trio.Event()
            await trio.to_thread.run_sync(self.store.flush)
            now = self.clock()  # here, on the trio thread: the clock may be trio's
            pending = await trio.to_thread.run_sync(
                partial(self.store.alert_outbox, channel=channel.name, in_order=True, limit=500)
            )
            for alert in pending:
                if (alert.next_attempt_at or 0.0) > now:
                    # The oldest waits for its retry and the rest wait behind it: a
                    # receiver back after an outage gets them in order (an end never
                    # before its start).
                    break
                try:
                    await self.deliver(channel, alert.payload)
                except DeliveryFailed as error:
                    self.failures += 1
                    retry_at = self.clock() + retry_delay(alert.attempts) if error.retry else None
                    log.warning(
                        "%s: notification %s not delivered (%s)%s",
                        channel.name,
                        alert.dedup_key,
                        error,
                        "; trying again later" if error.retry else "; giving up",
                    )
                    self.store.mark_alert_failed(
                        channel.name, alert.dedup_key, str(error), retry_at=retry_at
                    )
                    if error.retry:
                        break  # keep order: the rest waits for this one
                else:
                    self.delivered += 1
                    self.store.mark_alert_delivered(channel.name, alert.dedup_key, self.clock())
            with trio.move_on_after(self.poll):
                await wake.wait()
