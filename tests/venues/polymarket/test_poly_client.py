"""Our REST client against the simulator: creds, orders, batches, pagination, typed errors,
rate limits, heartbeat kill switch. No mocks: a real loopback server."""

from __future__ import annotations

import asyncio
import random

import pytest
from eth_account import Account
from poly_simdata import CID, CID2, NO, YES, YES2

from pmbot.errors import OrderRejected, RateLimited, VenueUnavailable
from pmbot.sim.polymarket_server import PolySim
from pmbot.venues.polymarket.http import PolyHttp
from pmbot.venues.polymarket.signing import OrderSigner, SignatureType
from pmbot.venues.polymarket.urls import Endpoints


async def _client(sim: PolySim, key: str | None = None, **kw) -> PolyHttp:
    signer = OrderSigner(key or Account.create().key.hex(), **kw.pop("signer_kw", {}))
    c = PolyHttp(Endpoints.local(sim.url), signer, rng=random.Random(7), **kw)
    await c.create_or_derive_creds()
    return c


async def test_creds_orders_pagination_cancels(poly_sim: PolySim) -> None:
    c = await _client(poly_sim)
    again = PolyHttp(Endpoints.local(poly_sim.url), c.signer)
    assert await again.create_or_derive_creds() == c.creds  # exists -> derived, same key
    await again.aclose()
    m = await c.market_info(CID)
    assert (m.yes_token, m.no_token, m.tick, m.neg_risk) == (YES, NO, "0.01", False)
    assert await c.tick_size(YES) == "0.01" and await c.neg_risk(YES2) is True
    orders = [
        (c.limit_order(m, token_id=YES, side="BUY", price=4000 - 100 * i, size=500), "GTC", False)
        for i in range(17)
    ]
    res = await c.post_orders(orders)  # 17 -> batches of 15 + 2
    assert all(not isinstance(r, OrderRejected) and r.status == "live" for r in res)
    live = await c.open_orders(market=CID)  # page size 2: 9 pages
    assert len(live) == 17 and {o.id for o in live} == {o.order_id for o, _, _ in orders}
    one = await c.cancel(orders[0][0].order_id)
    assert one.canceled == [orders[0][0].order_id]
    again_c = await c.cancel(orders[0][0].order_id)
    assert not again_c.canceled and orders[0][0].order_id in (again_c.not_canceled or {})
    some = await c.cancel_orders([o.order_id for o, _, _ in orders[1:5]])
    assert len(some.canceled or []) == 4
    assert len((await c.cancel_market(market=CID)).canceled or []) == 12
    assert await c.open_orders() == []
    await c.aclose()


async def test_neg_risk_market_and_trades(poly_sim: PolySim) -> None:
    maker, taker = await _client(poly_sim), await _client(poly_sim)
    m = await maker.market_info(CID2)
    assert m.neg_risk and m.tick == "0.001"
    await maker.post_order(
        maker.limit_order(m, token_id=m.no_token, side="BUY", price=4010, size=1000)
    )
    r = await taker.post_order(
        taker.limit_order(m, token_id=m.yes_token, side="BUY", price=6000, size=600)
    )
    assert r.status == "matched" and r.tradeIDs and r.transactionsHashes
    t = await taker.trades()
    assert len(t) == 1 and t[0].price == "0.599" and t[0].trader_side == "TAKER"  # maker's price
    mt = await maker.trades(market=CID2)
    assert mt[0].trader_side == "MAKER" and mt[0].maker_orders[0].matched_amount == "6"
    for c in (maker, taker):
        await c.cancel_all()
        await c.aclose()


