"""Our WS feeds against the simulator: books, reconnect + resubscribe, dropped frames and the
silent freeze caught and repaired by REST, PING/PONG, and fills through the trade lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable

from eth_account import Account
from poly_simdata import CID, NO, YES

from pmbot.backoff import Backoff
from pmbot.core import events as ev
from pmbot.core.book import BinaryBook
from pmbot.sim.polymarket_server import PolySim
from pmbot.venues.polymarket.convert import MarketInfo, token_levels
from pmbot.venues.polymarket.http import PolyHttp
from pmbot.venues.polymarket.signing import OrderSigner
from pmbot.venues.polymarket.urls import Endpoints
from pmbot.venues.polymarket.ws import MarketFeed, PolyWs, UserFeed


class Collector:
    """Events as they arrive, and a way to await a condition on them (no fixed sleeps)."""

    def __init__(self) -> None:
        self.events: list[ev.Event] = []
        self._changed = asyncio.Event()

    def __call__(self, events: list[ev.Event]) -> None:
        self.events.extend(events)
        self._changed.set()

    def of(self, t: type) -> list:
        return [e for e in self.events if isinstance(e, t)]

    async def until(self, pred: Callable[[], bool], timeout: float = 5.0) -> None:
        async def loop() -> None:
            while not pred():
                self._changed.clear()
                # wake on new events, or re-check counters that emit none
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), 0.02)

        await asyncio.wait_for(loop(), timeout)


async def _client(sim: PolySim) -> PolyHttp:
    c = PolyHttp(
        Endpoints.local(sim.url), OrderSigner(Account.create().key.hex()), rng=random.Random(1)
    )
    await c.create_or_derive_creds()
    return c


async def _rest_book(c: PolyHttp, m: MarketInfo, grid) -> BinaryBook:
    b = await c.book(m.yes_token)
    ref = BinaryBook(grid, m.condition_id)
    ref.apply_snapshot(*token_levels(True, b.bids, b.asks))
    return ref


async def test_market_feed_books_reconnect_drop_and_freeze(poly_sim: PolySim) -> None:
    c = await _client(poly_sim)
    m = await c.market_info(CID)
    got = Collector()
    feed = MarketFeed(
        Endpoints.local(poly_sim.url).ws, [m], got, c, ping_interval=0.05, stale_after=5
    )
    task = asyncio.create_task(feed.run())
    await got.until(lambda: len(got.of(ev.BookSnapshot)) >= 1)
    book = lambda: feed.stream.books[CID]  # noqa: E731
    await c.post_order(c.limit_order(m, token_id=YES, side="BUY", price=4000, size=1000))
    await c.post_order(
        c.limit_order(m, token_id=NO, side="BUY", price=4000, size=700)
    )  # YES ask 0.60
    await got.until(lambda: book().yes_ask_price() == 6000)
    assert book().best_yes_bid() == (4000, 1000) and book() == await _rest_book(c, m, book().grid)
    assert got.of(ev.BookDelta)
    # dropped frame: the next frame's best bid/ask disagree -> BookStale -> REST resync
    poly_sim.hub.drop_frames = 1
    await c.post_order(c.limit_order(m, token_id=YES, side="BUY", price=4500, size=500))
    await c.post_order(c.limit_order(m, token_id=YES, side="BUY", price=3000, size=500))
    await got.until(lambda: feed.resyncs >= 1 and book().yes_bid_price() == 4500)
    assert got.of(ev.BookStale) and book() == await _rest_book(c, m, book().grid)
    # reconnect: stale, then a fresh snapshot from the resubscription
    n_snap, n_resync = len(got.of(ev.BookSnapshot)), feed.resyncs
    await poly_sim.hub.drop_all()
    await got.until(lambda: feed.ws.connects >= 2 and len(got.of(ev.BookSnapshot)) >= n_snap + 2)
    assert feed.stream.fresh[CID] and feed.resyncs == n_resync + 1  # REST and the WS book
    # silent freeze: PONGs keep flowing, data stops; the REST reconcile repairs the book
    poly_sim.hub.frozen = True
    await c.post_order(c.limit_order(m, token_id=YES, side="BUY", price=4700, size=500))
    pongs = feed.ws.pongs
    await got.until(lambda: feed.ws.pongs > pongs)
    assert book().yes_bid_price() == 4500
    assert await feed.reconcile() == 1 and book().yes_bid_price() == 4700
    assert await feed.reconcile() == 0
    await feed.ws.stop()
    await task
    await c.cancel_all()
    await c.aclose()


async def test_user_feed_fills_confirm_and_fail(poly_sim: PolySim) -> None:
    maker, taker = await _client(poly_sim), await _client(poly_sim)
    m = await maker.market_info(CID)
    got_m, got_t = Collector(), Collector()
    base = Endpoints.local(poly_sim.url).ws
    fm = UserFeed(base, [m], maker.creds, got_m, addresses=frozenset({maker.signer.address}))
    ft = UserFeed(base, [m], taker.creds, got_t)
    tasks = [asyncio.create_task(fm.run()), asyncio.create_task(ft.run())]
    await got_m.until(lambda: fm.ws.connects and ft.ws.connects)
    await asyncio.sleep(0)  # let the subscribe frames land before trading
    await _settle(poly_sim)
    r = await maker.post_order(maker.limit_order(m, token_id=NO, side="BUY", price=4000, size=1000))
    await got_m.until(lambda: any(u.order_id == r.orderID for u in got_m.of(ev.OrderUpdate)))
    await taker.post_order(taker.limit_order(m, token_id=YES, side="BUY", price=6000, size=500))
    await got_m.until(lambda: len(got_m.of(ev.Fill)) == 1)
    await got_t.until(lambda: len(got_t.of(ev.Fill)) == 1)
    (mf,), (tf,) = got_m.of(ev.Fill), got_t.of(ev.Fill)
    assert (
        mf.provisional
        and not mf.is_taker
        and mf.side.value == "ask"
        and mf.price == 6000
        and mf.qty == 500
    )
    assert tf.is_taker and tf.side.value == "bid" and tf.price == 6000
    assert tf.fee == 48_000  # 5 shares x 0.04 x 0.6 x 0.4, taker only; makers pay nothing
    await got_t.until(lambda: ft.stream.confirmed(tf.trade_id, tf.order_id))
    assert len(got_t.of(ev.Fill)) == 1  # MINED / CONFIRMED do not repeat the fill
    cash_before = poly_sim.accounts.cash_of(taker.signer.address)
    poly_sim.faults.fail_trades = 1
    await taker.post_order(taker.limit_order(m, token_id=YES, side="BUY", price=6000, size=500))
    await got_t.until(lambda: len(got_t.of(ev.FillVoided)) == 1)
    await got_m.until(lambda: len(got_m.of(ev.FillVoided)) == 1)
    assert poly_sim.accounts.cash_of(taker.signer.address) == cash_before  # transfers reversed
    for f in (fm, ft):
        await f.ws.stop()
    await asyncio.gather(*tasks)
    await maker.aclose()
    await taker.aclose()


async def _settle(sim: PolySim) -> None:
    for _ in range(50):
        if len(sim.hub.user_subs) >= 2 and all(s.owner for s in sim.hub.user_subs):
            return
        await asyncio.sleep(0.01)


async def test_tick_size_change_reaches_book_and_order_signing(poly_sim: PolySim) -> None:
    c = await _client(poly_sim)
    m = await c.market_info(CID)
    got = Collector()
    feed = MarketFeed(Endpoints.local(poly_sim.url).ws, [m], got, c)
    task = asyncio.create_task(feed.run())
    await got.until(lambda: bool(got.of(ev.BookSnapshot)))
    await c.post_order(c.limit_order(m, token_id=YES, side="BUY", price=4000, size=1000))
    await got.until(lambda: feed.stream.books[CID].yes_bid_price() == 4000)
    await poly_sim.set_tick(CID, "0.001")
    await got.until(lambda: feed.stream.ticks[CID] == "0.001")
    assert await c.tick_size(YES) == "0.001"  # cache replaced from the WS event, no request
    await c.post_order(c.limit_order(m, token_id=YES, side="BUY", price=4010, size=1000))
    await got.until(lambda: feed.stream.books[CID].yes_bid_price() == 4010)
    assert feed.stream.books[CID].size_at(True, 4000) == 1000 and feed.stream.fresh[CID]
    await feed.ws.stop()
    await task
    await c.cancel_all()
    await c.aclose()


async def test_user_feed_catches_up_missed_fills_by_rest(poly_sim: PolySim) -> None:
    maker, taker = await _client(poly_sim), await _client(poly_sim)
    m = await maker.market_info(CID)
    got = Collector()
    feed = UserFeed(
        Endpoints.local(poly_sim.url).ws,
        [m],
        maker.creds,
        got,
        http=maker,
        backoff=Backoff(0.3, 0.3),
    )
    task = asyncio.create_task(feed.run())
    await got.until(lambda: feed.ws.connects == 1)
    await maker.post_order(maker.limit_order(m, token_id=YES, side="BUY", price=4000, size=1000))
    await poly_sim.hub.drop_all()  # the fill below happens while the user channel is down
    await taker.post_order(taker.limit_order(m, token_id=NO, side="BUY", price=6000, size=500))
    await got.until(lambda: feed.catchups == 1 and len(got.of(ev.Fill)) == 1)
    (f,) = got.of(ev.Fill)
    assert f.side.value == "bid" and f.price == 4000 and f.qty == 500 and not f.is_taker
    await feed.ws.stop()
    await task
    for c in (maker, taker):
        await c.cancel_all()
        await c.aclose()


async def test_auto_tick_near_the_extremes(make_sim) -> None:
    sim = await make_sim(auto_tick=True)
    c = await _client(sim)
    m = await c.market_info(CID)
    got = Collector()
    feed = MarketFeed(Endpoints.local(sim.url).ws, [m], got, c)
    task = asyncio.create_task(feed.run())
    await got.until(lambda: bool(got.of(ev.BookSnapshot)))
    r = await c.post_order(c.limit_order(m, token_id=YES, side="BUY", price=9700, size=1000))
    await got.until(lambda: feed.stream.ticks[CID] == "0.001")
    await c.post_order(
        c.limit_order(m, token_id=YES, side="BUY", price=9710, size=1000)
    )  # a 0.001 price
    await c.cancel_all()
    await got.until(lambda: feed.stream.ticks[CID] == "0.01")
    assert r.status == "live" and await c.tick_size(YES) == "0.01"
    await feed.ws.stop()
    await task
    await c.aclose()


async def test_trade_lifecycle_steps_with_the_simulator_clock(make_sim) -> None:
    import time

    from pmbot.clock import ManualClock

    clock = ManualClock(time.time_ns())
    sim = await make_sim(clock=clock, mined_delay=2.0, confirmed_delay=30.0)
    maker, taker = await _client(sim), await _client(sim)
    m = await maker.market_info(CID)
    got = Collector()
    feed = UserFeed(Endpoints.local(sim.url).ws, [m], taker.creds, got)
    task = asyncio.create_task(feed.run())
    await _settle_one(sim)
    await maker.post_order(maker.limit_order(m, token_id=NO, side="BUY", price=4000, size=1000))
    await taker.post_order(taker.limit_order(m, token_id=YES, side="BUY", price=6000, size=500))
    await got.until(lambda: len(got.of(ev.Fill)) == 1)
    (f,) = got.of(ev.Fill)
    key = (f.trade_id, f.order_id)
    assert f.provisional and feed.stream.seen[key] == "MATCHED"
    clock.advance(2.0)
    await got.until(lambda: feed.stream.seen[key] == "MINED")
    clock.advance(29.0)
    assert feed.stream.seen[key] == "MINED"  # nothing moves before its time
    clock.advance(1.0)
    await got.until(lambda: feed.stream.confirmed(*key))
    assert len(got.of(ev.Fill)) == 1 and not got.of(ev.FillVoided)
    await feed.ws.stop()
    await task
    await maker.cancel_all()
    for c in (maker, taker):
        await c.aclose()


async def _settle_one(sim: PolySim) -> None:
    while not (sim.hub.user_subs and all(s.owner for s in sim.hub.user_subs)):
        await asyncio.sleep(0)


async def test_a_rest_book_older_than_the_stream_does_not_replace_it(poly_sim: PolySim) -> None:
    """The freeze check fetches /book; frames that move the book while the reply is in
    flight make the reply older than the book we hold: it must not overwrite it."""
    c = await _client(poly_sim)
    m = await c.market_info(CID)
    got = Collector()
    feed = MarketFeed(Endpoints.local(poly_sim.url).ws, [m], got, c, stale_after=5)
    task = asyncio.create_task(feed.run())
    book = lambda: feed.stream.books[CID]  # noqa: E731
    await got.until(lambda: feed.stream.fresh[CID])
    await c.post_order(c.limit_order(m, token_id=YES, side="BUY", price=4000, size=1000))
    await got.until(lambda: book().best_yes_bid() == (4000, 1000))
    poly_sim.faults.hold_book = gate = asyncio.Event()
    check = asyncio.create_task(feed.reconcile())
    while not poly_sim.faults.books_held:  # the reply is made and held
        await asyncio.sleep(0)
    await c.post_order(c.limit_order(m, token_id=YES, side="BUY", price=4100, size=700))
    await got.until(lambda: book().best_yes_bid() == (4100, 700))  # the stream has it
    gate.set()
    assert await check == 0  # the older reply was not applied
    assert book().best_yes_bid() == (4100, 700) and feed.stream.fresh[CID]
    poly_sim.faults.hold_book = None
    assert await feed.reconcile() == 0  # and the next check agrees with the venue
    await feed.ws.stop()
    await task
    await c.aclose()


async def test_a_short_silence_limit_pings_often_enough_to_stay_up(poly_sim: PolySim) -> None:
    """`stale_after` below the 10 s PING period: a quiet but live channel keeps its socket
    (PINGs go out at least twice per `stale_after`, and their PONGs count as liveness)."""
    c = await _client(poly_sim)
    m = await c.market_info(CID)
    got = Collector()
    feed = MarketFeed(Endpoints.local(poly_sim.url).ws, [m], got, c, stale_after=0.4)
    assert feed.ws.ping_interval <= 0.2
    task = asyncio.create_task(feed.run())
    await got.until(lambda: feed.ws.pongs >= 4)
    assert feed.ws.connects == 1  # never judged silent
    await feed.ws.stop()
    await task
    await c.aclose()


async def test_a_hung_peer_is_given_up_within_the_silence_limit() -> None:
    """No frame, no PONG, and no answer to our close either: the books go stale (`on_down`)
    about `stale_after` after the last frame. It took 10 s more (aiohttp waited for the
    close reply) plus up to a PING period (silence was only judged when a PING was due)."""
    from aiohttp import web

    async def hang(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=False)
        await ws.prepare(request)
        await ws.send_str("[]")  # one frame, then nothing at all
        await asyncio.Event().wait()
        return ws

    app = web.Application()
    app.router.add_get("/ws/market", hang)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    loop = asyncio.get_running_loop()
    seen: dict[str, float] = {}

    async def frame(_: str) -> None:
        seen.setdefault("frame", loop.time())

    async def down(reason: str) -> None:
        seen.setdefault("down", loop.time())
        await ws.stop()

    ws = PolyWs(
        f"ws://127.0.0.1:{port}/ws/market", lambda: {"type": "market"}, frame,
        on_down=down, stale_after=0.4, backoff=Backoff(0.05, 0.05),
    )  # fmt: skip
    try:
        await asyncio.wait_for(ws.run(), 30)
    finally:
        await runner.cleanup()
    assert seen["down"] - seen["frame"] < 5.0  # about 0.4 s now; it was over 10 s
