"""DESIGN rule 4: the simulator's replies carry every field the recorded payloads carry."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path

import aiohttp
from eth_account import Account
from poly_simdata import CID, NO, YES

from pmbot.sim.polymarket_server import PolySim
from pmbot.venues.polymarket.http import PolyHttp
from pmbot.venues.polymarket.rest import Req
from pmbot.venues.polymarket.signing import OrderSigner
from pmbot.venues.polymarket.urls import Endpoints

FIX = Path(__file__).parents[2] / "fixtures" / "polymarket"


def _keys(name: str, pick=lambda d: d) -> set[str]:
    return set(pick(json.loads((FIX / name).read_bytes())))


def _missing(recorded: set[str], ours: dict) -> set[str]:
    return recorded - set(ours)


async def test_rest_and_ws_shapes_cover_the_recordings(poly_sim: PolySim) -> None:
    maker = PolyHttp(
        Endpoints.local(poly_sim.url), OrderSigner(Account.create().key.hex()), rng=random.Random(1)
    )
    taker = PolyHttp(
        Endpoints.local(poly_sim.url), OrderSigner(Account.create().key.hex()), rng=random.Random(2)
    )
    await maker.create_or_derive_creds()
    await taker.create_or_derive_creds()
    m = await maker.market_info(CID)
    frames: list[dict] = []
    async with (
        aiohttp.ClientSession() as s,
        s.ws_connect(poly_sim.url + "/ws/market") as mws,
        s.ws_connect(poly_sim.url + "/ws/user") as uws,
    ):
        await mws.send_str(
            json.dumps({"type": "market", "assets_ids": [YES, NO], "custom_feature_enabled": True})
        )
        c = maker.creds
        await uws.send_str(
            json.dumps(
                {
                    "type": "user",
                    "markets": [CID],
                    "auth": {"apiKey": c.api_key, "secret": c.secret, "passphrase": c.passphrase},
                }
            )
        )
        while len(poly_sim.hub.user_subs) < 1 or not poly_sim.hub.user_subs[0].owner:
            await asyncio.sleep(0.01)
        r = await maker.post_order(
            maker.limit_order(m, token_id=YES, side="BUY", price=4000, size=1000)
        )
        await taker.post_order(taker.limit_order(m, token_id=NO, side="BUY", price=6000, size=500))
        await poly_sim.set_tick(CID, "0.001")
        for ws in (mws, uws):
            while True:
                try:
                    msg = await asyncio.wait_for(ws.receive(), 0.3)
                except TimeoutError:
                    break
                d = json.loads(msg.data)
                frames += d if isinstance(d, list) else [d]
    by = {}
    for f in frames:
        by.setdefault(f.get("event_type"), f)
    assert not _missing(_keys("ws_book_snapshot_captured.json") | {"event_type"}, by["book"])
    assert not _missing(_keys("ws_market_price_change_msg.json"), by["price_change"])
    pc = _keys("ws_market_price_change_msg.json", lambda d: d["price_changes"][0])
    assert not _missing(pc, by["price_change"]["price_changes"][0])
    assert not _missing(_keys("ws_market_last_trade_msg.json"), by["last_trade_price"])
    assert not _missing(_keys("ws_market_tick_size_msg.json"), by["tick_size_change"])
    # custom-feature subscribers get best_bid_ask; a trade is followed by the books (§4.1)
    assert not _missing(_keys("ws_market_best_bid_ask_msg.json"), by["best_bid_ask"])
    kinds = [f.get("event_type") for f in frames]
    assert "book" in kinds[kinds.index("last_trade_price") :]
    assert not _missing(_keys("ws_user_order_placement.json") | {"event_type"}, by["order"])
    assert not _missing(_keys("ws_user_trade.json") | {"event_type"}, by["trade"])
    mo = _keys("ws_user_trade.json", lambda d: d["maker_orders"][0])
    assert not _missing(mo, by["trade"]["maker_orders"][0])

    book = json.loads(await maker.call(Req.public("/book", token_id=YES)))
    assert not _missing(_keys("clob_book_response_empty_ask.json"), book)
    (order,) = json.loads(await maker.call(Req.open_orders()))["data"]
    assert order["id"] == r.orderID and not _missing(_keys("http_open_order.json"), order)
    trades = json.loads(await maker.call(Req.trades()))
    assert not _missing(_keys("http_trades_page.json"), trades)
    assert not _missing(_keys("http_trade_report.json"), trades["data"][0])
    market = json.loads(await maker.call(Req.public(f"/markets/{CID}")))
    assert not _missing(
        _keys("clob_market_response.json")
        - {
            "enable_order_book",
            "archived",
            "accepting_order_timestamp",
            "description",
            "end_date_iso",
            "game_start_time",
            "fpmm",
            "notifications_enabled",
            "neg_risk_market_id",
            "neg_risk_request_id",
            "icon",
            "image",
            "is_50_50_outcome",
            "tags",
        },
        market,
    )
    gamma = json.loads(
        await maker.call(Req.public("/markets", slug="will-the-sim-work"), base=maker.ep.gamma)
    )
    assert not _missing(
        _keys("gamma_market.json")
        - {"questionID", "description", "startDate", "endDate", "makerBaseFee", "takerBaseFee"},
        gamma[0],
    )
    await maker.cancel_all()
    for x in (maker, taker):
        await x.aclose()
