"""PolymarketPort: the VenuePort contract the order manager relies on, on the simulator."""

from __future__ import annotations

import asyncio
import dataclasses
import random

import pytest
from eth_account import Account
from poly_simdata import CID
from test_poly_ws import Collector

from pmbot.core.orders import OrderStatus, Side
from pmbot.core.requests import AmendOrder, CancelOrder, CreateOrder
from pmbot.errors import NotFound, OrderRejected
from pmbot.sim.polymarket_house import House
from pmbot.sim.polymarket_server import PolySim
from pmbot.venues.polymarket.http import PolyHttp
from pmbot.venues.polymarket.port import PolymarketPort
from pmbot.venues.polymarket.signing import OrderSigner
from pmbot.venues.polymarket.urls import Endpoints
from pmbot.venues.polymarket.venue import PolymarketVenue


async def _venue(url: str, key: str, got: Collector) -> PolymarketVenue:
    """A connected venue on the simulator, without heartbeat or book reconcile tasks."""
    v = PolymarketVenue(
        Endpoints.local(url),
        OrderSigner(key),
        [CID],
        got,
        rng=random.Random(1),
        heartbeat=None,
        reconcile_every=None,
    )
    await v.connect()
    return v


async def test_port_contract(make_sim) -> None:
    import time

    from pmbot.clock import ManualClock

    clock = ManualClock(time.time_ns())  # the simulator's: trades are mined when it says
    poly_sim = await make_sim(clock=clock)
    v = PolymarketVenue(
        Endpoints.local(poly_sim.url),
        OrderSigner(Account.create().key.hex()),
        [CID],
        Collector(),
        rng=random.Random(1),
        heartbeat=None,
        reconcile_every=None,
    )
    (m,) = await v.connect()
    port = PolymarketPort(v)
    assert port.supports_amend is False and port.max_batch_create == 15
    house = House(poly_sim)
    await house.requote(CID, 5000)  # house bids 0.48, asks 0.52

    a = await port.create_order(CreateOrder("c-bid", CID, Side.BID, 4900, 1000))
    assert port.client_order_id(a.order_id) == "c-bid" and a.remaining is None
    res = await port.batch_create(
        [
            CreateOrder("c-ask", CID, Side.ASK, 5100, 1000),
            CreateOrder("c-offtick", CID, Side.BID, 4855, 1000),
            CreateOrder("c-cross", CID, Side.BID, 5200, 1000),  # post-only into the 0.52 ask
        ]
    )
    ask = res[0]
    assert not isinstance(ask, Exception) and port.client_order_id(ask.order_id) == "c-ask"
    assert isinstance(res[1], OrderRejected) and res[1].code == "invalid_tick"
    assert isinstance(res[2], OrderRejected) and res[2].code == "post_only_cross"
    with pytest.raises(OrderRejected):
        await port.amend(AmendOrder(a.order_id, "c-bid", CID, Side.BID, 4800, 1000))

    resting = {u.client_order_id: u for u in await port.list_orders(status=OrderStatus.RESTING)}
    assert resting.keys() == {"c-bid", "c-ask"}
    assert (resting["c-ask"].side, resting["c-ask"].price) == (Side.ASK, 5100)

    # the house takes 4 of our ask: a fill, a NO position, history by id after a cancel
    await house.order(m.yes_token, "BUY", 5100, 4_000_000, "FAK")
    (fill,) = await port.get_fills()
    assert (fill.side, fill.price, fill.qty, fill.order_id) == (Side.ASK, 5100, 400, ask.order_id)
    # matched, not mined: the token balances have not moved, the position counts the fill
    assert {p.ticker: p.qty for p in await port.get_positions()} == {CID: -400}
    assert await port.get_balance() == 1_000_000 * 1_000_000
    clock.advance(1)  # mined (the stream is not running: the port asks REST for the status)
    while any(t.status == "MATCHED" for t in poly_sim.trades.values()):
        await asyncio.sleep(0)
    assert {p.ticker: p.qty for p in await port.get_positions()} == {CID: -400}
    assert await port.get_balance() == 1_000_000 * 1_000_000 - 4 * 490_000  # 4 NO at 0.49

    ack = await port.cancel(CancelOrder(a.order_id, CID, "c-bid"))
    assert ack.order_id == a.order_id
    with pytest.raises(NotFound):
        await port.cancel(CancelOrder(a.order_id, CID, "c-bid"))
    out = await port.batch_cancel(
        [CancelOrder(ask.order_id, CID, "c-ask"), CancelOrder("0xnope", CID, None)]
    )
    assert not isinstance(out[0], Exception) and isinstance(out[1], NotFound)
    assert await port.list_orders(status=OrderStatus.RESTING) == []

    # a GTC order that is not post-only takes the house's 100 at 0.52 on arrival and rests
    # the other 50: "matched", but it still rests and must stay tracked
    part = await port.create_order(
        CreateOrder("c-take", CID, Side.BID, 5200, 15_000, post_only=False)
    )
    assert part.remaining is None and part.filled is None
    resting = {u.client_order_id: u for u in await port.list_orders(status=OrderStatus.RESTING)}
    assert resting["c-take"].remaining == 5_000
    await port.cancel(CancelOrder(part.order_id, CID, "c-take"))

    # a port that never acked them (a restart) learns the ids and settles them by id
    fresh = PolymarketPort(v)
    fresh.learn(a.order_id, "c-bid", CID)
    fresh.learn(ask.order_id, "c-ask", CID)
    hist = {u.client_order_id: u for u in await fresh.list_orders(ticker=CID)}
    assert hist["c-bid"].status is OrderStatus.CANCELED and hist["c-bid"].filled == 0
    assert hist["c-ask"].status is OrderStatus.CANCELED and hist["c-ask"].filled == 400
    await v.close_session()


