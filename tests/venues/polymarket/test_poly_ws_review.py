"""Polymarket WebSocket feeds, regressions from a review (session 8): a message, trade or REST
book the stream cannot read never ends the run nor loses the fills around it; a server that
accepts and drops is backed off; the reconnect catch-up replays only this run's trades; a
level under 0.01 share stays in the book."""

from __future__ import annotations

import asyncio
import json
import random
import time
from typing import Any

import pytest
from aiohttp import web
from eth_account import Account
from poly_simdata import CID as SIM_CID
from poly_simdata import NO as SIM_NO
from poly_simdata import YES as SIM_YES

from pmbot.backoff import Backoff
from pmbot.clock import LiveClock
from pmbot.core import events as ev
from pmbot.venues.polymarket import wire as w
from pmbot.venues.polymarket.convert import MarketInfo, level_qty, token_levels
from pmbot.venues.polymarket.http import PolyHttp
from pmbot.venues.polymarket.signing import ApiCreds, OrderSigner
from pmbot.venues.polymarket.urls import Endpoints
from pmbot.venues.polymarket.ws import MarketFeed, PolyWs, UserFeed

CID, YES, NO = "0xc1", "111", "222"
ME = "my-api-key"


async def until(pred: Any, what: str, limit: float = 10.0) -> None:
    t0 = time.monotonic()
    while not pred():
        assert time.monotonic() - t0 < limit, f"timed out: {what}"
        await asyncio.sleep(0.01)


async def _client(sim: Any) -> PolyHttp:
    c = PolyHttp(
        Endpoints.local(sim.url), OrderSigner(Account.create().key.hex()), rng=random.Random(1)
    )
    await c.create_or_derive_creds()
    return c


# ---- a REST book the stream cannot read ---------------------------------------------------
class BookHttp:
    def __init__(self, bids: list[w.PolyLevel]) -> None:
        self.bids = bids

    async def book(self, token_id: str) -> w.PolyBook:
        return w.PolyBook(market=CID, asset_id=token_id, bids=self.bids, asks=[])

    def forget_tick(self, *a: object) -> None: ...


@pytest.mark.parametrize(
    "bids",
    [[w.PolyLevel("0.4O", "10")], [w.PolyLevel("0.40", "-10")]],
    ids=["bad-price", "negative-size"],
)
async def test_an_unreadable_rest_book_is_skipped_not_fatal(bids: list[w.PolyLevel]) -> None:
    """An unreadable /book (a price the parser refuses, a negative size) raised out of the
    resync (in the reader task) and the reconcile (a task of the feed): the run ended."""
    feed = MarketFeed(
        "ws://127.0.0.1:1",
        [MarketInfo(CID, YES, NO)],
        lambda e: None,
        BookHttp(bids),  # type: ignore[arg-type]
    )
    await feed.resync(CID)
    assert await feed.reconcile() == 0
    assert not feed.stream.fresh[CID]  # left stale, for the next try


def test_a_level_under_a_hundredth_of_a_share_stays_in_the_book() -> None:
    """A market buy in 4-dp shares leaves dust (0.0091 share) on a resting order; floored
    to 0 the level vanished, every later frame disagreed with the venue's best ask and
    forced a REST resync. It now counts as the smallest size we hold, 0.01."""
    assert (level_qty("0.0091"), level_qty("0"), level_qty("5.019")) == (1, 0, 501)
    bids, asks = [w.PolyLevel("0.40", "10")], [w.PolyLevel("0.555", "0.0091")]
    yes, no = token_levels(True, bids, asks)
    assert yes == [(4000, 1000)] and no == [(10_000 - 5550, 1)]


# ---- a user frame holding one message the stream cannot read ------------------------------
def _trade(status: str) -> dict[str, str]:
    return {
        "event_type": "trade",
        "type": "TRADE",
        "id": "t1",
        "market": CID,
        "asset_id": YES,
        "side": "BUY",
        "size": "10",
        "price": "0.40",
        "status": status,
        "owner": ME,
        "trader_side": "TAKER",
        "taker_order_id": "0xmine",
    }


