"""The Kalshi connector against the simulator on loopback (no mocks of our own client).

Needs the simulator (`pmbot.sim.kalshi_server` and the `sim_factory` fixture from
tests/conftest.py); skipped where it is not merged yet. Authentication is checked against
wall time by the simulator, so the client runs on the live clock while the simulator's
market time is stepped by hand.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

pytest.importorskip("pmbot.sim.kalshi_server")

from pmbot.clock import LiveClock
from pmbot.core import events as ev
from pmbot.core.book import BinaryBook
from pmbot.core.orders import OrderStatus, Side
from pmbot.core.state import TradingState
from pmbot.errors import AuthError, NotFound, OrderRejected
from pmbot.venues.kalshi import rest
from pmbot.venues.kalshi.signing import KalshiSigner
from pmbot.venues.kalshi.urls import KalshiUrls
from pmbot.venues.kalshi.venue import KalshiVenue

pytestmark = pytest.mark.slow


class Rig:
    def __init__(self, sim: Any, *, direct: bool = False, **kw: Any) -> None:
        self.sim = sim
        self.state = TradingState()
        self.events: list[ev.Event] = []

        def sink(e: ev.Event) -> None:
            self.events.append(e)
            self.state.apply(e)

        kw.setdefault("backoff_base_s", 0.05)
        kw.setdefault("backoff_cap_s", 0.5)
        kw.setdefault("resync_timeout_s", 3.0)
        self.venue = KalshiVenue(
            KalshiUrls(sim.rest_url, sim.ws_url),
            KalshiSigner.from_pem(sim.key_id, sim.private_key_pem),
            sink,
            clock=LiveClock(),
            books=self.state.books if direct else None,
            **kw,
        )
        self.task: asyncio.Task[None] | None = None

    async def start(self, series: str = "KXINX") -> list[str]:
        await self.venue.start()
        specs = await self.venue.load_markets(series)
        for s in specs:
            self.state.add_market(s)
        self.task = asyncio.create_task(self.venue.run())
        return [s.ticker for s in specs]

    async def until(self, pred: Callable[[], bool], what: str, limit_s: float = 5.0) -> None:
        """Step the simulator and yield to the loop until pred() holds (bounded)."""
        t0 = time.monotonic()
        while not pred():
            if time.monotonic() - t0 > limit_s:
                raise AssertionError(f"timed out waiting for {what}")
            await self.sim.step(0)
            await asyncio.sleep(0.005)

    async def close(self) -> None:
        await self.venue.aclose()
        if self.task is not None:
            await asyncio.wait_for(self.task, 5)

    async def assert_book_matches(self, t: str) -> None:
        snap = await self.venue.book_snapshot(t)
        ref = BinaryBook(self.state.books[t].grid, t)
        ref.apply_snapshot(snap.yes, snap.no)
        assert self.state.book_fresh[t]
        assert self.state.books[t] == ref, (self.state.books[t].levels(), ref.levels())


@pytest.fixture
async def rig(sim_factory: Any) -> AsyncIterator[Callable[..., Any]]:
    made: list[Rig] = []

    async def make(**kw: Any) -> Rig:
        sim_kw = kw.pop("sim", {})
        sim = await sim_factory(**sim_kw)
        sim.add_key("mm")
        r = Rig(sim, **kw)
        made.append(r)
        return r

    yield make
    for r in made:
        await r.close()


def mm(sim: Any, t: str, side: str, price: int, n: int = 100) -> Any:
    return sim.exchange.create(
        "mm",
        ticker=t,
        side=side,
        price=price,
        count=n,
        tif="good_till_canceled",
        stp="maker",
        ts_ns=sim.now_ns(),
    )


def active(sim: Any, series: str = "KXINX") -> str:
    return next(
        t
        for t, m in sorted(sim.exchange.markets.items())
        if m.series_ticker == series and m.status == "active"
    )


async def test_ladder_books_orders_fills_positions(rig: Any) -> None:
    r = await rig()
    tickers = await r.start()
    st = {r.state.markets[t].strike_type.value for t in tickers}
    assert len(tickers) >= 10 and {"between", "less", "greater"} <= st
    t = active(r.sim)
    mm(r.sim, t, "bid", 3000, 500)
    mm(r.sim, t, "ask", 6000, 500)
    await r.sim.step(1)
    snap = await r.venue.book_snapshot(t)
    assert snap.yes[-1] == (3000, 500) and snap.no[-1] == (4000, 500)  # NO bid 0.40 = YES ask 0.60

    o = await r.venue.place(t, Side.BID, 3500, 300, post_only=True)
    assert o.status is OrderStatus.RESTING and o.remaining == 300 and o.client_order_id
    a = await r.venue.amend(o.order_id, ticker=t, side=Side.BID, price=3600, total=300)
    assert a.order_id == o.order_id
    assert await r.venue.decrease(o.order_id, by=100) == 200
    live = await r.venue.orders(status="resting", ticker=t)
    assert [(x.order_id, x.price, x.remaining) for x in live] == [(o.order_id, 3600, 200)]
    assert await r.venue.cancel(o.order_id) == 200
    with pytest.raises(NotFound):
        await r.venue.cancel(o.order_id)

    batch = await r.venue.place_many([(t, Side.BID, 2000 + 100 * i, 100) for i in range(3)])
    assert all(isinstance(b, ev.OrderUpdate) and b.status is OrderStatus.RESTING for b in batch)
    ids = [b.order_id for b in batch if isinstance(b, ev.OrderUpdate)]
    res = await r.venue.cancel_many([*ids, "00000000-0000-0000-0000-000000000000"])
    assert [res[i] for i in ids] == [100, 100, 100]
    assert isinstance(res["00000000-0000-0000-0000-000000000000"], NotFound)

    with pytest.raises(OrderRejected) as ei:
        await r.venue.place(t, Side.BID, 6500, 100, post_only=True)  # would cross the 0.60 ask
    assert ei.value.code == "post_only_cross" and ei.value.raw_code == "invalid_order"

    taker = await r.venue.place(t, Side.BID, 6000, 200, time_in_force="immediate_or_cancel")
    assert taker.status is OrderStatus.EXECUTED and taker.filled == 200
    fills = await r.venue.fills(ticker=t)
    assert [(f.order_id, f.price, f.qty, f.side) for f in fills] == [
        (taker.order_id, 6000, 200, Side.BID)
    ]
    assert fills[0].fee > 0 and fills[0].is_taker
    assert [(p.ticker, p.qty) for p in await r.venue.positions()] == [(t, 200)]
    assert await r.venue.balance() > 0


async def test_stream_books_own_deltas_and_fills(rig: Any) -> None:
    r = await rig(direct=True)
    await r.start()
    t = active(r.sim)
    mm(r.sim, t, "bid", 3000, 500)
    await r.sim.step(1)
    await r.venue.subscribe_books([t])
    await r.venue.subscribe_private()
    await r.until(lambda: r.state.book_fresh.get(t, False), "snapshot")
    o = await r.venue.place(t, Side.ASK, 5500, 300)
    own = lambda: any(isinstance(e, ev.OrderUpdate) and e.order_id == o.order_id for e in r.events)  # noqa: E731
    await r.until(
        lambda: r.state.books[t].best_yes_ask() == (5500, 300) and own(), "own delta + user_order"
    )
    mm(r.sim, t, "bid", 5500, 100)  # lifts 1 of our 3
    await r.sim.step(1)
    await r.until(lambda: any(isinstance(e, ev.Fill) for e in r.events), "fill")
    f = next(e for e in r.events if isinstance(e, ev.Fill))
    assert (f.order_id, f.side, f.price, f.qty, f.post_position) == (
        o.order_id,
        Side.ASK,
        5500,
        100,
        -100,
    )
    assert r.state.position(t) == -100
    await r.until(lambda: r.state.books[t].best_yes_ask() == (5500, 200), "book after fill")
    await r.assert_book_matches(t)


async def _churn(r: Rig, t: str, n: int = 4, base: int = 1000) -> None:
    for i in range(n):
        mm(r.sim, t, "bid", base + 100 * i)
    await r.sim.step(1)


@pytest.mark.parametrize("direct", [False, True], ids=["events", "direct"])
@pytest.mark.parametrize("fault", ["skip_seq", "dup_seq", "reorder_seq", "delay"])
async def test_seq_faults_heal_to_simulator_book(rig: Any, fault: str, direct: bool) -> None:
    r = await rig(direct=direct)
    await r.start()
    t = active(r.sim)
    await r.venue.subscribe_books([t])
    await r.until(lambda: r.state.book_fresh.get(t, False), "snapshot")
    await _churn(r, t, 2, 500)
    if fault == "delay":
        r.sim.faults.delay_frames_s = 3
        await _churn(r, t)
        r.sim.faults.delay_frames_s = 0
        await r.sim.step(3)  # late frames arrive in order: nothing to heal, nothing corrupted
    else:
        setattr(r.sim.faults, fault, 1)
        await _churn(r, t)
    await r.until(
        lambda: r.state.books[t].size_at(True, 1300) == 100 and r.state.book_fresh[t], "healed book"
    )
    await r.assert_book_matches(t)
    s = r.venue.stream.stats
    if fault == "skip_seq":
        assert s.gaps == 1 and s.resyncs == 1
    elif fault in ("dup_seq", "reorder_seq"):
        assert s.duplicates >= 1 and s.resyncs >= 1
    assert s.resubscribes == 0 and r.venue.ws.connects == 1


async def test_dropped_connection_reconnects_within_backoff(rig: Any) -> None:
    r = await rig(backoff_base_s=0.2, backoff_cap_s=1.0)
    await r.start()
    t = active(r.sim)
    await r.venue.subscribe_books([t])
    await r.venue.subscribe_private()
    await r.until(lambda: r.state.book_fresh.get(t, False), "snapshot")
    r.sim.faults.drop_ws = 1
    await r.sim.step(1)
    await r.until(lambda: not r.state.book_fresh[t], "stale after drop")
    t0 = time.monotonic()
    await r.until(
        lambda: r.venue.ws.connects == 2 and r.state.book_fresh[t], "reconnected + resubscribed"
    )
    assert time.monotonic() - t0 < 0.2 + 1.0  # first backoff delay is at most base_s, plus slack
    await _churn(r, t)
    await r.until(lambda: r.state.books[t].size_at(True, 1300) == 100, "deltas after reconnect")
    await r.assert_book_matches(t)
    downs = [e for e in r.events if isinstance(e, ev.ConnectionState)]
    assert [d.up for d in downs] == [True, False, True]


async def test_429_burst_absorbed_without_losing_an_order(rig: Any) -> None:
    r = await rig()
    await r.start()
    t = active(r.sim)
    r.sim.faults.http_429 = 4
    o = await r.venue.place(t, Side.BID, 1500, 100)
    assert o.status is OrderStatus.RESTING
    live = await r.venue.orders(status="resting", ticker=t)
    assert [x.order_id for x in live] == [o.order_id]
    assert r.venue.http.retries_429 == 4


async def test_auth_failures_are_typed_with_server_code(rig: Any) -> None:
    r = await rig()
    other = r.sim.add_key("other")
    bad = KalshiSigner.from_pem(r.sim.key_id, other.private_pem)  # right id, wrong key
    r.venue.http.signer = bad
    with pytest.raises(AuthError) as ei:
        await r.venue.start()
    assert ei.value.status == 401 and ei.value.code == "authentication_error"
    r.venue.ws.signer = bad
    with pytest.raises(AuthError) as ei2:
        await r.venue.run()
    assert ei2.value.status == 401 and ei2.value.code == "authentication_error"


async def test_rate_limited_burst_places_every_order_once(rig: Any) -> None:
    """The simulator's own token bucket is on: 25 concurrent creates all land, none twice."""
    r = await rig(sim={"rate_limits": True}, configure_limits=True)
    await r.start()
    t = active(r.sim)
    ups = await asyncio.gather(
        *(r.venue.place(t, Side.BID, 100 + 100 * (i % 20), 100) for i in range(25))
    )
    assert all(u.status is OrderStatus.RESTING for u in ups)
    live = await r.venue.orders(status="resting", ticker=t)
    assert sorted(o.order_id for o in live) == sorted(u.order_id for u in ups)
    assert len({u.client_order_id for u in ups}) == 25