async def test_typed_rejections(poly_sim: PolySim) -> None:
    c = await _client(poly_sim)
    m = await c.market_info(CID)
    with pytest.raises(OrderRejected) as e:
        await c.post_order(c.limit_order(m, token_id=YES, side="BUY", price=5000, size=100))
    assert e.value.code == "min_size"
    off_tick = c.signer.sign(
        token_id=YES,
        side=0,
        maker_amount=4_550_000,
        taker_amount=10_000_000,
        salt=1,
        timestamp_ms=1,
    )
    with pytest.raises(OrderRejected) as e:
        await c.post_order(off_tick)
    assert e.value.code == "invalid_tick"
    with pytest.raises(OrderRejected) as e:
        await c.post_order(c.limit_order(m, token_id=YES, side="SELL", price=6000, size=1000))
    assert e.value.code == "insufficient_balance"  # holds no YES shares
    await c.post_order(
        c.limit_order(m, token_id=NO, side="BUY", price=4000, size=1000)
    )  # YES ask 0.60
    with pytest.raises(OrderRejected) as e:
        await c.post_order(
            c.limit_order(m, token_id=YES, side="BUY", price=6100, size=1000), post_only=True
        )
    assert e.value.code == "post_only_crosses"
    forged = c.limit_order(m, token_id=YES, side="BUY", price=5000, size=1000)
    forged.wire["makerAmount"] = "5100000"
    with pytest.raises(OrderRejected) as e:
        await c.post_order(forged)
    assert e.value.code == "invalid_signature"
    poly_sim.restart(too_early_s=30, post_only_s=60)
    with pytest.raises(VenueUnavailable) as e2:
        await c.post_order(c.limit_order(m, token_id=YES, side="BUY", price=5000, size=1000))
    assert e2.value.code == "too_early"
    poly_sim.faults.too_early_until = 0
    with pytest.raises(VenueUnavailable) as e2:
        await c.post_order(c.limit_order(m, token_id=YES, side="BUY", price=5000, size=1000))
    assert e2.value.code == "post_only_mode"
    r = await c.post_order(
        c.limit_order(m, token_id=YES, side="BUY", price=5000, size=1000), post_only=True
    )
    assert r.status == "live"
    poly_sim.faults.post_only_until = 0
    poly_sim.faults.http_5xx = 1
    with pytest.raises(VenueUnavailable):
        await c.post_order(c.limit_order(m, token_id=YES, side="BUY", price=5000, size=1000))
    await c.cancel_all()
    await c.aclose()


async def test_proxy_and_deposit_wallet_signature_types(make_sim) -> None:
    owner = Account.create()
    proxy, wallet = Account.create().address, Account.create().address
    sim = await make_sim(wallet_owners={proxy: owner.address, wallet: owner.address})
    for st, funder in (
        (SignatureType.POLY_PROXY, proxy),
        (SignatureType.GNOSIS_SAFE, proxy),
        (SignatureType.POLY_1271, wallet),
    ):
        c = await _client(sim, owner.key.hex(), signer_kw={"signature_type": st, "funder": funder})
        m = await c.market_info(CID)
        r = await c.post_order(c.limit_order(m, token_id=YES, side="BUY", price=3000, size=1000))
        assert r.status == "live", st
        # the balance reported for this signature type is the funder's, not the key's
        sim.accounts.fund(funder, cash=7)
        assert (
            await c.balance() == sim.accounts.cash_of(funder) != sim.accounts.cash_of(owner.address)
        )
        await c.cancel_all()
        await c.aclose()
    stranger = await _client(
        sim, signer_kw={"signature_type": SignatureType.POLY_PROXY, "funder": proxy}
    )
    m = await stranger.market_info(CID)
    with pytest.raises(OrderRejected):
        await stranger.post_order(
            stranger.limit_order(m, token_id=YES, side="BUY", price=3000, size=1000)
        )
    await stranger.aclose()


async def test_rate_limits_client_and_server(make_sim) -> None:
    sim = await make_sim(order_rate=(1, 3))
    c = await _client(
        sim, order_rate=(1000, 1000)
    )  # our own bucket generous: the venue's 429 shows
    m = await c.market_info(CID)
    for _ in range(3):
        await c.post_order(c.limit_order(m, token_id=YES, side="BUY", price=3000, size=500))
    with pytest.raises(RateLimited) as e:
        await c.post_order(c.limit_order(m, token_id=YES, side="BUY", price=3000, size=500))
    assert e.value.status == 429
    c2 = await _client(sim, order_rate=(0.1, 2), max_wait=0.5)  # our own bucket refuses first
    await c2.post_order(c2.limit_order(m, token_id=YES, side="BUY", price=3000, size=500))
    await c2.post_order(c2.limit_order(m, token_id=YES, side="BUY", price=3000, size=500))
    with pytest.raises(RateLimited) as e:
        await c2.post_order(c2.limit_order(m, token_id=YES, side="BUY", price=3000, size=500))
    assert e.value.code == "client_bucket"
    for x in (c, c2):
        await x.aclose()


