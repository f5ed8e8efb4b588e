"""Yahoo Finance index feed through yfinance: ^GSPC levels, ^VIX / ^VIX1D prints.

Two sources, merged and de-duplicated by timestamp:
* streaming: Yahoo's pricing websocket (the protocol of yfinance's `AsyncWebSocket`:
  subscribe JSON, base64 `PricingData` protobuf decoded by yfinance's own decoder). The
  connection is ours (aiohttp) because yfinance's `AsyncWebSocket.listen` spins in a loop
  once the server closes cleanly and starts fire-and-forget heartbeat tasks on real time;
* polling (the fallback, and the only source for symbols the stream does not carry):
  `yfinance.Ticker.history(period="1d", interval="1m")` in a worker thread
  (`asyncio.to_thread`, yfinance is blocking), reading `regularMarketPrice` /
  `regularMarketTime` from the parsed chart metadata, or the last complete bar. The index
  is polled only while the stream has been silent for `poll_interval`.

Errors of any kind (HTTP, parsing, empty frames, NaNs) are logged and retried with
exponential backoff; nothing a response contains can end the feed. A repeated timestamp
is not a new tick, so the base class reports the feed stale after `stale_after` seconds
without fresh data even when every request succeeds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp

from pmbot.backoff import Backoff
from pmbot.clock import Clock
from pmbot.core.events import IndexTick, VolTick
from pmbot.feeds.base import IndexFeed

__all__ = ["YAHOO_STREAM_URL", "YahooFeed"]

log = logging.getLogger("pmbot.feeds.yahoo")

YAHOO_STREAM_URL = "wss://streamer.finance.yahoo.com/?version=2"
_HEARTBEAT = 15.0  # seconds between re-subscribes, as yfinance does


def _finite_positive(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) and v > 0 else None


def _ts_ns(x: Any) -> int | None:
    """Epoch ns from yfinance's formatted metadata (a Timestamp) or raw epoch seconds."""
    value = getattr(x, "value", None)  # pandas.Timestamp: UTC epoch ns
    if isinstance(value, int) and value > 0:
        return value
    if isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) and x > 0:
        return int(x) * 1_000_000_000
    return None


