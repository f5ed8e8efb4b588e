"""The official py-clob-client-v2, unmodified, against the simulator (issue 8 acceptance)."""

from __future__ import annotations

import asyncio

import pytest
from eth_account import Account
from poly_simdata import CID, NO, YES
from py_clob_client_v2 import (
    ClobClient,
    OpenOrderParams,
    OrderArgs,
    OrderType,
    PartialCreateOrderOptions,
)
from py_clob_client_v2.clob_types import OrderPayload
from py_clob_client_v2.exceptions import PolyApiException

from pmbot.sim.polymarket_server import PolySim

KEY = "0x" + "5a" * 32


async def test_sdk_creds_post_list_cancel(poly_sim: PolySim) -> None:
    def flow() -> None:
        c = ClobClient(poly_sim.url, chain_id=137, key=KEY)
        creds = c.create_or_derive_api_key()
        again = c.create_or_derive_api_key()  # create fails (exists) -> falls back to derive
        assert again == creds
        c.set_api_creds(creds)
        assert c.get_ok() == "OK" and c.get_version() == 2
        assert c.get_tick_size(YES) == "0.01" and c.get_neg_risk(YES) is False
        order = c.create_order(OrderArgs(token_id=YES, price=0.45, size=20, side="BUY"))
        resp = c.post_order(order, OrderType.GTC)
        assert resp["success"] and resp["status"] == "live", resp
        oid = resp["orderID"]
        opens = c.get_open_orders(OpenOrderParams(market=CID))
        assert [o["id"] for o in opens] == [oid]
        assert opens[0]["price"] == "0.45" and opens[0]["original_size"] == "20"
        book = c.get_order_book(NO)  # the NO book mirrors the YES bid as an ask at 0.55
        assert book["asks"][-1] == {"price": "0.55", "size": "20"}
        cancel = c.cancel_order(OrderPayload(orderID=oid))
        assert cancel["canceled"] == [oid]
        assert c.get_open_orders() == []

    await asyncio.to_thread(flow)


async def test_sdk_match_trades_and_errors(poly_sim: PolySim) -> None:
    def flow() -> None:
        maker = ClobClient(poly_sim.url, chain_id=137, key=KEY)
        maker.set_api_creds(maker.create_or_derive_api_key())
        taker = ClobClient(poly_sim.url, chain_id=137, key=Account.create().key.hex())
        taker.set_api_creds(taker.create_or_derive_api_key())
        # maker: buy NO at 0.40 == YES ask at 0.60; taker buys YES at 0.62 -> mint at 0.60
        r = maker.create_and_post_order(OrderArgs(token_id=NO, price=0.40, size=10, side="BUY"))
        assert r["status"] == "live"
        r2 = taker.create_and_post_order(OrderArgs(token_id=YES, price=0.62, size=10, side="BUY"))
        assert r2["status"] == "matched" and r2["transactionsHashes"], r2
        trades = taker.get_trades()
        assert (
            len(trades) == 1 and trades[0]["price"] == "0.6" and trades[0]["trader_side"] == "TAKER"
        )
        mt = maker.get_trades()
        assert mt[0]["trader_side"] == "MAKER" and mt[0]["maker_orders"][0]["price"] == "0.4"
        with pytest.raises(PolyApiException) as e:
            taker.create_and_post_order(OrderArgs(token_id=YES, price=0.5, size=1, side="BUY"))
        assert e.value.status_code == 400 and "lower than the minimum" in str(e.value.error_msg)
        r3 = maker.create_and_post_order(
            OrderArgs(token_id=YES, price=0.7, size=5, side="BUY"),
            PartialCreateOrderOptions(tick_size="0.01"),
            post_only=True,
        )
        assert r3["success"] and r3["status"] == "live"
        assert maker.cancel_all()["canceled"] == [r3["orderID"]]

    await asyncio.to_thread(flow)


async def test_sdk_market_order_book_hash_and_heartbeat(poly_sim: PolySim) -> None:
    from py_clob_client_v2 import MarketOrderArgs

    def flow() -> None:
        maker = ClobClient(poly_sim.url, chain_id=137, key=KEY)
        maker.set_api_creds(maker.create_or_derive_api_key())
        taker = ClobClient(poly_sim.url, chain_id=137, key=Account.create().key.hex())
        taker.set_api_creds(taker.create_or_derive_api_key())
        maker.create_and_post_order(
            OrderArgs(token_id=NO, price=0.70, size=50, side="BUY")
        )  # YES ask 0.30
        book = taker.get_order_book(YES)
        assert taker.get_order_book_hash(book) == book["hash"]  # the SDK's SHA-1 recipe agrees
        r = taker.create_and_post_market_order(MarketOrderArgs(token_id=YES, amount=6, side="BUY"))
        assert r["success"] and r["status"] == "matched", r
        assert float(r["takingAmount"]) == 20  # $6 at 0.30
        hb = maker.post_heartbeat("")
        assert maker.post_heartbeat(hb["heartbeat_id"])["heartbeat_id"]
        maker.cancel_all()

    await asyncio.to_thread(flow)


async def test_sdk_price_reads(poly_sim: PolySim) -> None:
    from py_clob_client_v2 import BookParams
    from py_clob_client_v2.clob_types import OrderScoringParams

    def flow() -> None:
        c = ClobClient(poly_sim.url, chain_id=137, key=KEY)
        c.set_api_creds(c.create_or_derive_api_key())
        c.create_and_post_order(OrderArgs(token_id=YES, price=0.40, size=10, side="BUY"))
        c.create_and_post_order(
            OrderArgs(token_id=NO, price=0.50, size=10, side="BUY")
        )  # YES ask 0.50
        assert c.get_midpoint(YES) == {"mid": "0.45"}
        assert c.get_spread(YES) == {"spread": "0.1"}
        assert c.get_midpoints([BookParams(token_id=YES), BookParams(token_id=NO)]) == {
            YES: "0.45",
            NO: "0.55",
        }
        assert c.get_spreads([BookParams(token_id=NO)]) == {NO: "0.1"}
        assert c.get_prices([BookParams(token_id=YES, side="BUY")]) == {YES: {"BUY": "0.4"}}
        assert c.get_order_books([BookParams(token_id=YES)])[0]["bids"] == [
            {"price": "0.4", "size": "10"}
        ]
        assert c.is_order_scoring(OrderScoringParams(orderId="0x1")) == {"scoring": False}
        c.cancel_all()

    await asyncio.to_thread(flow)


async def test_sdk_safe_and_deposit_wallet_orders(make_sim) -> None:
    owner = Account.create()
    safe, wallet = Account.create().address, Account.create().address
    sim = await make_sim(wallet_owners={safe: owner.address, wallet: owner.address})

    def flow() -> None:
        for sig_type, funder in ((2, safe), (3, wallet)):
            c = ClobClient(
                sim.url, chain_id=137, key=owner.key.hex(), signature_type=sig_type, funder=funder
            )
            c.set_api_creds(c.create_or_derive_api_key())
            r = c.create_and_post_order(OrderArgs(token_id=YES, price=0.3, size=10, side="BUY"))
            assert r["success"] and r["status"] == "live", (sig_type, r)
            (o,) = c.get_open_orders()
            assert o["maker_address"].lower() == funder.lower()
            c.cancel_all()

    await asyncio.to_thread(flow)