async def test_heartbeat_kill_switch(make_sim) -> None:
    import time

    from pmbot.clock import ManualClock

    clock = ManualClock(time.time_ns())  # the simulator's time; the client's stays live
    sim = await make_sim(heartbeat_timeout=15, clock=clock)
    c = await _client(sim)
    m = await c.market_info(CID)
    hb1 = await c.heartbeat()
    hb2 = await c.heartbeat()
    assert hb1 and hb2 and hb1 != hb2
    await c.post_order(c.limit_order(m, token_id=YES, side="BUY", price=3000, size=500))
    clock.advance(10)
    assert len(await c.open_orders()) == 1  # inside the window: still live
    await c.heartbeat()
    clock.advance(16)  # one missed window: the switch cancels everything
    while await c.open_orders():
        await asyncio.sleep(0)  # let the simulator's housekeeping task run
    assert await c.heartbeat()  # an expired chain restarts transparently
    await c.aclose()


async def test_a_lost_heartbeat_reply_does_not_end_the_chain(make_sim) -> None:
    """The venue moved the chain on but its reply never reached us: the 400 names the id it
    expects, and the next heartbeat uses it (sending "" again would be refused until the
    switch fires, cancelling every order)."""
    import time

    from pmbot.clock import ManualClock

    clock = ManualClock(time.time_ns())
    sim = await make_sim(heartbeat_timeout=15, clock=clock)
    c = await _client(sim)
    m = await c.market_info(CID)
    stale = await c.heartbeat()
    await c.heartbeat()  # the venue answered, but say the answer was lost:
    c.heartbeat_id = stale
    await c.post_order(c.limit_order(m, token_id=YES, side="BUY", price=3000, size=500))
    for _ in range(4):  # 40 s of heartbeats every 10 s: the chain holds
        clock.advance(10)
        assert await c.heartbeat()
        await asyncio.sleep(0)  # the simulator's housekeeping
    assert len(await c.open_orders()) == 1
    await c.aclose()


async def test_auth_window_tamper_legacy_and_order_types(poly_sim: PolySim) -> None:
    import json

    import aiohttp

    from pmbot.errors import AuthError
    from pmbot.venues.polymarket.rest import Req

    c = await _client(poly_sim)
    m = await c.market_info(CID)
    # L1 with a stale timestamp (outside the 300 s window) is refused
    stale = c.signer.l1_headers(poly_sim.now_s() - 1000)
    async with aiohttp.ClientSession() as s:
        async with s.get(poly_sim.url + "/auth/derive-api-key", headers=stale) as r:
            assert r.status == 401
        # L2 HMAC over a body other than the one sent is refused
        body = json.dumps({"orderID": "0x1"}).encode()
        from pmbot.venues.polymarket.signing import l2_headers

        h = l2_headers(c.signer.address, c.creds, poly_sim.now_s(), "DELETE", "/order", body + b" ")
        async with s.delete(poly_sim.url + "/order", data=body, headers=h) as r:
            assert r.status == 401
        # a legacy V1 order gets the production answer
        v1 = {
            "order": {
                "salt": 1,
                "maker": c.signer.address,
                "signer": c.signer.address,
                "taker": "0x" + "0" * 40,
                "tokenId": YES,
                "makerAmount": "1",
                "takerAmount": "1",
                "expiration": "0",
                "nonce": "0",
                "feeRateBps": "0",
                "side": "BUY",
                "signatureType": 0,
                "signature": "0x",
            },
            "owner": c.creds.api_key,
            "orderType": "GTC",
        }
        raw = json.dumps(v1).encode()
        h = l2_headers(c.signer.address, c.creds, poly_sim.now_s(), "POST", "/order", raw)
        async with s.post(poly_sim.url + "/order", data=raw, headers=h) as r:
            assert r.status == 400 and "order_version_mismatch" in await r.text()
    with pytest.raises(AuthError):
        await PolyHttp(Endpoints.local(poly_sim.url), c.signer).call(Req.open_orders())
    # FOK that cannot fill, FAK with nothing to hit, GTD with a too-short expiration
    with pytest.raises(OrderRejected) as e:
        await c.post_order(c.limit_order(m, token_id=YES, side="BUY", price=5000, size=1000), "FOK")
    assert e.value.code == "fok_not_filled"
    with pytest.raises(OrderRejected) as e:
        await c.post_order(c.limit_order(m, token_id=YES, side="BUY", price=5000, size=1000), "FAK")
    assert e.value.code == "fak_no_match"
    soon = poly_sim.now_s() + 30
    with pytest.raises(OrderRejected) as e:
        await c.post_order(
            c.limit_order(m, token_id=YES, side="BUY", price=5000, size=1000, expiration=soon),
            "GTD",
        )
    assert e.value.code == "invalid_expiration"
    # FAK partially fills against a resting order and cancels the rest
    other = await _client(poly_sim)
    r2 = await other.post_order(
        other.limit_order(m, token_id=YES, side="BUY", price=3000, size=600)
    )
    assert r2.status == "live"
    fak = await c.post_order(
        c.limit_order(m, token_id=NO, side="BUY", price=7000, size=1000), "FAK"
    )
    assert fak.status == "matched" and fak.takingAmount == "6"
    assert await c.open_orders() == []
    later = poly_sim.now_s() + 60 + 3600
    r = await c.post_order(
        c.limit_order(m, token_id=YES, side="BUY", price=5000, size=1000, expiration=later), "GTD"
    )
    assert r.status == "live"
    assert {o.id for o in await c.open_orders()} == {r.orderID}
    await c.cancel_all()
    await c.aclose()
    await other.aclose()


