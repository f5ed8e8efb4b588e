"""Injected time: a live clock for production, a manual clock for tests and backtests.

Pure modules never read the clock; they are handed timestamps. The shell owns a `Clock`.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from typing import Protocol

__all__ = ["Clock", "LiveClock", "ManualClock", "ScaledClock"]


class Clock(Protocol):
    """Wall time in integer nanoseconds since the epoch plus an awaitable sleep."""

    def now_ns(self) -> int: ...

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class LiveClock:
    """Real time."""

    def now_ns(self) -> int:
        return time.time_ns()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class ScaledClock:
    """Simulated time running `speed` times faster than real time from `start_ns`."""

    def __init__(self, start_ns: int, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._start_ns = start_ns
        self._real0 = time.monotonic()

    def now_ns(self) -> int:
        return self._start_ns + int((time.monotonic() - self._real0) * self.speed * 1e9)

    def monotonic(self) -> float:
        return (time.monotonic() - self._real0) * self.speed

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.speed)


class ManualClock:
    """A clock that only moves when told to; `sleep` waits until `advance` passes its deadline."""

    def __init__(self, start_ns: int = 1_700_000_000_000_000_000) -> None:
        self._now = start_ns
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._n = 0

    def now_ns(self) -> int:
        return self._now

    def monotonic(self) -> float:
        return self._now / 1e9

    def set(self, now_ns: int) -> None:
        self.advance((now_ns - self._now) / 1e9)

    def advance(self, seconds: float) -> None:
        """Move time forward and wake every sleeper whose deadline has passed."""
        self._now += int(seconds * 1e9)
        while self._waiters and self._waiters[0][0] <= self._now:
            _, _, fut = heapq.heappop(self._waiters)
            if not fut.done():
                fut.set_result(None)

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._n += 1
        heapq.heappush(self._waiters, (self._now + int(seconds * 1e9), self._n, fut))
        await fut
