"""Found in review (failed before its fix): a SELL fill the venue reported by its order update but whose trade event
has not arrived yet (LiveOrder.owed) is not counted against the tokens we may sell.

The venue counts a SELL fill against new SELLs from MATCHED on (protocol §5 balance
reservation; the sim's Accounts.available). The app's `_resting_sells` counts only
`o.remaining` of live SELLs, and `port.sellable` only the fills the stream has seen, so
between the order UPDATE and the trade frame (the simulator sends the maker's UPDATE first)
the matched shares are counted as free: a SELL of them is refused by the venue
(insufficient_tokens, the token then counts as none until the next reconciliation) and
fit_quotes cancels the resting SELL it should keep.
"""

from __future__ import annotations

import random
import time
from types import SimpleNamespace

from eth_account import Account
from poly_simdata import CID
from test_poly_sell import _mine
from test_poly_ws import Collector

from pmbot.app_polymarket import PolyBotApp
from pmbot.clock import ManualClock
from pmbot.core.money import ONE
from pmbot.core.orders import LiveOrder, OrderStatus, Side
from pmbot.core.requests import CreateOrder
from pmbot.core.state import TradingState
from pmbot.errors import OrderRejected
from pmbot.sim.polymarket_house import House
from pmbot.strategy.inputs import DesiredQuote
from pmbot.venues.polymarket.port import PolymarketPort
from pmbot.venues.polymarket.signing import OrderSigner
from pmbot.venues.polymarket.urls import Endpoints
from pmbot.venues.polymarket.venue import PolymarketVenue

E6 = 1_000_000


async def _setup(make_sim):
    clock = ManualClock(time.time_ns())
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
    state = TradingState()
    app = SimpleNamespace(port=port, state=state, infos=v.markets)  # what the app's hooks read
    if hasattr(PolyBotApp, "_owed_sells"):  # (the fix's helper)
        app._owed_sells = lambda t, s: PolyBotApp._owed_sells(app, t, s)  # type: ignore[arg-type]
    port.resting_sells = lambda t, s: PolyBotApp._resting_sells(app, t, s)  # type: ignore[arg-type]
    house = House(sim)
    await house.requote(CID, 5000)
    # hold 10 YES, mined and read
    await port.get_positions()
    b = await port.create_order(CreateOrder("c-bid", CID, Side.BID, 4900, 1000))
    await house.order(m.no_token, "BUY", ONE - 4900, 10 * E6, "FAK")
    await port.get_fills()
    await _mine(sim, clock)
    await port.get_positions()
    assert port.sellable(CID, Side.ASK) == 1000, b
    # our ask: a SELL of the 10 YES, tracked in the state as the order manager does
    lo = LiveOrder("c-ask", CID, Side.ASK, 5100, 1000, 1000, OrderStatus.PENDING)
    state.register_order(lo)
    ack = await port.create_order(CreateOrder("c-ask", CID, Side.ASK, 5100, 1000))
    lo.order_id, lo.status = ack.order_id, OrderStatus.RESTING
    state.order_ids[ack.order_id] = "c-ask"
    assert port.is_sell(ack.order_id) is True
    port.app = app
    return sim, v, m, port, state, house, lo


def _free(port, state) -> int:
    return port.sellable(CID, Side.ASK) - port.resting_sells(CID, Side.ASK)


async def test_partly_matched_sell_owed_fill_counts_as_free(make_sim) -> None:
    sim, v, m, port, state, house, lo = await _setup(make_sim)
    # the house takes 5 of our 10 YES; the order update (REST listing here, the user
    # channel's UPDATE frame in a run) arrives, the trade event has not yet
    await house.order(m.yes_token, "BUY", 5100, 5 * E6, "FAK")
    (u,) = [
        x for x in await port.list_orders(status=OrderStatus.RESTING) if x.order_id == lo.order_id
    ]
    state.apply(u)
    assert (lo.remaining, lo.owed) == (500, 500)
    me = v.http.signer.funder
    venue_free = sim.accounts.available(me, m.yes_token, False, sim.engine.live()) // 10_000
    # fit_quotes: the ask wanted at 5100 for 10 - the resting 6 is what may rest
    desired = [DesiredQuote(CID, Side.ASK, 5100, 1000, True)]
    fitted = PolyBotApp._fit(port.app, desired)  # type: ignore[arg-type]
    try:
        await port.create_order(CreateOrder("c-more", CID, Side.ASK, 5200, 500))
        refused = None
    except OrderRejected as e:
        refused = e.code
    assert [(q.price, q.qty) for q in fitted] == [(5100, 500)]  # the resting SELL is kept
    assert refused is None and _free(port, state) == venue_free == 0
    await v.close_session()


async def test_fully_matched_sell_owed_fill_counts_as_free(make_sim) -> None:
    sim, v, m, port, state, house, lo = await _setup(make_sim)
    await house.order(m.yes_token, "BUY", 5100, 10 * E6, "FAK")  # takes all 10
    (u,) = [x for x in await port.list_orders() if x.order_id == lo.order_id]
    state.apply(u)  # MATCHED: EXECUTED, not live; its 10 are owed (trade frame late)
    assert lo.status is OrderStatus.EXECUTED and lo.owed == 1000
    me = v.http.signer.funder
    venue_free = sim.accounts.available(me, m.yes_token, False, sim.engine.live()) // 10_000
    try:
        ack = await port.create_order(CreateOrder("c-again", CID, Side.ASK, 5200, 1000))
        res = "SELL" if port.is_sell(ack.order_id) else "BUY"
    except OrderRejected as e:
        res = e.code
    assert venue_free == 0 and res == "BUY"  # none left to sell: the ask buys NO instead
    await v.close_session()
