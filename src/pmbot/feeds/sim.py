"""Poll the simulator's index endpoint, so a paper bot reads the level its markets settle on.

GET {base}/sim/index -> {"ts_ms": int, "level": "7650.1200"}. The level is a decimal string
(parsed with float: it is a model quantity, not money). A repeated `ts_ms` is not a new
tick. HTTP errors, timeouts and malformed bodies are logged and retried with backoff; the
base class reports the feed stale when nothing new arrives for `stale_after` seconds.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from pmbot.backoff import Backoff
from pmbot.clock import Clock
from pmbot.core.events import IndexTick, VolTick
from pmbot.feeds.base import IndexFeed

__all__ = ["SimIndexFeed", "parse_sim_index"]

log = logging.getLogger("pmbot.feeds.sim")


def parse_sim_index(body: Any) -> tuple[int, float]:
    """(ts_ns, level) from the endpoint's JSON body; ValueError if it is not that shape."""
    if not isinstance(body, dict):
        raise ValueError("body is not an object")
    ts_ms, level_s = body.get("ts_ms"), body.get("level")
    if not isinstance(ts_ms, int) or isinstance(ts_ms, bool) or not isinstance(level_s, str):
        raise ValueError(f"unexpected types ts_ms={ts_ms!r} level={level_s!r}")
    level = float(level_s)
    if not (math.isfinite(level) and level > 0):
        raise ValueError(f"bad level {level_s!r}")
    return ts_ms * 1_000_000, level


class SimIndexFeed(IndexFeed):
    def __init__(
        self,
        clock: Clock,
        base_url: str,
        interval: float = 1.0,
        stale_after: float = 10.0,
        timeout: float = 5.0,
        session: aiohttp.ClientSession | None = None,
        backoff: Backoff | None = None,
        name: str = "sim",
    ) -> None:
        super().__init__(name, clock, stale_after)
        self.url = base_url.rstrip("/") + "/sim/index"
        self.interval = interval
        self.timeout = timeout
        self._session = session
        self.backoff = backoff or Backoff(0.5, 30.0)
        self.errors = 0

    async def _fetch(self, session: aiohttp.ClientSession) -> tuple[int, float]:
        tmo = aiohttp.ClientTimeout(total=self.timeout)
        async with session.get(self.url, timeout=tmo) as resp:
            if resp.status != 200:
                raise ValueError(f"HTTP {resp.status}")
            return parse_sim_index(await resp.json(content_type=None))

    async def _produce(self) -> AsyncIterator[IndexTick | VolTick]:
        own = self._session is None
        session = self._session or aiohttp.ClientSession()
        last_ts = -1
        try:
            while True:
                try:
                    ts, level = await self._fetch(session)
                except (TimeoutError, aiohttp.ClientError, ValueError) as e:
                    self.errors += 1
                    delay = self.backoff.next_delay()
                    log.warning(
                        "sim index poll failed url=%s error=%r retry_in=%.1fs", self.url, e, delay
                    )
                    await self.clock.sleep(delay)
                    continue
                self.backoff.reset()
                if ts > last_ts:
                    last_ts = ts
                    yield IndexTick(ts, level, self.name)
                await self.clock.sleep(self.interval)
        finally:
            if own:
                await session.close()
