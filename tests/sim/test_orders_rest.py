"""V2 order writes beyond the recorded set: amend, decrease, batches, groups, TIFs, pause, limits."""

from __future__ import annotations

import uuid
from typing import Any

from .rawclient import RawKalshi

GTC, IOC, FOK = "good_till_canceled", "immediate_or_cancel", "fill_or_kill"


def order(t: str, side: str, price: str, count: str, tif: str = GTC, **kw: Any) -> dict[str, Any]:
    d = {
        "ticker": t,
        "side": side,
        "price": price,
        "count": count,
        "time_in_force": tif,
        "self_trade_prevention_type": "taker_at_cross",
        "client_order_id": str(uuid.uuid4()),
    }
    d.update(kw)
    return d


async def setup(sim_factory: Any, **cfg: Any) -> tuple[Any, RawKalshi, str]:
    sim = await sim_factory(**cfg)
    sim.add_key("mm")
    t = next(
        t
        for t, m in sim.exchange.markets.items()
        if m.series_ticker == "KXINX" and m.status == "active"
    )
    return sim, RawKalshi(sim.rest_url, sim.ws_url, sim.key_id, sim.private_key_pem), t


def mm(sim: Any, t: str, side: str, price: int, n: int = 100, tif: str = GTC) -> Any:
    return sim.exchange.create(
        "mm", ticker=t, side=side, price=price, count=n, tif=tif, stp="maker", ts_ns=sim.now_ns()
    )


async def test_amend_decrease_queue(sim_factory: Any) -> None:
    sim, c, t = await setup(sim_factory)
    try:
        st, a, _ = await c.request("POST", "/portfolio/events/orders", order(t, "bid", "0.40", "5"))
        assert st == 201
        mm(sim, t, "bid", 4000, 200)
        st, qp, _ = await c.get(f"/portfolio/orders/{a['order_id']}/queue_position")
        assert qp == {"queue_position_fp": "0.00"}
        st, body, _ = await c.request(
            "POST", f"/portfolio/events/orders/{a['order_id']}/decrease", {"reduce_by": "2"}
        )
        assert st == 200 and body["remaining_count"] == "3.00"
        st, qp, _ = await c.get(f"/portfolio/orders/queue_positions?market_tickers={t}")
        assert qp["queue_positions"][0]["queue_position_fp"] == "0.00"  # decrease kept priority
        st, body, _ = await c.request(
            "POST",
            f"/portfolio/events/orders/{a['order_id']}/amend",
            {"ticker": t, "side": "bid", "price": "0.4000", "count": "4.00"},
        )
        assert st == 200 and body["remaining_count"] == "4.00"
        st, qp, _ = await c.get(f"/portfolio/orders/{a['order_id']}/queue_position")
        assert qp == {"queue_position_fp": "2.00"}  # size up: behind mm's 2
        st, body, _ = await c.request(
            "POST",
            f"/portfolio/events/orders/{a['order_id']}/amend",
            {"ticker": t, "side": "ask", "price": "0.4000", "count": "4.00"},
        )
        assert st == 400 and body["error"]["code"] == "order_side_mismatch"
        st, body, _ = await c.request(
            "POST", f"/portfolio/events/orders/{a['order_id']}/decrease", {"reduce_to": "0"}
        )
        assert st == 200 and body["remaining_count"] == "0.00"
        st, o, _ = await c.get(f"/portfolio/orders/{a['order_id']}")
        assert o["order"]["status"] == "canceled"
        st, lst, _ = await c.get("/portfolio/orders?status=canceled")
        assert [x["order_id"] for x in lst["orders"]] == [a["order_id"]] and lst["cursor"] == ""
    finally:
        await c.close()


