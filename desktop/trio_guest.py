"""Run trio in guest mode on Qt's event loop.

Qt owns the thread; trio's scheduler runs in slices posted to it, so engine tasks and
widgets share one thread without polling timers or locks. Closing the window cancels the
root cancel scope; Qt quits only after trio has finished, so every task ends cleanly.
"""

from __future__ import annotations

import traceback
from collections.abc import Awaitable, Callable
from typing import Any

import outcome
import trio
from PySide6.QtCore import QCoreApplication, QEvent, QObject

_CALLABLE_EVENT = QEvent.Type(QEvent.registerEventType())


class _CallableEvent(QEvent):
    def __init__(self, fn: Callable[[], Any]) -> None:
        super().__init__(_CALLABLE_EVENT)
        self.fn = fn


class _Reenter(QObject):
    """Runs callables posted from any thread on the Qt thread."""

    def event(self, event: QEvent) -> bool:
        if event.type() == _CALLABLE_EVENT and isinstance(event, _CallableEvent):
            event.fn()
            return True
        return super().event(event)


class TrioGuest:
    """Owns one trio guest run on the application's event loop."""

    def __init__(self, app: QCoreApplication) -> None:
        self._app = app
        self._reenter = _Reenter()
        self._cancel_scope: trio.CancelScope | None = None
        # A window closed before trio's first slice ran (right after its first paint) has
        # no scope to cancel yet; the request is kept and honoured when the root starts.
        self._cancel_requested = False
        self.error: BaseException | None = None
        self.finished = False

    def start(self, main: Callable[[], Awaitable[None]]) -> None:
        async def root() -> None:
            with trio.CancelScope() as scope:
                self._cancel_scope = scope
                if self._cancel_requested:
                    scope.cancel()
                await main()

        trio.lowlevel.start_guest_run(
            root,
            run_sync_soon_threadsafe=self._post,
            done_callback=self._done,
        )

    def _post(self, fn: Callable[[], Any]) -> None:
        QCoreApplication.postEvent(self._reenter, _CallableEvent(fn))

    def _done(self, result: outcome.Outcome[None]) -> None:
        self.finished = True
        if isinstance(result, outcome.Error):
            self.error = result.error
            traceback.print_exception(result.error)
        self._app.quit()

    def cancel(self) -> None:
        """Ask every engine task to stop; Qt quits when trio is done."""
        self._cancel_requested = True
        if self._cancel_scope is not None:
            self._cancel_scope.cancel()
