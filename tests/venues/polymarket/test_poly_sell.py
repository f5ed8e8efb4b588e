"""Regression (review): every ask went out as a BUY of NO at 1 - p, also while the bot held
YES, so a bid fill plus an ask fill turned ~$1 of pUSD into a YES+NO pair the bot never
merges: flat on paper, the wallet drained until "not enough balance" tripped the kill
switch. A side whose tokens we hold now SELLs them; these tests pin the port's half (which
form an order takes, what it may sell, how the fills and listings read back)."""

from __future__ import annotations

import asyncio
import random
import time

from eth_account import Account
from poly_simdata import CID
from test_poly_ws import Collector

from pmbot.clock import ManualClock
from pmbot.core.money import ONE
from pmbot.core.orders import OrderStatus, Side
from pmbot.core.requests import CreateOrder
from pmbot.errors import OrderRejected
from pmbot.sim.polymarket_house import House
from pmbot.sim.polymarket_server import PolySim
from pmbot.venues.polymarket.port import PolymarketPort
from pmbot.venues.polymarket.signing import OrderSigner
from pmbot.venues.polymarket.urls import Endpoints
from pmbot.venues.polymarket.venue import PolymarketVenue

E6 = 1_000_000


async def _mine(sim: PolySim, clock: ManualClock) -> None:
    for _ in range(100):
        if all(t.status == "CONFIRMED" for t in sim.trades.values()):
            return
        clock.advance(1)
        await asyncio.sleep(0)
    raise AssertionError("trades not mined")


async def test_an_ask_sells_the_yes_we_hold_and_never_oversells(make_sim) -> None:
    clock = ManualClock(time.time_ns())  # the simulator's: trades are mined when it says
    sim = await make_sim(clock=clock)
    v = PolymarketVenue(
        Endpoints.local(sim.url),
        OrderSigner(Account.create().key.hex()),
        [CID],
        Collector(),
        rng=random.Random(1),
        heartbeat=None,
        reconcile_every=None,
    )
    (m,) = await v.connect()
    port = PolymarketPort(v)
    reserved = {Side.ASK: 0, Side.BID: 0}  # what the app's state says our SELLs reserve
    port.resting_sells = lambda t, s: reserved[s]
    house = House(sim)
    await house.requote(CID, 5000)  # house bids 0.48, asks 0.52
    me = v.http.signer.funder
    cash0 = sim.accounts.cash_of(me)

    # nothing held: a bid BUYs YES, an ask BUYs NO at 1 - p (as before)
    await port.get_positions()  # the reconciliation's balance reads
    bid = await port.create_order(CreateOrder("c-bid", CID, Side.BID, 4900, 1000))
    o = sim.engine.orders[bid.order_id]
    assert (o.token_id, o.side, port.is_sell(bid.order_id)) == (m.yes_token, "BUY", False)
    await house.order(m.no_token, "BUY", ONE - 4900, 10 * E6, "FAK")  # takes our bid
    (f,) = await port.get_fills()
    assert (f.side, f.price, f.qty) == (Side.BID, 4900, 1000)
    # bought, not mined: the YES cannot be sold yet (the venue would refuse the SELL)
    assert port.sellable(CID, Side.ASK) == 0
    await _mine(sim, clock)
    assert {p.ticker: p.qty for p in await port.get_positions()} == {CID: 1000}
    assert port.sellable(CID, Side.ASK) == 1000 and port.sellable(CID, Side.BID) == 0

    # held: the ask SELLs YES at p (it used to BUY NO at 1 - p and lock the pair)
    ask = await port.create_order(CreateOrder("c-ask", CID, Side.ASK, 5100, 1000))
    o = sim.engine.orders[ask.order_id]
    assert (o.token_id, o.side, o.price) == (m.yes_token, "SELL", 5100)
    assert port.is_sell(ask.order_id) is True
    (u,) = [x for x in await port.list_orders(status=OrderStatus.RESTING) if x.order_id == o.id]
    assert (u.side, u.price, u.remaining, u.client_order_id) == (Side.ASK, 5100, 1000, "c-ask")
    # a second ask while the first reserves all 10: a BUY of NO, never a second SELL
    reserved[Side.ASK] = 1000
    extra = port._sign(CreateOrder("c-extra", CID, Side.ASK, 5300, 500))
    assert extra.wire["side"] == "BUY" and extra.wire["tokenId"] == m.no_token

    # the house buys 4 YES from our SELL: our ask fill at p, 4 YES owed at once
    await house.order(m.yes_token, "BUY", 5100, 4 * E6, "FAK")
    (f2,) = [x for x in await port.get_fills() if x.order_id == ask.order_id]
    assert (f2.side, f2.price, f2.qty) == (Side.ASK, 5100, 400)
    assert port.sellable(CID, Side.ASK) == 600  # before mined: 10 read, 4 sold
    await _mine(sim, clock)
    assert {p.ticker: p.qty for p in await port.get_positions()} == {CID: 600}
    assert port.sellable(CID, Side.ASK) == 600
    # the wallet: paid 10 x 0.49, got 4 x 0.51; no NO token bought, no pair locked
    assert sim.accounts.cash_of(me) == cash0 - 10 * 490_000 + 4 * 510_000
    assert sim.accounts.shares_of(me, m.yes_token) == 6 * E6
    assert sim.accounts.shares_of(me, m.no_token) == 0

    # our count runs ahead of the venue's (the app's state forgot the resting SELL): the
    # venue refuses the SELL; that is no lack of money (not the kill switch's code), and
    # the token counts as none until read again
    reserved[Side.ASK] = 0
    try:
        await port.create_order(CreateOrder("c-over", CID, Side.ASK, 5200, 600))
        raise AssertionError("the venue took a SELL of tokens already reserved")
    except OrderRejected as e:
        assert e.code == "insufficient_tokens"
    assert port.sellable(CID, Side.ASK) == 0
    await port.get_positions()
    assert port.sellable(CID, Side.ASK) == 600
    await v.close_session()


