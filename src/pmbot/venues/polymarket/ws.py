"""Our Polymarket WebSocket clients (aiohttp): market and user channels into typed events.

`PolyWs` owns one connection and keeps it: subscribe right after connect, text `PING`
every `ping_interval` (10 s, doc §4), reconnect with capped backoff on close, error, or
silence (no frame and no PONG for `stale_after`), and resubscribe every time.
`MarketFeed` and `UserFeed` put stream.py behind it: on every (re)connect the market books
go stale and the subscription's `book` events re-snapshot them; when a frame leaves a
market inconsistent, the feed re-snapshots it by REST `/book` at once (no sequence numbers
exist to do better).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from pmbot.backoff import Backoff
from pmbot.clock import Clock, LiveClock
from pmbot.core import events as ev
from pmbot.core.book import BinaryBook
from pmbot.errors import AuthError, BookError, ProtocolViolation, VenueError
from pmbot.venues.polymarket.convert import MarketInfo, token_levels
from pmbot.venues.polymarket.http import PolyHttp
from pmbot.venues.polymarket.signing import ApiCreds
from pmbot.venues.polymarket.stream import MarketStream, UserStream

__all__ = ["MarketFeed", "PolyWs", "UserFeed"]

log = logging.getLogger("pmbot.venues.polymarket")
Emit = Callable[[list[ev.Event]], None]


class PolyWs:
    """One self-healing WebSocket: `run()` until `stop()`; frames go to `on_frame`."""

    def __init__(
        self,
        url: str,
        subscribe: Callable[[], dict[str, Any]],
        on_frame: Callable[[str], Awaitable[None]],
        *,
        clock: Clock | None = None,
        on_up: Callable[[], Awaitable[None]] | None = None,
        on_down: Callable[[str], Awaitable[None]] | None = None,
        ping_interval: float = 10.0,
        stale_after: float = 30.0,
        backoff: Backoff | None = None,
        yield_to: Callable[[], bool] | None = None,
    ) -> None:
        """`yield_to`: asked after each frame; True gives the event loop a turn before the
        next one (frames already buffered are otherwise read in one go, without yielding)."""
        self.url, self.subscribe, self.on_frame = url, subscribe, on_frame
        self.yield_to = yield_to
        self.on_up, self.on_down = on_up, on_down
        self.clock = clock or LiveClock()
        # silence is judged when a PING is due: ping at least twice per `stale_after`, else a
        # quiet channel would reconnect before its PONG could arrive
        self.ping_interval = min(ping_interval, stale_after / 2)
        self.stale_after = stale_after
        self.backoff = backoff or Backoff(0.05, 5.0)
        self.connects = 0
        self.pongs = 0
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._stop = asyncio.Event()
        self._last_rx = 0.0

    async def send(self, msg: dict[str, Any]) -> None:
        if self._ws is not None and not self._ws.closed:
            await self._ws.send_str(json.dumps(msg, separators=(",", ":")))

    async def stop(self) -> None:
        self._stop.set()
        if self._ws is not None:
            await self._ws.close()

    async def reconnect(self) -> None:
        """Force a fresh connection (and so a fresh snapshot)."""
        if self._ws is not None:
            await self._ws.close()

    async def run(self) -> None:
        async with aiohttp.ClientSession() as session:
            while not self._stop.is_set():
                reason = "closed"
                try:
                    # a peer that went silent will not answer our close either: do not wait the
                    # default 10 s for it before the books are marked stale (`on_down`)
                    close_wait = aiohttp.ClientWSTimeout(ws_close=min(1.0, self.stale_after / 4))
                    async with session.ws_connect(
                        self.url, autoping=True, heartbeat=None, timeout=close_wait
                    ) as ws:
                        self._ws = ws
                        self.connects += 1
                        await ws.send_str(json.dumps(self.subscribe(), separators=(",", ":")))
                        self._last_rx = self.clock.monotonic()
                        up_at = self.clock.monotonic()
                        if self.on_up is not None:
                            await self.on_up()
                        reason = await self._pump(ws)
                        # only a connection that stayed up counts as a success: a server that
                        # accepts and drops (or refuses the subscription) must still back off
                        if self.clock.monotonic() - up_at >= self.ping_interval:
                            self.backoff.reset()
                except (TimeoutError, aiohttp.ClientError, OSError) as e:
                    reason = f"{type(e).__name__}: {e}"
                finally:
                    self._ws = None
                if self._stop.is_set():
                    break
                delay = self.backoff.next_delay()
                log.info("ws down url=%s reason=%s; reconnecting in %.2fs", self.url, reason, delay)
                if self.on_down is not None:
                    await self.on_down(reason)
                await self.clock.sleep(delay)

    async def _pump(self, ws: aiohttp.ClientWebSocketResponse) -> str:
        pinger = asyncio.create_task(self._pinger(ws))
        yield_to = self.yield_to
        try:
            async for msg in ws:
                self._last_rx = self.clock.monotonic()
                if msg.type is aiohttp.WSMsgType.TEXT:
                    if msg.data == "PONG":
                        self.pongs += 1
                        continue
                    await self.on_frame(msg.data)
                    if yield_to is not None and yield_to():
                        await asyncio.sleep(0)
                elif msg.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSED):
                    break
            return "closed by peer"
        finally:
            pinger.cancel()
            await asyncio.gather(pinger, return_exceptions=True)

    async def _pinger(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """PING every `ping_interval`; give up on the socket as soon as `stale_after` passes
        without a frame or PONG (not at the next PING, up to `ping_interval` later)."""
        next_ping = self.clock.monotonic() + self.ping_interval
        while not ws.closed:
            now = self.clock.monotonic()
            await self.clock.sleep(max(0.0, min(next_ping, self._last_rx + self.stale_after) - now))
            now = self.clock.monotonic()
            if now - self._last_rx >= self.stale_after:
                log.warning("ws silent for %.1fs url=%s: reconnecting", self.stale_after, self.url)
                await ws.close()
                return
            if now >= next_ping:
                next_ping = now + self.ping_interval
                await ws.send_str("PING")


class MarketFeed:
    """Market channel -> MarketStream (BinaryBooks) -> domain events via `emit`."""

    def __init__(
        self,
        ws_base: str,
        markets: list[MarketInfo],
        emit: Emit,
        http: PolyHttp | None = None,
        *,
        clock: Clock | None = None,
        **ws_kw: Any,
    ) -> None:
        self.clock = clock or LiveClock()
        self.stream = MarketStream(markets)
        self.emit, self.http = emit, http
        self.resyncs = 0
        self.ws = PolyWs(
            ws_base.rstrip("/") + "/ws/market",
            self._subscription,
            self._frame,
            clock=self.clock,
            on_up=self._up,
            on_down=self._down,
            **ws_kw,
        )

    def _subscription(self) -> dict[str, Any]:
        return {
            "type": "market",
            "assets_ids": self.stream.asset_ids(),
            "custom_feature_enabled": True,
        }

    async def _up(self) -> None:
        """Every connect marks the books stale; the subscription's `book` events re-snapshot
        them, and after a reconnect REST does too (sizes are absolute, so frames queued
        behind the REST snapshot re-apply harmlessly)."""
        now = self.clock.now_ns()
        again = self.ws.connects >= 2
        self.emit(
            [
                ev.ConnectionState(
                    now, "polymarket", "market", True, "reconnected" if again else "connected"
                ),
                *self.stream.mark_all_stale(now, "reconnect: waiting for snapshot"),
            ]
        )
        if again:
            for cid in list(self.stream.markets):
                await self.resync(cid)

    async def _down(self, reason: str) -> None:
        now = self.clock.now_ns()
        self.emit(
            [
                ev.ConnectionState(now, "polymarket", "market", False, reason),
                *self.stream.mark_all_stale(now, f"disconnected: {reason}"),
            ]
        )

    async def _frame(self, data: str) -> None:
        now = self.clock.now_ns()
        try:
            events = self.stream.on_frame(data, now)
        except ProtocolViolation as e:
            log.warning("undecodable market frame: %s", e)
            events = self.stream.mark_all_stale(now, f"protocol violation: {e}")
        if events:
            self.emit(events)
        self._drain_ticks()
        fresh_before = [
            c
            for c in self.stream.needs_resync
            if any(isinstance(e, ev.BookStale) and e.ticker == c for e in events)
        ]
        for cid in fresh_before:
            await self.resync(cid)

    def _drain_ticks(self) -> None:
        if self.stream.tick_changes:
            for token, tick in self.stream.tick_changes:
                if self.http is not None:
                    self.http.forget_tick(token, tick)  # the next order signs on the new tick
            self.stream.tick_changes.clear()

    async def resync(self, cid: str) -> None:
        """Re-snapshot one market from REST /book (either token: they mirror)."""
        if self.http is None:
            return
        self.resyncs += 1
        try:
            book = await self.http.book(self.stream.markets[cid].yes_token)
            events = self.stream.apply_book(book, self.clock.now_ns())
        except VenueError as e:  # ProtocolViolation included: an unreadable REST book
            log.warning("resync of %s failed: %s", cid, e)
            return
        self._drain_ticks()
        self.emit(events)

    async def reconcile(self) -> int:
        """Compare every book with REST /book and re-snapshot those that differ.

        The guard against the silent freeze (socket up, PONGs flowing, no data; doc §7.8):
        run it every few seconds. Returns how many markets were re-snapshotted.
        """
        if self.http is None:
            return 0
        n = 0
        applied = self.stream.applied
        for cid, m in self.stream.markets.items():
            before = applied[cid]
            try:
                b = await self.http.book(m.yes_token)
                if applied[cid] != before and self.stream.fresh[cid]:
                    # frames moved the book while the request was out: the reply may be older
                    # than what we hold, and the stream is evidently alive; check next time
                    continue
                yes, no = token_levels(True, b.bids, b.asks)
                ref = BinaryBook(self.stream.books[cid].grid, cid)
                ref.apply_snapshot(yes, no)
            except (VenueError, BookError) as e:
                log.warning("reconcile of %s failed: %s", cid, e)
                continue
            if ref != self.stream.books[cid] or not self.stream.fresh[cid]:
                n += 1
                self.resyncs += 1
                self.emit(self.stream.apply_book(b, self.clock.now_ns()))
                self._drain_ticks()
        return n

    async def run(self, reconcile_every: float | None = None) -> None:
        if reconcile_every is None:
            await self.ws.run()
            return
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.ws.run())
            tg.create_task(self._reconcile_loop(reconcile_every))

    async def _reconcile_loop(self, every: float) -> None:
        while not self.ws._stop.is_set():
            await self.clock.sleep(every)
            await self.reconcile()


_CATCHUP_MARGIN_S = 5  # clock skew between us and the venue


class UserFeed:
    """User channel (raw apiKey/secret/passphrase in the subscribe frame, no HMAC)."""

    def __init__(
        self,
        ws_base: str,
        markets: list[MarketInfo],
        creds: ApiCreds,
        emit: Emit,
        *,
        addresses: frozenset[str] = frozenset(),
        clock: Clock | None = None,
        http: PolyHttp | None = None,
        **ws_kw: Any,
    ) -> None:
        self.clock = clock or LiveClock()
        self.creds = creds
        self.stream = UserStream(markets, creds.api_key, frozenset(a.lower() for a in addresses))
        self.emit = emit
        self.http = http
        self.catchups = 0
        self.refusals = 0  # subscriptions refused in a row
        self._since_s: int | None = None  # unix s: the catch-up's lower bound on match times
        self.ws = PolyWs(
            ws_base.rstrip("/") + "/ws/user",
            self._subscription,
            self._frame,
            clock=self.clock,
            on_up=self._up,
            on_down=self._down,
            **ws_kw,
        )

    async def _down(self, reason: str) -> None:
        self.emit([ev.ConnectionState(self.clock.now_ns(), "polymarket", "user", False, reason)])

    async def _up(self) -> None:
        """After a reconnect, replay REST trades: fills or voids missed while down (dedup'd).

        Only trades matched since this run's first connection (less a margin): the account's
        older history is the order manager's (its reconciliation backfill has its own window
        and the ledger's dedup); replayed here it came back as new fills on a fresh ledger."""
        if self._since_s is None:
            self._since_s = max(0, self.clock.now_ns() // 1_000_000_000 - _CATCHUP_MARGIN_S)
        again = self.ws.connects >= 2
        # "reconnected" tells the order manager to reconcile (orders the venue ended while
        # the channel was down), as on Kalshi
        self.emit(
            [
                ev.ConnectionState(
                    self.clock.now_ns(),
                    "polymarket",
                    "user",
                    True,
                    "reconnected" if again else "connected",
                )
            ]
        )
        if self.http is None or not again:
            return
        now = self.clock.now_ns()
        for m in self.stream.markets:
            try:
                trades = await self.http.trades(market=m.condition_id, after=str(self._since_s))
            except VenueError as e:
                log.warning("user catch-up for %s failed: %s", m.condition_id, e)
                continue
            events: list[ev.Event] = []
            for t in trades:
                try:
                    events += self.stream.trade(t, now)
                except ProtocolViolation as e:  # one unreadable trade: skip it, not fatal
                    log.warning("unreadable trade %s in catch-up: %s", t.id, e)
            if events:
                self.emit(events)
        self.catchups += 1  # done (counted at the end: tests wait for it)

    def _subscription(self) -> dict[str, Any]:
        c = self.creds
        return {
            "type": "user",
            "auth": {"apiKey": c.api_key, "secret": c.secret, "passphrase": c.passphrase},
            "markets": [m.condition_id for m in self.stream.markets],
        }

    async def _frame(self, data: str) -> None:
        if data[:12].lstrip().startswith('{"error"'):
            self._refused(data)
            return
        self.refusals = 0
        try:
            events = self.stream.on_frame(data, self.clock.now_ns())
        except ProtocolViolation as e:
            log.warning("undecodable user frame: %s", e)
            return
        if self.stream.errors:
            log.warning("unreadable user messages skipped: %s", self.stream.errors)
            self.stream.errors.clear()
        if events:
            self.emit(events)

    def _refused(self, data: str) -> None:
        """The server refused the subscription (`{"error": "..."}`, then it closes): said at
        error level every time; bad credentials three times running end the run as an
        AuthError (a bot blind to its own fills must not go on quoting)."""
        try:
            why = str(json.loads(data).get("error"))
        except (ValueError, AttributeError):
            why = data[:200]
        self.refusals += 1
        log.error("polymarket user channel refused: %s (%d in a row)", why, self.refusals)
        if self.refusals >= 3 and "auth" in why.lower():
            raise AuthError(f"polymarket user channel refused the API credentials: {why}")

    async def run(self) -> None:
        await self.ws.run()