async def test_every_endpoint_decodes_against_the_simulator(rig: Any) -> None:
    r = await rig()
    await r.start()
    h = r.venue.http
    t = active(r.sim)
    mm(r.sim, t, "bid", 3000, 500)
    mm(r.sim, t, "ask", 6000, 500)
    await r.sim.step(1)
    assert (await h.exchange_status()).trading_active
    sched = await h.exchange_schedule()
    assert sched.schedule is not None
    assert (await h.series("KXINX")).fee_type.startswith("quadratic")
    evs = await h.events(series_ticker="KXINX", status="open", with_nested_markets=True)
    assert evs and evs[0].markets
    e = await h.event(evs[0].event_ticker)
    assert e.event.event_ticker == evs[0].event_ticker
    assert (await h.market(t)).ticker == t
    books = await h.orderbooks([t])
    assert books[0].orderbook_fp.yes_dollars
    o = await r.venue.place(t, Side.BID, 3000, 100)
    assert (await h.queue_position(o.order_id)) == "5.00"
    qps = await h.queue_positions(market_tickers=[t])
    assert [q.order_id for q in qps] == [o.order_id]
    assert (await h.order(o.order_id)).client_order_id == o.client_order_id
    await r.venue.place(t, Side.BID, 6000, 100, time_in_force="immediate_or_cancel")
    trades = await h.trades(ticker=t)
    assert trades and trades[0].ticker == t
    assert isinstance(await h.settlements(), list)
    from pmbot.venues.kalshi.port import KalshiPort

    port = KalshiPort(r.venue)
    assert await port.get_settlements([t]) == {}
    r.sim.exchange.ledger.settle(t, True, r.sim.clock.now_ns())  # we hold 1 YES from the IOC
    assert await port.get_settlements([t, "KXINX-NOPE"]) == {t: True}
    gid = await h.create_order_group(1000)
    assert any(g.order_group_id == gid for g in await h.order_groups())
    await h.set_order_group_limit(gid, 2000)
    assert (await h.order_group(gid)).contracts_limit_fp == "20.00"
    await h.trigger_order_group(gid)
    await h.reset_order_group(gid)
    await h.delete_order_group(gid)
    limits, costs = await h.configure_limits()
    assert limits.write.bucket_capacity > 0 and costs.default_cost > 0
    assert h.costs.cost(rest.cancel_order("x")) == 2