class YahooFeed(IndexFeed):
    def __init__(
        self,
        clock: Clock,
        index_symbol: str = "^GSPC",
        vol_symbols: Mapping[str, str] | None = None,
        poll_interval: float = 5.0,
        vol_poll_interval: float = 60.0,
        stale_after: float = 30.0,
        session: Any = None,
        stream_url: str | None = YAHOO_STREAM_URL,
        ws_session: aiohttp.ClientSession | None = None,
        backoff: Backoff | None = None,
        name: str = "yahoo",
    ) -> None:
        super().__init__(name, clock, stale_after)
        self.index_symbol = index_symbol
        self.vol_symbols = dict(
            {"^VIX": "VIX", "^VIX1D": "VIX1D"} if vol_symbols is None else vol_symbols
        )
        self.poll_interval = poll_interval
        self.vol_poll_interval = vol_poll_interval
        self.session = session  # a requests / curl_cffi session handed to yfinance
        self.stream_url = stream_url
        self._ws_session = ws_session
        self.backoff = backoff or Backoff(1.0, 60.0)
        self.stream_backoff = Backoff(1.0, 300.0)
        self.errors = 0
        self.stream_connected = False
        self._tickers: dict[str, Any] = {}
        self._last_ts: dict[str, int] = {}
        self._last_stream_msg: float | None = None
        self._decoder: Any = None

    # ---- blocking part (worker thread) ------------------------------------------------

    def _fetch_latest(self, symbol: str) -> tuple[int, float]:
        """(ts_ns, price) of the latest print via yfinance; raises ValueError when absent."""
        import yfinance as yf

        t = self._tickers.get(symbol)
        if t is None:
            t = self._tickers[symbol] = yf.Ticker(symbol, session=self.session)
        df = t.history(period="1d", interval="1m")
        meta = t.history_metadata or {}
        price = _finite_positive(meta.get("regularMarketPrice"))
        when = _ts_ns(meta.get("regularMarketTime"))
        if price is not None and when is not None:
            return when, price
        if df is None or df.empty or "Close" not in df:
            raise ValueError(f"{symbol}: no price in the response")
        closes = df["Close"].dropna()
        closes = closes[closes > 0]
        if closes.empty:
            raise ValueError(f"{symbol}: only empty bars")
        return int(closes.index[-1].value), float(closes.iloc[-1])

    # ---- event production ---------------------------------------------------------------

    def _accept(self, key: str, ts_ns: int) -> bool:
        if ts_ns <= self._last_ts.get(key, -1):
            return False
        self._last_ts[key] = ts_ns
        return True

    def _to_event(self, symbol: str, ts_ns: int, price: float) -> IndexTick | VolTick | None:
        if symbol == self.index_symbol:
            return IndexTick(ts_ns, price, self.name) if self._accept(symbol, ts_ns) else None
        vol = self.vol_symbols.get(symbol)
        if vol is not None and self._accept(symbol, ts_ns):
            return VolTick(ts_ns, vol, price)
        return None

    async def _poll(self, symbol: str, q: asyncio.Queue[IndexTick | VolTick]) -> bool:
        try:
            ts, price = await asyncio.to_thread(self._fetch_latest, symbol)
        except Exception as e:  # yfinance raises many types; none may end the feed
            self.errors += 1
            log.warning("yahoo poll failed symbol=%s error=%r", symbol, e)
            return False
        ev = self._to_event(symbol, ts, price)
        if ev is not None:
            q.put_nowait(ev)
        return True

    async def _poll_loop(self, q: asyncio.Queue[IndexTick | VolTick]) -> None:
        """The index, polled while the stream is not delivering it."""
        while True:
            ok = True
            now = self.clock.monotonic()
            streaming = (
                self._last_stream_msg is not None
                and now - self._last_stream_msg < self.poll_interval
            )
            if not streaming:
                ok = await self._poll(self.index_symbol, q)
            if ok:
                self.backoff.reset()
                delay = self.poll_interval
            else:
                delay = max(self.poll_interval, self.backoff.next_delay())
            await self.clock.sleep(delay)

    async def _vol_loop(self, q: asyncio.Queue[IndexTick | VolTick]) -> None:
        """The volatility symbols, in their own task: a slow reply (yfinance waits up to
        10 s) must never hold up the index polls, whose silence halts quoting."""
        start = self.clock.monotonic()
        next_vol = dict.fromkeys(self.vol_symbols, start)
        vol_backoff = {sym: Backoff(self.vol_poll_interval, 3600.0) for sym in self.vol_symbols}
        while True:
            for sym in self.vol_symbols:
                # a symbol Yahoo does not carry (^VIX1D at times) backs off up to an hour
                if self.clock.monotonic() >= next_vol[sym]:
                    if await self._poll(sym, q):
                        vol_backoff[sym].reset()
                        wait = self.vol_poll_interval
                    else:
                        wait = vol_backoff[sym].next_delay()
                    next_vol[sym] = self.clock.monotonic() + wait
            now = self.clock.monotonic()
            await self.clock.sleep(max(0.0, min(next_vol.values()) - now))

    def _decode(self, raw: str) -> tuple[str, int, float] | None:
        """(symbol, ts_ns, price) from one stream frame via yfinance's protobuf decoder."""
        if self._decoder is None:
            from yfinance.live import BaseWebSocket

            self._decoder = BaseWebSocket(verbose=False)
        try:
            frame = json.loads(raw)
            d = self._decoder._decode_message(frame["message"])
            sym, price = d["id"], _finite_positive(d["price"])
            ts_ms = int(d["time"])
        except Exception as e:
            self.errors += 1
            log.warning("yahoo stream frame skipped error=%r", e)
            return None
        if price is None or ts_ms <= 0:
            return None
        # the protobuf carries float32: round to the symbol's 2-decimal print
        return sym, ts_ms * 1_000_000, round(price, 2)

    async def _stream_once(
        self, session: aiohttp.ClientSession, q: asyncio.Queue[IndexTick | VolTick]
    ) -> str:
        """One connection, until it ends; why it ended."""
        assert self.stream_url is not None
        symbols = [self.index_symbol, *self.vol_symbols]
        async with session.ws_connect(self.stream_url, heartbeat=None) as ws:
            self.stream_connected = True
            log.info("yahoo stream connected url=%s symbols=%s", self.stream_url, symbols)
            sub = json.dumps({"subscribe": symbols})
            await ws.send_str(sub)

            last_rx = [self.clock.monotonic()]
            why = ["closed by server"]
            # a peer that stays connected but sends nothing (even to our re-subscribes) is
            # given up after this long and reconnected, instead of kept for the whole run
            # with the polls standing in for good
            silence = max(self.stale_after, 2 * _HEARTBEAT)

            async def heartbeat() -> None:
                while True:
                    await self.clock.sleep(_HEARTBEAT)
                    quiet = self.clock.monotonic() - last_rx[0]
                    if quiet >= silence:
                        why[0] = f"silent for {quiet:.0f}s: closed by us"
                        await ws.close()
                        return
                    await ws.send_str(sub)

            hb = asyncio.create_task(heartbeat())
            try:
                async for msg in ws:
                    last_rx[0] = self.clock.monotonic()
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        continue
                    got = self._decode(msg.data)
                    if got is None:
                        continue
                    self.stream_backoff.reset()
                    if got[0] == self.index_symbol:  # VIX frames do not stand in for the index
                        self._last_stream_msg = self.clock.monotonic()
                    ev = self._to_event(*got)
                    if ev is not None:
                        q.put_nowait(ev)
            finally:
                hb.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await hb
                self.stream_connected = False
        return why[0]

    async def _stream_loop(self, q: asyncio.Queue[IndexTick | VolTick]) -> None:
        own = self._ws_session is None
        session = self._ws_session or aiohttp.ClientSession()
        try:
            while True:
                try:
                    reason = await self._stream_once(session, q)
                except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as e:
                    reason = repr(e)
                delay = self.stream_backoff.next_delay()
                log.warning(
                    "yahoo stream down reason=%s polling meanwhile; retry_in=%.0fs", reason, delay
                )
                await self.clock.sleep(delay)
        finally:
            if own:
                await session.close()

    async def _produce(self) -> AsyncIterator[IndexTick | VolTick]:
        q: asyncio.Queue[IndexTick | VolTick] = asyncio.Queue()
        tasks = [asyncio.create_task(self._poll_loop(q), name="yahoo-poll")]
        if self.vol_symbols:
            tasks.append(asyncio.create_task(self._vol_loop(q), name="yahoo-vol"))
        if self.stream_url:
            tasks.append(asyncio.create_task(self._stream_loop(q), name="yahoo-stream"))
        try:
            while True:
                get = asyncio.ensure_future(q.get())
                done, _ = await asyncio.wait([get, *tasks], return_when=asyncio.FIRST_COMPLETED)
                if get not in done:
                    get.cancel()
                    for t in tasks:  # a loop ended: only a bug gets here; surface it
                        if t.done():
                            t.result()
                            raise RuntimeError(f"{t.get_name()} ended")
                yield get.result()
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