async def test_tifs_reduce_only_expiry(sim_factory: Any) -> None:
    sim, c, t = await setup(sim_factory)
    try:
        mm(sim, t, "ask", 5000, 200)
        st, b, _ = await c.request(
            "POST", "/portfolio/events/orders", order(t, "bid", "0.5000", "3", FOK)
        )
        assert st == 201 and b["fill_count"] == "0.00" and b["remaining_count"] == "0.00"
        st, b, _ = await c.request(
            "POST", "/portfolio/events/orders", order(t, "bid", "0.5000", "3", IOC)
        )
        assert st == 201 and b["fill_count"] == "2.00" and b["remaining_count"] == "0.00"
        assert b["average_fill_price"] == "0.5000" and b["average_fee_paid"] == "0.0175"
        st, b, _ = await c.request(
            "POST", "/portfolio/events/orders", order(t, "bid", "0.4000", "3", reduce_only=True)
        )
        assert st == 400  # nothing to reduce on the bid side (we are long)
        mm(sim, t, "bid", 4500, 500)
        st, b, _ = await c.request(
            "POST",
            "/portfolio/events/orders",
            order(t, "ask", "0.4500", "9", IOC, reduce_only=True),
        )
        assert st == 201 and b["fill_count"] == "2.00"  # capped at the position
        st, pos, _ = await c.get("/portfolio/positions")
        assert pos["market_positions"][0]["position_fp"] == "0.00"
        exp = sim.now_ns() // 10**9 + 30
        st, b, _ = await c.request(
            "POST", "/portfolio/events/orders", order(t, "bid", "0.1000", "1", expiration_time=exp)
        )
        assert st == 201
        st, _bad, _ = await c.request(
            "POST",
            "/portfolio/events/orders",
            order(t, "bid", "0.1000", "1", IOC, expiration_time=exp),
        )
        assert st == 400
        await sim.step(31)
        st, o, _ = await c.get(f"/portfolio/orders/{b['order_id']}")
        assert o["order"]["status"] == "canceled"
    finally:
        await c.close()


async def test_batches(sim_factory: Any) -> None:
    _sim, c, t = await setup(sim_factory)
    try:
        dup = str(uuid.uuid4())
        st, b, _ = await c.request(
            "POST",
            "/portfolio/events/orders/batched",
            {
                "orders": [
                    order(t, "bid", "0.30", "1", client_order_id=dup),
                    order(t, "bid", "0.31", "1", client_order_id=dup),
                    order(t, "bid", "0.3050", "1"),
                ]
            },
        )
        assert st == 201
        errs = [o["error"] and o["error"]["code"] for o in b["orders"]]
        assert errs == [None, "order_already_exists", "invalid_price"]
        oid = b["orders"][0]["order_id"]
        st, b, _ = await c.request(
            "DELETE",
            "/portfolio/events/orders/batched",
            {"orders": [{"order_id": oid}, {"order_id": oid}]},
        )
        assert (
            st == 200 and b["orders"][0]["reduced_by"] == "1.00" and b["orders"][0]["error"] is None
        )
        assert (
            b["orders"][1]["error"]["code"] == "not_found"
            and b["orders"][1]["reduced_by"] == "0.00"
        )
    finally:
        await c.close()