async def test_trading_on_simulated_time_still_signs_with_wall_time(rig: Any) -> None:
    r = await rig()
    r.venue.http.clock = r.sim.clock  # the bot's clock is the simulator's, not wall time
    r.sim.clock.advance(3600)  # an hour ahead of the wall: a signature on it would be refused
    await r.venue.start()
    o = await r.venue.place(active(r.sim), Side.BID, 1000, 100)
    assert o.status is OrderStatus.RESTING


async def test_5xx_on_create_and_cancel_settled_without_duplicates(rig: Any) -> None:
    r = await rig()
    await r.start()
    t = active(r.sim)
    r.sim.faults.http_5xx = (
        1  # the create itself fails: looked up (absent), resent with the same id
    )
    o = await r.venue.place(t, Side.BID, 1200, 100, client_order_id="c-5xx")
    assert o.client_order_id == "c-5xx" and o.status is OrderStatus.RESTING
    live = await r.venue.orders(status="resting", ticker=t)
    assert [x.client_order_id for x in live] == ["c-5xx"]
    r.sim.faults.http_5xx = 2  # cancels are retried: a repeat is harmless
    assert await r.venue.cancel(o.order_id) == 100
    assert await r.venue.orders(status="resting", ticker=t) == []


async def test_an_ioc_across_two_prices_acks_its_6_dp_average(rig: Any) -> None:
    """1 @ 0.52 and 2 @ 0.53: the answer's average_fill_price is "0.526666" (FixedPointDollars
    answers carry up to 6 dp); the port used to refuse it, leaving a filled order UNKNOWN."""
    from pmbot.core.requests import CreateOrder, TimeInForce
    from pmbot.venues.kalshi.port import KalshiPort

    r = await rig()
    await r.start()
    t = active(r.sim)
    mm(r.sim, t, "ask", 5200, 100)
    mm(r.sim, t, "ask", 5300, 200)
    await r.sim.step(1)
    ack = await KalshiPort(r.venue).create_order(
        CreateOrder("c-avg", t, Side.BID, 5300, 300, post_only=False, time_in_force=TimeInForce.IOC)
    )
    assert ack.filled == 300 and ack.remaining == 0
    assert ack.avg_fill_price == 526_666  # micros per contract, not refused
