"""Edges of the Polymarket client found in review (each failed before its fix):

* a `tick_size_change` naming one token moves both tokens' signing tick (asks are signed as
  BUY NO: on the NO token's old tick every one was refused as off-tick);
* a FAK that trades only in part is acknowledged with what traded, not its whole size;
* a cancel of more ids than the cancel bucket's burst is sent in chunks it can pay for
  (it raised RateLimited before a byte went out).
"""

from __future__ import annotations

import json
import random

from eth_account import Account
from poly_simdata import CID, NO, sim_markets
from test_poly_ws import Collector

from pmbot.core.orders import Side
from pmbot.core.requests import CreateOrder, TimeInForce
from pmbot.sim.polymarket_server import PolySim
from pmbot.venues.polymarket.convert import MarketInfo
from pmbot.venues.polymarket.http import PolyHttp
from pmbot.venues.polymarket.port import PolymarketPort
from pmbot.venues.polymarket.signing import OrderSigner
from pmbot.venues.polymarket.urls import Endpoints
from pmbot.venues.polymarket.venue import PolymarketVenue
from pmbot.venues.polymarket.ws import MarketFeed


async def test_a_tick_change_on_one_token_moves_both() -> None:
    cid, yes, no = "0x" + "ab" * 32, "111", "222"
    m = MarketInfo(cid, yes, no, tick="0.01")
    http = PolyHttp(Endpoints.local("http://127.0.0.1:9"), OrderSigner(Account.create().key.hex()))
    try:
        for t in (yes, no):
            http.forget_tick(t, "0.01")
        feed = MarketFeed("ws://127.0.0.1:9", [m], lambda evs: None, http)
        change = {"event_type": "tick_size_change", "market": cid, "asset_id": yes}
        change |= {"old_tick_size": "0.01", "new_tick_size": "0.001", "timestamp": "1"}
        await feed._frame(json.dumps(change))
        assert http.cached_tick(yes) == http.cached_tick(no) == "0.001"
        # the ask at 0.965 is a BUY of NO at 0.035: on the new tick it signs
        http.limit_order(m, token_id=no, side="BUY", price=350, size=1000)
    finally:
        await http.aclose()


async def test_a_fak_that_trades_in_part_is_acknowledged_with_what_traded() -> None:
    sim = PolySim(sim_markets())
    await sim.start()
    other = PolyHttp(Endpoints.local(sim.url), OrderSigner(Account.create().key.hex()))
    v = PolymarketVenue(
        Endpoints.local(sim.url),
        OrderSigner(Account.create().key.hex()),
        [CID],
        Collector(),
        rng=random.Random(1),
        heartbeat=None,
        reconcile_every=None,
    )
    try:
        await other.create_or_derive_creds()
        m = await other.market_info(CID)
        # 6 YES offered at 0.55 (a BUY of 6 NO at 0.45); our IOC bids for 10
        await other.post_order(other.limit_order(m, token_id=NO, side="BUY", price=4500, size=600))
        await v.connect()
        ack = await PolymarketPort(v).create_order(
            CreateOrder(
                "c-ioc", CID, Side.BID, 5500, 1000, post_only=False, time_in_force=TimeInForce.IOC
            )
        )
        assert (ack.filled, ack.remaining) == (600, 0)
    finally:
        await other.aclose()
        await v.close_session()
        await sim.aclose()


async def test_a_cancel_larger_than_the_bucket_burst_is_sent_in_chunks() -> None:
    sim = PolySim(sim_markets())
    await sim.start()
    http = PolyHttp(Endpoints.local(sim.url), OrderSigner(Account.create().key.hex()))
    try:
        await http.create_or_derive_creds()
        burst = int(http.buckets["cancel"].burst)
        ids = [f"0x{i:064x}" for i in range(burst + 1)]
        r = await http.cancel_orders(ids)  # none of them is ours: each comes back refused
        assert not r.canceled and set(r.not_canceled or {}) == set(ids)
    finally:
        await http.aclose()
        await sim.aclose()