async def test_gamma_discovery(poly_sim: PolySim) -> None:
    import json

    c = PolyHttp(Endpoints.local(poly_sim.url), OrderSigner(Account.create().key.hex()))
    (g,) = await c.gamma_markets(slug="will-the-sim-work")
    assert (
        g.conditionId == CID
        and json.loads(g.clobTokenIds) == [YES, NO]
        and str(g.orderPriceMinTickSize) == "0.01"
    )
    assert len(await c.gamma_markets(active="true")) == 2
    await c.aclose()


async def test_unknown_outcome_settled_by_order_hash(poly_sim: PolySim) -> None:
    from pmbot.errors import NotFound

    c = await _client(poly_sim)
    m = await c.market_info(CID)
    sent = c.limit_order(m, token_id=YES, side="BUY", price=3000, size=500)
    never = c.limit_order(m, token_id=YES, side="BUY", price=3100, size=500)
    await c.post_order(sent)
    assert (await c.order(sent.order_id)).status == "LIVE"  # the id was known before the POST
    with pytest.raises(NotFound):
        await c.order(never.order_id)
    await c.cancel_all()
    assert (await c.order(sent.order_id)).status == "CANCELED"
    await c.aclose()


async def test_cancel_all_costs_what_it_cancelled_after_the_fact(make_sim) -> None:
    """§3.10: cancel-all costs 1 + the number cancelled, debited after the fact. More live
    orders than the cancel burst used to be refused (429) forever; our bucket now follows the
    venue's into the negative, so the next cancel waits on our side instead of a 429."""
    sim = await make_sim(order_rate=(1000, 1000), cancel_rate=(1, 10))
    c = await _client(sim, order_rate=(1000, 1000), cancel_rate=(1, 10), max_wait=0.5)
    m = await c.market_info(CID)
    orders = [
        (c.limit_order(m, token_id=YES, side="BUY", price=100 * (1 + i), size=500), "GTC", False)
        for i in range(15)
    ]
    await c.post_orders(orders)
    r = await c.cancel_all()
    assert len(r.canceled or ()) == 15 and sim.engine.live() == []
    assert c.buckets["cancel"].level < -5  # 10 - 1 - 15, plus a little refill
    await c.post_order(c.limit_order(m, token_id=YES, side="BUY", price=3000, size=500))
    with pytest.raises(RateLimited) as e:
        await c.cancel_market(market=CID)
    assert e.value.code == "client_bucket"  # paced by us, not refused by the venue
    await c.aclose()