async def test_order_group_kill_switch(sim_factory: Any) -> None:
    sim, c, t = await setup(sim_factory)
    try:
        st, g, _ = await c.request("POST", "/portfolio/order_groups/create", {"contracts_limit": 2})
        assert st == 201
        gid = g["order_group_id"]
        ids = []
        for p in ("0.40", "0.39"):
            st, o, _ = await c.request(
                "POST", "/portfolio/events/orders", order(t, "bid", p, "2", order_group_id=gid)
            )
            ids.append(o["order_id"])
        mm(sim, t, "ask", 4000, 200, IOC)  # fills 2: at the limit, not over
        st, grp, _ = await c.get(f"/portfolio/order_groups/{gid}")
        assert grp["is_auto_cancel_enabled"] is True
        mm(
            sim, t, "ask", 3900, 100, IOC
        )  # 3 > 2 within 15 s -> everything in the group is canceled
        st, o, _ = await c.get(f"/portfolio/orders/{ids[1]}")
        assert o["order"]["status"] == "canceled"
        st, _body, _ = await c.request(
            "POST", "/portfolio/events/orders", order(t, "bid", "0.30", "1", order_group_id=gid)
        )
        assert st == 400
        st, _, _ = await c.request("PUT", f"/portfolio/order_groups/{gid}/reset")
        assert st == 200
        st, o, _ = await c.request(
            "POST", "/portfolio/events/orders", order(t, "bid", "0.30", "1", order_group_id=gid)
        )
        assert st == 201
        st, _, _ = await c.request("PUT", f"/portfolio/order_groups/{gid}/trigger")
        st, o2, _ = await c.get(f"/portfolio/orders/{o['order_id']}")
        assert o2["order"]["status"] == "canceled"
        st, _, _ = await c.request("DELETE", f"/portfolio/order_groups/{gid}")
        assert st == 200
        st, _, _ = await c.get(f"/portfolio/order_groups/{gid}")
        assert st == 404
    finally:
        await c.close()


async def test_pause_5xx_429_restart_slash(sim_factory: Any) -> None:
    sim, c, t = await setup(sim_factory, rate_limits=True)
    try:
        st, o, _ = await c.request("POST", "/portfolio/events/orders", order(t, "bid", "0.20", "1"))
        assert st == 201
        sim.faults.trading_paused = True
        st, b, _ = await c.request("POST", "/portfolio/events/orders", order(t, "bid", "0.20", "1"))
        assert st == 400 and b["error"]["code"] == "trading_is_paused"
        st, s, _ = await c.get("/exchange/status")
        assert s["trading_active"] is False
        st, b, _ = await c.request("DELETE", f"/portfolio/events/orders/{o['order_id']}")
        assert st == 200  # cancels allowed during a pause
        sim.faults.trading_paused = False
        sim.faults.http_5xx = 1
        st, _, _ = await c.get("/portfolio/balance")
        assert st == 503
        sim.faults.http_429 = 1
        st, b, _raw = await c.get("/portfolio/balance")
        assert st == 429 and b == {"error": "too many requests"}
        codes = [
            (await c.get("/portfolio/balance"))[0] for _ in range(25)
        ]  # basic: 200 tokens / 10 per read
        assert 200 in codes and codes[-1] == 429
        st, _, _ = await c.get("/markets/")
        assert st == 301
        await sim.restart()
        st, b, _ = await c.get(f"/markets/{t}", signed=False)
        assert st == 200
        st, _, _ = await c.request("POST", "/portfolio/orders", {"ticker": t})
        assert st == 410
    finally:
        await c.close()


async def test_thursday_maintenance_pause(sim_factory: Any) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    start = (
        int(datetime(2026, 11, 19, 2, 59, 50, tzinfo=ZoneInfo("America/New_York")).timestamp())
        * 10**9
    )
    sim = await sim_factory(start_ns=start)
    c = RawKalshi(sim.rest_url, sim.ws_url, sim.key_id, sim.private_key_pem)
    try:
        _, s, _ = await c.get("/exchange/status")
        assert s["trading_active"] is True
        assert await sim.run_until(lambda: sim.exchange.trading_paused, max_s=60)
        _, s, _ = await c.get("/exchange/status")
        assert s["trading_active"] is False
        await sim.step(2 * 3600)
        _st, s, _ = await c.get("/exchange/status")
        assert s["trading_active"] is True
    finally:
        await c.close()


async def test_batch_must_fit_the_write_bucket(sim_factory: Any) -> None:
    _, c, t = await setup(sim_factory, rate_limits=True)  # basic: write bucket 100 tokens
    try:
        big = [order(t, "bid", "0.10", "1") for _ in range(11)]  # 11 x 10 tokens > 100
        st, b, _ = await c.request("POST", "/portfolio/events/orders/batched", {"orders": big})
        assert st == 429 and b == {"error": "too many requests"}
        st, b, _ = await c.request("POST", "/portfolio/events/orders/batched", {"orders": big[:5]})
        assert st == 201 and len(b["orders"]) == 5
    finally:
        await c.close()