def _order(status: str) -> dict[str, str]:
    return {
        "event_type": "order",
        "type": "UPDATE",
        "id": "0xmine",
        "market": CID,
        "asset_id": YES,
        "side": "BUY",
        "price": "0.40",
        "original_size": "10",
        "size_matched": "10",
        "status": status,
        "owner": ME,
    }


async def test_a_fill_beside_an_unreadable_message_is_not_lost() -> None:
    """One frame: our fill, then an order update with a status the stream does not know.
    The whole frame's events were dropped while the stream had booked the trade, so its
    MINED/CONFIRMED frames found it known and no Fill ever reached the order manager."""
    got: list[ev.Event] = []
    feed = UserFeed("ws://x", [MarketInfo(CID, YES, NO)], ApiCreds(ME, "c2Vj", "p"), got.extend)
    await feed._frame(json.dumps([_trade("MATCHED"), _order("PARTIALLY_MATCHED")]))
    await feed._frame(json.dumps(_trade("MINED")))
    await feed._frame(json.dumps(_trade("CONFIRMED")))
    fills = [e for e in got if isinstance(e, ev.Fill)]
    assert [(f.trade_id, f.qty) for f in fills] == [("t1", 1000)]
    assert any(isinstance(e, ev.FillConfirmed) for e in got)
    # the reconciliation backfill of that fill carries the venue's status, not provisional
    d = {
        k: v for k, v in _trade("TRADE_STATUS_CONFIRMED").items() if k not in ("event_type", "type")
    }
    (f,) = feed.stream.rest_fills(w.decode(json.dumps(d), w.PolyTrade), 0)
    assert not f.provisional


# ---- the catch-up after a reconnect ---------------------------------------------------------
class TradesHttp:
    def __init__(self, owner: str) -> None:
        self.owner = owner

    async def trades(self, **_: str) -> list[w.PolyTrade]:
        good = {
            "market": SIM_CID,
            "asset_id": SIM_YES,
            "side": "BUY",
            "size": "5",
            "price": "0.40",
            "status": "CONFIRMED",
            "owner": self.owner,
            "trader_side": "TAKER",
            "taker_order_id": "0xok",
        }
        bad = {**good, "price": "0.4O", "taker_order_id": "0xbad"}
        return [w.PolyTrade(id="t-bad", **bad), w.PolyTrade(id="t-good", **good)]


async def test_an_unreadable_trade_in_the_catch_up_is_skipped_not_fatal(poly_sim: Any) -> None:
    """One unreadable trade in the REST catch-up after a user-channel reconnect raised out
    of the feed (and ended the run); the good trades beside it were never emitted."""
    c = PolyHttp(Endpoints.local(poly_sim.url), OrderSigner(Account.create().key.hex()))
    creds = await c.create_or_derive_creds()
    got: list[ev.Event] = []
    feed = UserFeed(
        Endpoints.local(poly_sim.url).ws,
        [MarketInfo(SIM_CID, SIM_YES, SIM_NO)],
        creds,
        got.extend,
        http=TradesHttp(creds.api_key),  # type: ignore[arg-type]
        backoff=Backoff(0.05, 0.05),
    )
    task = asyncio.create_task(feed.run())
    try:
        await until(
            lambda: feed.ws.connects >= 1 and all(s.owner for s in poly_sim.hub.user_subs),
            "subscribed",
        )
        await poly_sim.hub.drop_all()
        await until(lambda: feed.catchups >= 1 or task.done(), "catch-up")
        assert not task.done(), task.exception()
        assert [e.trade_id for e in got if isinstance(e, ev.Fill)] == ["t-good"]
    finally:
        await feed.ws.stop()
        await asyncio.wait_for(task, 5)
        await c.aclose()


