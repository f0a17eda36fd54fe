"""Alerting: rules over anomalies, grouped and paced, delivered durably.

- `config`: the TOML settings and ``load_config`` (every mistake with its line);
- `dispatcher`: transitions → groups → notifications in the store's outbox;
- `delivery`: the outbox → the channels, retried until delivered;
- `channels`: e-mail (SMTP), webhook (HMAC-signed), Slack (Block Kit), Alertmanager (v2).

``Alerting`` puts them together beside a Hub.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import trio

from headless_agent.alerts.config import AlertConfig
from headless_agent.alerts.delivery import Delivery
from headless_agent.alerts.dispatcher import Dispatcher
from headless_agent.hub import Hub
from headless_agent.store import HistoryStore


class Alerting:
    def __init__(
        self,
        config: AlertConfig,
        store: HistoryStore,
        *,
        clock: Callable[[], float] = time.time,
        poll: float = 5.0,
    ) -> None:
        self.dispatcher = Dispatcher(config, store, clock=clock)
        self.delivery = Delivery(config, store, clock=clock, poll=poll)
        self.dispatcher.enqueued.append(self.delivery.wake)

    def attach(self, hub: Hub) -> None:
        """Hear the hub's transitions, and run as one of its services (before it starts)."""
        hub.transition_listeners.append(self.dispatcher.on_transition)
        hub.services.append(self.run)

    async def run(self) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self.dispatcher.run)
            nursery.start_soon(self.delivery.run)