async def test_status_filters_map_as_recorded(sim_factory: Any) -> None:
    """Recorded on demo: `status=closed` lists determined markets and `status=settled` only
    finalized ones (filter values are not status values)."""
    sim, c, t = await setup(sim_factory)
    try:
        m = sim.exchange.markets[t]
        m.status, m.result = "determined", "no"  # real markets hold this for minutes
        _, closed, _ = await c.get("/markets?status=closed&limit=1000")
        _, settled, _ = await c.get("/markets?status=settled&limit=1000")
        assert t in [x["ticker"] for x in closed["markets"]]
        assert t not in [x["ticker"] for x in settled["markets"]]
        assert {x["status"] for x in settled["markets"]} <= {"finalized"}
    finally:
        await c.close()


async def test_every_documented_usage_tier_serves(sim_factory: Any) -> None:
    """§6 lists Paragon (2,000/2,000) between Premier and Prime; it was missing (HTTP 500)."""
    _, c, _ = await setup(sim_factory, tier="paragon", rate_limits=True)
    try:
        st, body, _ = await c.get("/account/limits")
        assert st == 200 and body["usage_tier"] == "paragon", body
        assert body["write"]["refill_rate"] == 2000
    finally:
        await c.close()


async def test_an_amend_answers_fill_fields_only_for_its_own_fills(sim_factory: Any) -> None:
    """§3.7 and the amend reference: `fill_count` / `remaining_count` only when the amend
    filled or changed the resting size, `fill_count` and the averages over the fills it made
    (not the order's earlier ones); a pure reprice answers neither."""
    sim, c, t = await setup(sim_factory)
    try:
        st, a, _ = await c.request("POST", "/portfolio/events/orders", order(t, "bid", "0.50", "5"))
        assert st == 201
        mm(sim, t, "ask", 5000, 200)  # takes 2 of ours at 0.50
        sim.exchange.drain()
        path = f"/portfolio/events/orders/{a['order_id']}/amend"
        st, body, _ = await c.request(
            "POST", path, {"ticker": t, "side": "bid", "price": "0.4500", "count": "5.00"}
        )
        assert st == 200 and body["order_id"] == a["order_id"]
        assert not {"fill_count", "remaining_count", "average_fill_price"} & body.keys()
        st, body, _ = await c.request(
            "POST", path, {"ticker": t, "side": "bid", "price": "0.4500", "count": "4.00"}
        )  # resting 3 -> 2: the sizes come back, no fill
        assert st == 200 and (body["fill_count"], body["remaining_count"]) == ("0.00", "2.00")
        assert "average_fill_price" not in body
        mm(sim, t, "ask", 4700, 100)
        st, body, _ = await c.request(
            "POST", path, {"ticker": t, "side": "bid", "price": "0.4800", "count": "4.00"}
        )
        assert st == 200 and (body["fill_count"], body["remaining_count"]) == ("1.00", "1.00")
        assert body["average_fill_price"] == "0.4700"  # this amend's fill, not 0.49 overall
    finally:
        await c.close()


async def test_fields_removed_in_july_are_not_sent(sim_factory: Any) -> None:
    """Protocol §0, 2026-07-09: Market.response_price_units, fractional_trading_enabled and
    MarketPosition.resting_orders_count were removed (June recordings still have them)."""
    sim, c, t = await setup(sim_factory)
    try:
        await c.request("POST", "/portfolio/events/orders", order(t, "bid", "0.50", "5"))
        mm(sim, t, "ask", 5000, 100)
        sim.exchange.drain()
        _, m, _ = await c.get(f"/markets/{t}")
        assert not {"response_price_units", "fractional_trading_enabled"} & m["market"].keys()
        _, ps, _ = await c.get("/portfolio/positions")
        assert ps["market_positions"] and all(
            "resting_orders_count" not in p for p in ps["market_positions"]
        )
    finally:
        await c.close()


