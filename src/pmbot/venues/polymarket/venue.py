"""Polymarket as the bot sees a venue: YES-leg quotes in, domain events out.

The bot quotes every market on its YES leg (core/orders.py). Each side has two forms on the
venue, which its unified book matches alike: an ASK at p is a SELL of YES at p or a BUY of
NO at 1 - p (a mint against YES bids); a BID at p is a BUY of YES at p or a SELL of NO at
1 - p. The BUY forms need pUSD, the SELL forms tokens we hold; the port chooses (a BUY of
NO while holding YES would lock $1 per share in a YES+NO pair). The market's ticker is
its condition id. `run()` owns the feeds and the
heartbeat in one TaskGroup; `aclose()` stops them.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Sequence

from pmbot.clock import Clock, LiveClock
from pmbot.core import events as ev
from pmbot.core.money import ONE, Price, Qty
from pmbot.core.orders import Side
from pmbot.errors import OrderRejected, ProtocolViolation
from pmbot.venues.polymarket import wire as w
from pmbot.venues.polymarket.convert import (
    MarketInfo,
    order_side,
    order_status,
    parse_micro,
    parse_px,
)
from pmbot.venues.polymarket.http import PolyHttp
from pmbot.venues.polymarket.signing import ApiCreds, OrderSigner
from pmbot.venues.polymarket.urls import Endpoints
from pmbot.venues.polymarket.ws import Emit, MarketFeed, UserFeed

__all__ = ["PolymarketVenue", "open_order_update", "share_amount"]

log = logging.getLogger("pmbot.venues.polymarket")


def _base_units(s: str) -> bool:
    return "." not in s and len(s.lstrip("-")) >= 7


def share_amount(s: str, base_units: bool | None = None) -> int:
    """Micro-shares from an open-order size: share decimals ("100.0000") as captured, or 6-dp
    base units ("100000000") as the OpenAPI examples show (doc §3.6: parse both). Alone, an
    integer string of 7+ digits is read as base units (no real order is a million shares);
    `base_units` gives the encoding when a sibling field already told it."""
    if base_units is None:
        base_units = _base_units(s)
    return int(s) if base_units and "." not in s else parse_micro(s)


def open_order_update(o: w.PolyOpenOrder, m: MarketInfo, ts_ns: int) -> ev.OrderUpdate:
    side, price = order_side(m.leg(o.asset_id), o.side, parse_px(o.price))
    # one encoding per record, told by the original size (at least the 5-share minimum, so
    # 7+ digits in base units); a matched size under one share has fewer digits than that
    units = _base_units(o.original_size)
    orig = share_amount(o.original_size, units) // 10_000
    done = share_amount(o.size_matched, units) // 10_000
    st = order_status(o.status)
    rem = 0 if st.terminal else max(0, orig - done)
    return ev.OrderUpdate(o.id, None, m.condition_id, side, price, st, orig, done, rem, ts_ns)


class PolymarketVenue:
    name = "polymarket"

    def __init__(
        self,
        endpoints: Endpoints,
        signer: OrderSigner,
        condition_ids: Sequence[str],
        emit: Emit,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        creds: ApiCreds | None = None,
        heartbeat: float | None = 5.0,
        reconcile_every: float | None = 5.0,
        yield_to: Callable[[], bool] | None = None,
        silence_s: float = 30.0,
    ) -> None:
        """`yield_to`: see `ws.PolyWs` (both channels' readers ask it after each frame).
        `silence_s`: a channel that hears nothing (no frame, no PONG) this long reconnects;
        the market channel's books are stale (not quoted) until the new snapshots."""
        self.ep, self.emit = endpoints, emit
        self.yield_to, self.silence_s = yield_to, silence_s
        self.clock = clock or LiveClock()
        self.http = PolyHttp(endpoints, signer, creds=creds, clock=self.clock, rng=rng)
        self.condition_ids = list(condition_ids)
        self.heartbeat, self.reconcile_every = heartbeat, reconcile_every
        self.markets: dict[str, MarketInfo] = {}
        self.market_feed: MarketFeed | None = None
        self.user_feed: UserFeed | None = None
        self._stop = asyncio.Event()

    async def connect(self) -> list[MarketInfo]:
        """Credentials and market metadata; no streaming yet."""
        if self.http.creds is None:
            await self.http.create_or_derive_creds()
        for cid in self.condition_ids:
            self.markets[cid] = await self.http.market_info(cid)
        ms = list(self.markets.values())
        creds = self.http.creds
        assert creds is not None
        self.market_feed = MarketFeed(
            self.ep.ws,
            ms,
            self._on_market,
            self.http,
            clock=self.clock,
            yield_to=self.yield_to,
            stale_after=self.silence_s,
        )
        self.user_feed = UserFeed(
            self.ep.ws,
            ms,
            creds,
            self.emit,
            clock=self.clock,
            addresses=frozenset({self.http.signer.funder}),
            http=self.http,
            yield_to=self.yield_to,
            stale_after=self.silence_s,
        )
        return ms

    def _on_market(self, events: list[ev.Event]) -> None:
        self.emit(events)

    async def run(self) -> None:
        """Stream until `aclose()`: market + user channels, REST reconcile, heartbeat."""
        if self.market_feed is None or self.user_feed is None:
            await self.connect()
        assert self.market_feed is not None and self.user_feed is not None
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.market_feed.run(self.reconcile_every))
            tg.create_task(self.user_feed.run())
            if self.heartbeat:
                hb = tg.create_task(self.http.run_heartbeat(self.heartbeat))
            await self._stop.wait()
            await self.market_feed.ws.stop()
            await self.user_feed.ws.stop()
            if self.heartbeat:
                hb.cancel()

    async def aclose(self) -> None:
        self._stop.set()

    async def close_session(self) -> None:
        await self.http.aclose()

    # ---- orders ------------------------------------------------------------------------------
    def _order(  # type: ignore[no-untyped-def]
        self,
        ticker: str,
        side: Side,
        price: Price,
        qty: Qty,
        expiration: int = 0,
        market: bool = False,
        sell: bool = False,
    ):
        """A YES-leg order on the venue: a bid BUYs YES at p, an ask BUYs NO at 1 - p; with
        `sell`, a bid SELLs NO at 1 - p and an ask SELLs YES at p (tokens we hold)."""
        m = self.markets[ticker]
        if side is Side.BID:
            token, p = (m.no_token, ONE - price) if sell else (m.yes_token, price)
        else:
            token, p = (m.yes_token, price) if sell else (m.no_token, ONE - price)
        return self.http.limit_order(
            m,
            token_id=token,
            side="SELL" if sell else "BUY",
            price=p,
            size=qty,
            expiration=expiration,
            market=market,
        )

    async def place(
        self,
        ticker: str,
        side: Side,
        price: Price,
        qty: Qty,
        *,
        post_only: bool = True,
        expiration: int = 0,
    ) -> str:
        """Place one YES-leg limit order; returns the venue order id (its EIP-712 hash)."""
        order = self._order(ticker, side, price, qty, expiration)
        r = await self.http.post_order(order, "GTD" if expiration else "GTC", post_only=post_only)
        return r.orderID or order.order_id

    async def place_many(
        self, quotes: Sequence[tuple[str, Side, Price, Qty]], *, post_only: bool = True
    ) -> list[str | OrderRejected]:
        out: list[str | OrderRejected] = []
        orders = []
        for t, s, p, q in quotes:
            try:
                orders.append((len(out), self._order(t, s, p, q)))
                out.append("")
            except OrderRejected as e:
                out.append(e)
        if orders:
            res = await self.http.post_orders([(o, "GTC", post_only) for _, o in orders])
            for (i, o), r in zip(orders, res, strict=True):
                out[i] = r if isinstance(r, OrderRejected) else (r.orderID or o.order_id)
        return out

    async def cancel(self, order_id: str) -> bool:
        r = await self.http.cancel(order_id)
        return order_id in (r.canceled or [])

    async def cancel_many(self, ids: Sequence[str]) -> list[str]:
        return list((await self.http.cancel_orders(ids)).canceled or []) if ids else []

    async def cancel_all(self) -> list[str]:
        return list((await self.http.cancel_all()).canceled or [])

    async def open_orders(self) -> list[ev.OrderUpdate]:
        now = self.clock.now_ns()
        out = []
        for o in await self.http.open_orders():
            m = self.markets.get(o.market)
            if m is None:
                continue
            try:
                out.append(open_order_update(o, m, now))
            except ProtocolViolation as e:
                log.warning("unreadable open order %s: %s", o.id, e)
        return out
