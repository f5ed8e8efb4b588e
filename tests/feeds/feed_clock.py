"""A ManualClock that knows how many tasks are parked on it, to step feeds deterministically."""

from __future__ import annotations

import asyncio

from pmbot.clock import ManualClock

T0 = 1_796_049_000 * 10**9  # 2026-11-30 09:30 ET, a Monday


_SETTLE_TURNS = 5


class ParkingClock(ManualClock):
    """`await idle(n)` returns once n tasks wait on `sleep` (the feed has nothing to do)."""

    def __init__(self, start_ns: int = T0) -> None:
        super().__init__(start_ns)
        self.parked = 0
        self._cond: asyncio.Condition | None = None

    def _c(self) -> asyncio.Condition:
        if self._cond is None:
            self._cond = asyncio.Condition()
        return self._cond

    async def sleep(self, seconds: float) -> None:
        c = self._c()
        async with c:
            self.parked += 1
            c.notify_all()
        try:
            await super().sleep(seconds)
        finally:
            self.parked -= 1

    async def idle(self, n: int, timeout: float = 10.0) -> None:
        c = self._c()
        async with c:
            await asyncio.wait_for(c.wait_for(lambda: self.parked >= n), timeout)
        # what the parked tasks handed on (a queued event) reaches its consumer a few loop
        # turns later; how many depends on the Python version's asyncio (3.12 differs)
        for _ in range(_SETTLE_TURNS):
            await asyncio.sleep(0)

    async def step(self, seconds: float, n: int) -> None:
        """Advance once everything is parked, then let the woken tasks run until parked again."""
        await self.idle(n)
        self.advance(seconds)
        await asyncio.sleep(0)  # let woken sleepers leave `sleep` before counting again
        await self.idle(n)
