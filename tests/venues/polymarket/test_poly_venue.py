"""The venue adapter end to end on the simulator: YES-leg quotes, fills, shutdown with no orders."""

from __future__ import annotations

import asyncio
import random

from eth_account import Account
from poly_simdata import CID, NO, YES
from test_poly_ws import Collector

from pmbot.core import events as ev
from pmbot.core.orders import OrderStatus, Side
from pmbot.sim.polymarket_server import PolySim
from pmbot.venues.polymarket.http import PolyHttp
from pmbot.venues.polymarket.signing import OrderSigner
from pmbot.venues.polymarket.urls import Endpoints
from pmbot.venues.polymarket.venue import PolymarketVenue, share_amount


def test_share_amount_both_encodings() -> None:
    assert share_amount("100.0000") == share_amount("100000000") == 100_000_000
    assert share_amount("25") == 25_000_000


def test_an_open_order_reads_both_sizes_in_the_encoding_of_its_original_size() -> None:
    """Base units: 10 shares with half a share matched. "500000" alone would read as
    500,000 shares (remaining 0: an order resting on the venue that we would stop tracking)."""
    import msgspec

    from pmbot.venues.polymarket import wire as w
    from pmbot.venues.polymarket.convert import MarketInfo
    from pmbot.venues.polymarket.venue import open_order_update

    m = MarketInfo(CID, YES, NO)
    fields = {"id": "0xo", "status": "LIVE", "owner": "k", "maker_address": "0xm", "market": CID,
              "asset_id": YES, "side": "BUY", "price": "0.4", "outcome": "Yes",
              "order_type": "GTC", "expiration": "0", "associate_trades": [], "created_at": 1}  # fmt: skip
    for orig, matched in (("10000000", "500000"), ("10.000000", "0.500000")):
        o = msgspec.convert({**fields, "original_size": orig, "size_matched": matched},
                            w.PolyOpenOrder)  # fmt: skip
        u = open_order_update(o, m, 1)
        assert (u.initial, u.filled, u.remaining) == (1000, 50, 950), (orig, matched)
        assert u.status is OrderStatus.RESTING


async def test_venue_quotes_fills_and_clean_shutdown(poly_sim: PolySim) -> None:
    got = Collector()
    ep = Endpoints.local(poly_sim.url)
    v = PolymarketVenue(
        ep,
        OrderSigner(Account.create().key.hex()),
        [CID],
        got,
        rng=random.Random(3),
        heartbeat=0.2,
        reconcile_every=0.2,
    )
    (m,) = await v.connect()
    task = asyncio.create_task(v.run())
    await got.until(lambda: bool(got.of(ev.BookSnapshot)))
    bid = await v.place(CID, Side.BID, 4500, 1000)
    ask = await v.place(CID, Side.ASK, 5500, 1000)  # placed as BUY NO at 0.45
    opens = {u.order_id: u for u in await v.open_orders()}
    assert opens[bid].side is Side.BID and opens[bid].price == 4500
    assert (
        opens[ask].side is Side.ASK
        and opens[ask].price == 5500
        and opens[ask].status is OrderStatus.RESTING
    )
    await got.until(lambda: v.market_feed.stream.books[CID].yes_ask_price() == 5500)
    other = PolyHttp(ep, OrderSigner(Account.create().key.hex()))
    await other.create_or_derive_creds()
    await other.post_order(
        other.limit_order(m, token_id=m.yes_token, side="BUY", price=5600, size=600)
    )
    await got.until(lambda: any(isinstance(e, ev.Fill) for e in got.events))
    (fill,) = got.of(ev.Fill)
    assert fill.side is Side.ASK and fill.price == 5500 and fill.qty == 600 and not fill.is_taker
    res = await v.place_many([(CID, Side.BID, 4400, 500), (CID, Side.BID, 4455, 500)])
    assert isinstance(res[0], str) and not isinstance(res[1], str) and res[1].code == "invalid_tick"
    assert len(await v.cancel_all()) == 3
    assert await v.open_orders() == []
    await v.aclose()
    await task
    await v.close_session()
    await other.aclose()


async def test_house_flow_fills_a_quoting_venue(poly_sim: PolySim) -> None:
    from pmbot.sim.polymarket_house import House

    house = House(poly_sim)
    got = Collector()
    v = PolymarketVenue(
        Endpoints.local(poly_sim.url),
        OrderSigner(Account.create().key.hex()),
        [CID],
        got,
        rng=random.Random(5),
        heartbeat=None,
        reconcile_every=None,
    )
    await v.connect()
    task = asyncio.create_task(v.run())
    await got.until(lambda: bool(got.of(ev.BookSnapshot)))
    await v.place(CID, Side.BID, 4800, 2000)
    await v.place(CID, Side.ASK, 5200, 2000)
    flow = asyncio.create_task(house.run_flow(random.Random(11), rate_hz=200, max_shares=6))
    await got.until(lambda: {f.side for f in got.of(ev.Fill)} == {Side.BID, Side.ASK}, timeout=10)
    flow.cancel()
    for f in got.of(ev.Fill):
        assert f.price in (4800, 5200) and not f.is_taker
    await v.cancel_all()
    await v.aclose()
    await task
    await v.close_session()
