"""One interface for every index feed: an async stream of timestamped index levels.

A feed turns some source (Yahoo, a seeded path, a CSV, the simulator) into typed events:
`IndexTick` (the index level), `VolTick` (an implied-vol print such as VIX) and
`FeedStale` (the feed went silent for longer than `stale_after` seconds, or came back).
Subclasses implement `_produce()`, an async iterator of ticks; this base adds the
staleness watchdog, which runs on the injected `Clock` so tests advance time instead of
sleeping, and logs every transition.

Use `run(sink)` under the application's TaskGroup (the sink is called on the loop for each
event), or `async for ev in feed.stream()` for a self-contained consumer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable

from pmbot.clock import Clock
from pmbot.core.events import FeedStale, IndexTick, VolTick

__all__ = ["FeedEvent", "IndexFeed", "Sink"]

FeedEvent = IndexTick | VolTick | FeedStale
Sink = Callable[[FeedEvent], None]

log = logging.getLogger("pmbot.feeds")


class IndexFeed(ABC):
    """Base of all index feeds: the tick source plus a staleness watchdog."""

    def __init__(self, name: str, clock: Clock, stale_after: float = 30.0) -> None:
        if stale_after <= 0:
            raise ValueError("stale_after must be positive")
        self.name = name
        self.clock = clock
        self.stale_after = stale_after
        self.stale = False
        self.last_tick_ns: int | None = None
        self._started_ns = 0

    @abstractmethod
    def _produce(self) -> AsyncIterator[IndexTick | VolTick]:
        """Yield ticks as they arrive; return when the source is exhausted."""

    async def run(self, sink: Sink) -> None:
        """Deliver events to `sink` until the source ends or the task is cancelled."""
        self._started_ns = self.clock.now_ns()
        self.stale = False
        watchdog = asyncio.create_task(self._watchdog(sink), name=f"{self.name}-watchdog")
        try:
            async for ev in self._produce():
                if isinstance(ev, IndexTick):
                    self.last_tick_ns = self.clock.now_ns()
                    if self.stale:
                        self.stale = False
                        log.info("feed fresh again feed=%s level=%s", self.name, ev.level)
                        sink(FeedStale(self.last_tick_ns, self.name, False, "ticks resumed"))
                sink(ev)
        finally:
            watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watchdog

    async def stream(self) -> AsyncIterator[FeedEvent]:
        """Iterate the feed's events; closing the iterator stops the feed."""
        q: asyncio.Queue[FeedEvent | None] = asyncio.Queue()

        async def runner() -> None:
            try:
                await self.run(q.put_nowait)
            finally:
                q.put_nowait(None)

        task = asyncio.create_task(runner(), name=f"{self.name}-feed")
        try:
            while (ev := await q.get()) is not None:
                yield ev
            await task  # surface a failure of the source
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _deadline_ns(self) -> int:
        last = self.last_tick_ns if self.last_tick_ns is not None else self._started_ns
        return last + int(self.stale_after * 1e9)

    async def _watchdog(self, sink: Sink) -> None:
        """Mark the feed stale as soon as `stale_after` passes without an index tick."""
        while True:
            now = self.clock.now_ns()
            deadline = self._deadline_ns()
            if now >= deadline and not self.stale:
                self.stale = True
                silent = (now - (self.last_tick_ns or self._started_ns)) / 1e9
                reason = f"no index tick for {silent:.1f}s (stale_after={self.stale_after}s)"
                log.warning("feed stale feed=%s %s", self.name, reason)
                sink(FeedStale(now, self.name, True, reason))
            wait = (deadline - now) / 1e9 if now < deadline else self.stale_after
            await self.clock.sleep(wait)

    def next_delay(self) -> float:
        d = min(self.maximum, self.initial * self.factor**self.failures)
        self.failures += 1
        return d

    def reset(self) -> None:
        self.failures = 0