async def test_unknown_create_outcome_is_recognised_by_hash(poly_sim: PolySim) -> None:
    """The answer to a create is lost (5xx after the venue took it): the order still lists
    under our client_order_id, because the id is the hash we signed."""
    v = PolymarketVenue(
        Endpoints.local(poly_sim.url),
        OrderSigner(Account.create().key.hex()),
        [CID],
        Collector(),
        heartbeat=None,
        reconcile_every=None,
    )
    await v.connect()
    port = PolymarketPort(v)
    o = port._sign(CreateOrder("c-lost", CID, Side.BID, 4000, 500))
    other = PolyHttp(v.ep, v.http.signer, creds=v.http.creds)  # "the request that got through"
    await other.post_order(o, "GTC", post_only=True)
    (u,) = await port.list_orders(status=OrderStatus.RESTING)
    assert u.client_order_id == "c-lost" and u.order_id == o.order_id
    await other.aclose()
    await v.close_session()


async def test_ioc_is_a_market_order_and_gtd_ends_when_asked(poly_sim: PolySim) -> None:
    """IOC -> FAK signed with market-order amounts (a BUY names the pUSD to spend, at most
    2 dp); GTD signed 60 s past the wanted end (the venue's security threshold, §3.4)."""
    import time

    v = await _venue(poly_sim.url, Account.create().key.hex(), Collector())
    port = PolymarketPort(v)
    await House(poly_sim).requote(CID, 5000)  # asks at 0.52
    ioc = CreateOrder(
        "c-ioc", CID, Side.BID, 5300, 1001, post_only=False, time_in_force="immediate_or_cancel"
    )
    o = port._sign(ioc)
    assert o.wire["makerAmount"] == "5300000"  # 10.01 x 0.53 = 5.3053 pUSD, cut to 5.30
    await port.create_order(ioc)  # refused with limit amounts ("max accuracy of 2 decimals")
    (fill,) = await port.get_fills()
    assert fill.side is Side.BID and fill.price == 5200 and fill.qty > 0
    with pytest.raises(OrderRejected) as e:  # typed, before a request
        await port.create_order(dataclasses.replace(ioc, client_order_id="c-po", post_only=True))
    assert e.value.code == "invalid_order"
    end = int(time.time()) + 30  # a 30 s order was refused ("invalid expiration")
    a = await port.create_order(
        CreateOrder("c-gtd", CID, Side.BID, 4000, 1000, expiration_ts_s=end)
    )
    assert poly_sim.engine.orders[a.order_id].expiration == end + 60
    await v.close_session()


