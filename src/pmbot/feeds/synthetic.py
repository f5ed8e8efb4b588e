"""A seeded synthetic S&P 500 path for paper trading and tests.

Log returns have a realistic daily volatility (default 0.8 %/session ≈ VIX 18 × k 0.70),
arrive along the intraday U-shaped variance curve of `pricing.calendar`, and have fat tails
(Student-t innovations, ν=4, scaled to unit variance). With a `TradingCalendar` the feed
prints only in sessions and the overnight variance arrives as a gap at the open; without one, every
`session_seconds` of clock time is one session.
"""

from __future__ import annotations

import math
import random
from collections.abc import AsyncIterator

from pmbot.clock import Clock
from pmbot.core.events import IndexTick, VolTick
from pmbot.feeds.base import IndexFeed
from pmbot.pricing.calendar import IntradayCurve, TradingCalendar

__all__ = ["SyntheticFeed", "SyntheticPath"]


class SyntheticPath:
    """The pure part: advance a level by a given amount of variance time."""

    def __init__(
        self, seed: int, level: float = 6800.0, sigma_session: float = 0.008, nu: float = 4.0
    ) -> None:
        if level <= 0 or sigma_session < 0 or nu <= 2:
            raise ValueError("need level > 0, sigma_session >= 0 and nu > 2")
        self.rng = random.Random(seed)
        self.level = level
        self.sigma = sigma_session
        self.nu = nu
        self._t_scale = math.sqrt((nu - 2) / nu)

    def shock(self) -> float:
        """A unit-variance Student-t draw (normal / sqrt(chi2/nu))."""
        z = self.rng.gauss(0.0, 1.0)
        chi2 = self.rng.gammavariate(self.nu / 2, 2.0)
        return z / math.sqrt(chi2 / self.nu) * self._t_scale

    def advance(self, dv: float) -> float:
        """Move by `dv` session-variance units (martingale in level) and return the level."""
        if dv > 0:
            s = self.sigma * math.sqrt(dv)
            self.level *= math.exp(s * self.shock() - 0.5 * s * s)
        return self.level


class SyntheticFeed(IndexFeed):
    """Emit the synthetic level every `interval` seconds of the injected clock."""

    def __init__(
        self,
        clock: Clock,
        seed: int = 0,
        level: float = 6800.0,
        sigma_session: float = 0.008,
        interval: float = 1.0,
        calendar: TradingCalendar | None = None,
        session_seconds: float = 23_400.0,
        vix: float | None = None,
        stale_after: float = 30.0,
        name: str = "synthetic",
    ) -> None:
        super().__init__(name, clock, stale_after)
        self.path = SyntheticPath(seed, level, sigma_session)
        self.interval = interval
        self.calendar = calendar
        self.session_seconds = session_seconds
        self.vix = vix
        self._curve = IntradayCurve()

    def _v(self, t_ns: int) -> float:
        if self.calendar is not None:
            return self.calendar.cumulative(t_ns)
        x = t_ns / 1e9 / self.session_seconds
        n = math.floor(x)
        return n + self._curve.cum(x - n)

    async def _produce(self) -> AsyncIterator[IndexTick | VolTick]:
        now = self.clock.now_ns()
        if self.vix is not None:
            yield VolTick(now, "VIX", self.vix)
        last_v = self._v(now)
        yield IndexTick(now, self.path.level, self.name)
        while True:
            await self.clock.sleep(self.interval)
            now = self.clock.now_ns()
            if self.calendar is not None and not self.calendar.is_open(now):
                continue  # the index does not print outside sessions; the gap lands at the open
            v = self._v(now)
            if v > last_v:
                self.path.advance(v - last_v)
                last_v = v
            yield IndexTick(now, round(self.path.level, 2), self.name)