async def test_a_bid_sells_the_no_we_hold_at_one_minus_p(make_sim) -> None:
    clock = ManualClock(time.time_ns())
    sim = await make_sim(clock=clock)
    v = PolymarketVenue(
        Endpoints.local(sim.url),
        OrderSigner(Account.create().key.hex()),
        [CID],
        Collector(),
        rng=random.Random(2),
        heartbeat=None,
        reconcile_every=None,
    )
    (m,) = await v.connect()
    port = PolymarketPort(v)
    port.resting_sells = lambda t, s: 0
    house = House(sim)
    await house.requote(CID, 5000)
    await port.get_positions()
    await port.create_order(CreateOrder("c-ask", CID, Side.ASK, 5100, 800))  # a BUY of NO
    await house.order(m.yes_token, "BUY", 5100, 8 * E6, "FAK")
    await port.get_fills()
    await _mine(sim, clock)
    assert port.sellable(CID, Side.BID) == 0  # not read yet
    await port.get_fills()  # the stream hears it was mined (the user channel, or REST)
    # a mined BUY fill asks for a read of its token (no wait for the reconciliation)
    assert await port.refresh_holdings() == 1 and await port.refresh_holdings() == 0
    assert port.sellable(CID, Side.BID) == 800
    bid = await port.create_order(CreateOrder("c-bid", CID, Side.BID, 4900, 800))
    o = sim.engine.orders[bid.order_id]
    assert (o.token_id, o.side, o.price) == (m.no_token, "SELL", ONE - 4900)
    await house.order(m.no_token, "BUY", ONE - 4900, 8 * E6, "FAK")  # buys our NO
    fills = [x for x in await port.get_fills() if x.order_id == bid.order_id]
    assert [(x.side, x.price, x.qty) for x in fills] == [(Side.BID, 4900, 800)]
    await _mine(sim, clock)
    assert {p.ticker: p.qty for p in await port.get_positions()} == {CID: 0}
    me = v.http.signer.funder
    assert sim.accounts.shares_of(me, m.yes_token) == sim.accounts.shares_of(me, m.no_token) == 0
    await v.close_session()