async def test_the_catch_up_replays_only_this_runs_trades(poly_sim: Any) -> None:
    """The catch-up asked REST for the account's whole history in each market: a trade of an
    earlier run came back as a new Fill at the first reconnect (on a fresh ledger it went
    into position and P&L). It now asks for trades matched since the first connection."""
    maker, taker = await _client(poly_sim), await _client(poly_sim)
    m = await maker.market_info(SIM_CID)
    await maker.post_order(
        maker.limit_order(m, token_id=SIM_YES, side="BUY", price=4000, size=1000)
    )
    await taker.post_order(taker.limit_order(m, token_id=SIM_NO, side="BUY", price=6000, size=1000))
    for t in poly_sim.trades.values():  # an earlier run's, ten minutes ago
        t.match_ms -= 600_000
    assert await maker.trades(market=SIM_CID)
    got: list[ev.Event] = []
    feed = UserFeed(
        Endpoints.local(poly_sim.url).ws, [m], maker.creds, got.extend, http=maker,
        backoff=Backoff(0.05, 0.05),
    )  # fmt: skip
    task = asyncio.create_task(feed.run())
    try:
        await until(
            lambda: (
                feed.ws.connects == 1
                and poly_sim.hub.user_subs
                and all(s.owner for s in poly_sim.hub.user_subs)
            ),
            "subscribed",
        )
        await poly_sim.hub.drop_all()  # nothing happens while the channel is down
        await until(lambda: feed.catchups >= 1, "catch-up done")
        assert not [e for e in got if isinstance(e, ev.Fill)]
    finally:
        await feed.ws.stop()
        await asyncio.wait_for(task, 5)
        for c in (maker, taker):
            await c.cancel_all()
            await c.aclose()


# ---- a server that accepts and drops --------------------------------------------------------
class InstantSleep(LiveClock):
    """Real time, but the reconnect backoff is recorded instead of waited out."""

    def __init__(self) -> None:
        self.slept: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        await asyncio.sleep(0)


async def test_a_server_that_accepts_and_drops_is_backed_off() -> None:
    """The backoff was reset on every handshake: a server that accepts and drops (or refuses
    the subscription) was reconnected to every 0.05 s for ever, each time re-fetching every
    book (market channel) or the trade history (user channel)."""
    connects = 0

    async def drop(request: web.Request) -> web.WebSocketResponse:
        nonlocal connects
        connects += 1
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.receive()  # our subscription
        await ws.close()
        return ws

    app = web.Application()
    app.router.add_get("/ws/market", drop)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def frame(_: str) -> None: ...

    clock = InstantSleep()
    ws = PolyWs(
        f"ws://127.0.0.1:{port}/ws/market",
        lambda: {"type": "market"},
        frame,
        clock=clock,
        backoff=Backoff(0.05, 5.0, random.Random(0)),
    )
    task = asyncio.create_task(ws.run())
    try:
        await until(lambda: connects >= 5, "reconnects")
    finally:
        await ws.stop()
        await asyncio.wait_for(task, 5)
        await runner.cleanup()
    waits = [s for s in clock.slept if s < 5.0][:4]  # the backoff's (the pinger's are ~10 s)
    # 0.05 s doubling, jitter at most halves a wait: the fourth is at least 0.2 s
    assert ws.backoff.failures >= 4 and len(waits) == 4 and waits[3] >= 0.2, waits


async def test_refused_user_credentials_are_said_and_end_the_run(poly_sim: Any, caplog) -> None:
    """A refused user subscription (the server answers {"error": ...} and closes) was skipped
    without a word and reconnected for ever: the bot quoted on with no fill stream. Each
    refusal is logged as an error; bad credentials three times running are an AuthError."""
    import logging

    from pmbot.errors import AuthError

    caplog.set_level(logging.ERROR, logger="pmbot")
    bad = ApiCreds("no-such-key", "c2VjcmV0", "pass")
    feed = UserFeed(
        Endpoints.local(poly_sim.url).ws,
        [MarketInfo(SIM_CID, SIM_YES, SIM_NO)],
        bad,
        lambda e: None,
        clock=InstantSleep(),
        backoff=Backoff(0.05, 0.05),
    )
    with pytest.raises(AuthError, match="credentials"):
        await asyncio.wait_for(feed.run(), 10)
    refused = [r for r in caplog.records if "user channel refused" in r.getMessage()]
    assert len(refused) == 3 and feed.ws.connects == 3