async def test_selling_held_yes_needs_no_cash(sim_factory: Any) -> None:
    """Positions net (§3.8): an ask for YES we hold closes it and needs no collateral; only
    the part beyond what we hold (and have not already offered) opens NO exposure."""
    sim, c, t = await setup(sim_factory, balance="10.0000")
    try:
        mm(sim, t, "ask", 5000, 2000)
        st, b, _ = await c.request(
            "POST", "/portfolio/events/orders", order(t, "bid", "0.5000", "19.00", IOC)
        )
        assert st == 201 and b["fill_count"] == "19.00"  # +19 YES, about $0.17 left
        st, b, _ = await c.request(
            "POST", "/portfolio/events/orders", order(t, "ask", "0.6000", "19.00")
        )
        assert st == 201, b  # it used to want (1 - 0.60) x 19 = $7.60
        # the 19 are offered already: one more is a short that needs $0.40 we do not have
        st, b, _ = await c.request(
            "POST", "/portfolio/events/orders", order(t, "ask", "0.6000", "1.00")
        )
        assert st == 400 and b["error"]["code"] == "insufficient_balance"
    finally:
        await c.close()


async def test_a_covered_ask_holds_no_cash_for_later_orders(sim_factory: Any) -> None:
    """After offering the 19 YES held, a 1-contract bid at $0.01 still fits the $0.17 left;
    the covered ask used to hold its full $7.60 and refuse it."""
    sim, c, t = await setup(sim_factory, balance="10.0000")
    try:
        mm(sim, t, "ask", 5000, 2000)
        await c.request("POST", "/portfolio/events/orders", order(t, "bid", "0.5000", "19.00", IOC))
        st, b, _ = await c.request(
            "POST", "/portfolio/events/orders", order(t, "ask", "0.6000", "19.00")
        )
        assert st == 201, b
        st, b, _ = await c.request(
            "POST", "/portfolio/events/orders", order(t, "bid", "0.0100", "1.00")
        )
        assert st == 201, b
    finally:
        await c.close()


async def test_an_amend_is_paid_for_like_a_create(sim_factory: Any) -> None:
    """An amend that holds more than the order did needs the cash, as a create does (it was
    accepted at any size); one that holds less always passes; a covered ask stays free."""
    sim, c, t = await setup(sim_factory, balance="10.0000")
    try:
        st, o, _ = await c.request(
            "POST", "/portfolio/events/orders", order(t, "bid", "0.0100", "1.00")
        )
        assert st == 201, o
        path = f"/portfolio/events/orders/{o['order_id']}/amend"
        big = {"ticker": t, "side": "bid", "price": "0.5000", "count": "1000.00"}
        st, b, _ = await c.request("POST", path, big)
        assert st == 400 and b["error"]["code"] == "insufficient_balance", b
        fits = {**big, "count": "19.00"}  # $9.50 of the $10
        st, b, _ = await c.request("POST", path, fits)
        assert st == 200, b
        st, b, _ = await c.request("POST", path, {**big, "count": "18.00"})
        assert st == 200, b  # holds less: always passes
        # YES held covers an ask: amending it up to what is held needs no cash
        mm(sim, t, "ask", 5000, 2000)
        await c.request("POST", "/portfolio/events/orders", order(t, "bid", "0.5000", "1.00", IOC))
        st, a, _ = await c.request(
            "POST", "/portfolio/events/orders", order(t, "ask", "0.9000", "1.00")
        )
        assert st == 201, a
        st, b, _ = await c.request(
            "POST",
            f"/portfolio/events/orders/{a['order_id']}/amend",
            {"ticker": t, "side": "ask", "price": "0.8000", "count": "1.00"},
        )
        assert st == 200, b
    finally:
        await c.close()
