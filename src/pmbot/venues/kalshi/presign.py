"""Signatures made ahead of time, so an order write on the hot path signs nothing.

A Kalshi signature covers `timestamp_ms + METHOD + path` only (no body), and the exchange
accepts a timestamp within about ±5 s of its clock (measured on demo, protocol doc §2.1).
Every write path the bot is about to use is known in advance: creating (single and
batched), batch-cancelling, and amending, decreasing or cancelling one of its resting
orders (the order id is in the path). RSA-PSS signing is the largest single cost between a
market event and the order on the socket (~220 µs of a ~1.4 ms path), and the
`cryptography` package releases the GIL while it signs, so a worker thread keeps a small
stock of fresh signatures for those paths and the request path takes one instead of
signing.

Rules that keep it safe:
* a signature is used once (PSS is randomised; each stocked one is distinct) and only
  while younger than `max_age_ms` (default 2 s: 3 s inside the venue's tolerance for
  the skew between our clock and the exchange's, which NTP keeps to milliseconds);
  older ones are dropped, never sent;
* the stock is refreshed before it ages out (`refresh_ms` before the limit), so a hit is
  the normal case and a miss falls back to signing on the spot;
* if the venue ever answers `header_timestamp_expired` the caller turns the stock off
  (`disable()`) and signs every request fresh from then on.

`PresignedHeaders` is sans-I/O and clock-free (times are passed in); `run()` is the small
async driver the app starts (the signing itself happens in an executor thread).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Executor

from pmbot.clock import Clock
from pmbot.venues.kalshi.signing import KalshiSigner

__all__ = ["PresignedHeaders"]

log = logging.getLogger("pmbot.kalshi")

Key = tuple[str, str]  # (METHOD, signed path)
Stocked = tuple[int, dict[str, str]]  # (timestamp ms, the three KALSHI-ACCESS-* headers)


class PresignedHeaders:
    """A stock of ready-made signature headers per (method, signed path)."""

    def __init__(
        self,
        signer: KalshiSigner,
        *,
        max_age_ms: int = 2_000,
        refresh_ms: int = 600,
        per_path: int = 1,
        max_paths: int = 512,
    ) -> None:
        if not 0 < refresh_ms < max_age_ms:
            raise ValueError("presign: need 0 < refresh_ms < max_age_ms")
        self.signer = signer
        self.max_age_ms, self.refresh_ms = max_age_ms, refresh_ms
        self.per_path, self.max_paths = per_path, max_paths
        self.enabled = True
        self.hits = self.misses = self.expired = self.signed = 0
        self._stock: dict[Key, deque[Stocked]] = {}

    def take(self, method: str, path: str, now_ms: int) -> dict[str, str] | None:
        """A fresh signature for this request (removed from the stock), or None."""
        if not self.enabled:
            return None
        q = self._stock.get((method, path))
        while q:
            ts, headers = q.popleft()
            if 0 <= now_ms - ts <= self.max_age_ms:
                self.hits += 1
                return headers
            self.expired += 1
        self.misses += 1
        return None

    def due(self, wanted: Iterable[Key], now_ms: int) -> list[Key]:
        """What to sign now: each wanted path short of `per_path` signatures that will still
        be fresh `refresh_ms` from now. Paths no longer wanted are dropped."""
        if not self.enabled:
            return []
        keep: dict[Key, deque[Stocked]] = {}
        todo: list[Key] = []
        limit = self.max_age_ms - self.refresh_ms
        for key in wanted:
            if key in keep or len(keep) >= self.max_paths:
                continue
            q = self._stock.get(key) or deque()
            while q and now_ms - q[0][0] > limit:
                q.popleft()
            keep[key] = q
            todo += [key] * (self.per_path - len(q))
        self._stock = keep
        return todo

    def sign_many(self, keys: list[Key], ts_ms: int) -> list[tuple[Key, Stocked]]:
        """Sign every key at `ts_ms` (thread-safe: touches no shared state)."""
        return [((m, p), (ts_ms, self.signer.headers(ts_ms, m, p))) for m, p in keys]

    def add(self, signed: list[tuple[Key, Stocked]]) -> None:
        self.signed += len(signed)
        for key, item in signed:
            q = self._stock.get(key)
            if q is not None:  # still wanted
                q.append(item)

    def disable(self, why: str) -> None:
        if self.enabled:
            log.warning("kalshi presigned signatures off: %s", why)
        self.enabled = False
        self._stock.clear()

    async def run(
        self,
        wanted: Callable[[], Iterable[Key]],
        wall: Clock,
        executor: Executor | None = None,
        period_s: float = 0.2,
    ) -> None:
        """Keep the stock full: every `period_s`, sign what is due in a worker thread."""
        loop = asyncio.get_running_loop()
        while self.enabled:
            now_ms = wall.now_ns() // 1_000_000
            todo = self.due(wanted(), now_ms)
            if todo:
                ts = wall.now_ns() // 1_000_000
                self.add(await loop.run_in_executor(executor, self.sign_many, todo, ts))
            await asyncio.sleep(period_s)