async def test_a_fill_whose_trade_failed_while_we_were_down_is_voided(make_sim, tmp_path) -> None:
    """The dead run booked a provisional fill; its trade FAILED while no bot ran. The new run
    takes the ledger's provisional fills over, so the position check asks their status and
    the phantom fill is voided (it used to stay: a mismatch that refused quoting for good)."""
    import time

    from pmbot.clock import ManualClock
    from pmbot.core import events as ev
    from pmbot.core.state import TradingState
    from pmbot.store.ledger import Ledger

    clock = ManualClock(time.time_ns())
    sim = await make_sim(clock=clock)
    sim.faults.fail_trades = 1
    key = Account.create().key.hex()

    v1 = await _venue(sim.url, key, Collector())
    port = PolymarketPort(v1)
    await House(sim).requote(CID, 5000)
    ask = await port.create_order(CreateOrder("c-ask", CID, Side.ASK, 5100, 1000))
    (m,) = v1.markets.values()
    await House(sim).order(m.yes_token, "BUY", 5100, 4_000_000, "FAK")
    (fill,) = await port.get_fills()
    assert fill.order_id == ask.order_id
    led = Ledger(str(tmp_path / "l.sqlite3")).open()
    state = TradingState()
    pf = dataclasses.replace(fill, provisional=True, client_order_id="c-ask")
    state.apply(pf)
    led.add_fill(pf, state.positions[CID])  # booked as provisional, then the process died
    await v1.close_session()
    for _ in range(100):  # while no bot runs: RETRYING, then FAILED
        if all(t.status == "FAILED" for t in sim.trades.values()):
            break
        clock.advance(5)
        await asyncio.sleep(0)
    assert all(t.status == "FAILED" for t in sim.trades.values())
    got = Collector()
    v2 = await _venue(sim.url, key, got)
    assert v2.user_feed is not None
    assert v2.user_feed.stream.adopt_pending(led.provisional_fills()) == 1
    assert {p.ticker: p.qty for p in await PolymarketPort(v2).get_positions()} == {CID: 0}
    voided = got.of(ev.FillVoided)
    assert [(e.trade_id, e.order_id) for e in voided] == [(fill.trade_id, fill.order_id)]
    led.close()
    await v2.close_session()


async def test_an_adopted_fill_the_venue_cannot_find_stops_counting_as_pending(
    make_sim, tmp_path
) -> None:
    """The venue's trade lookup knows nothing of an earlier run's provisional fill (an id
    aged out): once adopted it must not count on top of token balances that already hold
    the mined trade (the position read double for good, and quoting was refused)."""
    import time

    from pmbot.clock import ManualClock
    from pmbot.core.state import TradingState
    from pmbot.store.ledger import Ledger

    clock = ManualClock(time.time_ns())
    sim = await make_sim(clock=clock)
    key = Account.create().key.hex()
    v1 = await _venue(sim.url, key, Collector())
    port = PolymarketPort(v1)
    await House(sim).requote(CID, 5000)
    await port.create_order(CreateOrder("c-ask", CID, Side.ASK, 5100, 1000))
    (m,) = v1.markets.values()
    await House(sim).order(m.yes_token, "BUY", 5100, 4_000_000, "FAK")
    (fill,) = await port.get_fills()
    for _ in range(100):  # mined (and confirmed) while no bot runs
        if all(t.status == "CONFIRMED" for t in sim.trades.values()):
            break
        clock.advance(5)
        await asyncio.sleep(0)
    await v1.close_session()
    led = Ledger(str(tmp_path / "l.sqlite3")).open()
    state = TradingState()
    lost = dataclasses.replace(fill, trade_id="trade-aged-out", provisional=True)
    state.apply(lost)
    led.add_fill(lost, state.positions[CID])
    v2 = await _venue(sim.url, key, Collector())
    assert v2.user_feed is not None
    v2.user_feed.stream.adopt_pending(led.provisional_fills())
    port2 = PolymarketPort(v2)
    for _ in range(2):  # every later reconciliation reads the same
        assert {p.ticker: p.qty for p in await port2.get_positions()} == {CID: -fill.qty}
    led.close()
    await v2.close_session()
