"""A raw client (plain aiohttp + its own RSA-PSS signing) trades the simulated KXINX ladder:
list, read the book, post a post-only bid, see it in the delta stream with its client_order_id,
get filled by background flow, see the fill on WS and REST with the right fee, see settlement."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pmbot.core.market import FeeSchedule, quadratic_fee
from pmbot.core.money import parse_count, parse_money, parse_price
from pmbot.sim.flow import FlowConfig

from .rawclient import RawKalshi

START = int(datetime(2026, 11, 24, 15, 30, tzinfo=ZoneInfo("America/New_York")).timestamp()) * 10**9


async def recv_until(
    ws: Any, pred: Any, sim: Any, max_steps: int = 1800, step_s: float = 1.0
) -> dict[str, Any]:
    """Read frames, stepping simulated time when the socket is idle, until pred(frame)."""
    for _ in range(max_steps):
        while True:
            try:
                msg = await ws.receive(timeout=0.05)
            except TimeoutError:
                break
            f = json.loads(msg.data)
            if pred(f):
                return f  # type: ignore[no-any-return]
        await sim.step(step_s)
    raise AssertionError("condition not reached")


async def test_raw_client_trades_and_settles(sim_factory: Any) -> None:
    sim = await sim_factory(start_ns=START, flow=FlowConfig(noise_per_market_s=0.05))
    await sim.step(5)  # makers quote
    c = RawKalshi(sim.rest_url, sim.ws_url, sim.key_id, sim.private_key_pem)
    try:
        st, ev, _ = await c.get(
            "/events?series_ticker=KXINX&status=open&with_nested_markets=true", signed=False
        )
        assert st == 200 and len(ev["events"]) == 1
        ladder = ev["events"][0]["markets"]
        assert {m["strike_type"] for m in ladder} == {"between", "less", "greater"}
        assert len(ladder) >= 20
        # the bucket the market thinks most likely
        m = max(ladder, key=lambda m: parse_price(m["yes_bid_dollars"]))
        t = m["ticker"]
        st, ob, _ = await c.get(f"/markets/{t}/orderbook")
        assert st == 200
        yes, no = ob["orderbook_fp"]["yes_dollars"], ob["orderbook_fp"]["no_dollars"]
        best_bid = parse_price(yes[-1][0])
        best_ask = 10_000 - parse_price(no[-1][0])
        assert best_bid < best_ask
        price = best_bid + 100 if best_bid + 100 < best_ask else best_bid

        ws = await c.ws()
        await ws.send_str(
            json.dumps(
                {
                    "id": 1,
                    "cmd": "subscribe",
                    "params": {
                        "channels": ["orderbook_delta", "fill", "market_positions"],
                        "market_ticker": t,
                        "use_yes_price": True,
                    },
                }
            )
        )
        cid = str(uuid.uuid4())
        st, created, _ = await c.request(
            "POST",
            "/portfolio/events/orders",
            {
                "ticker": t,
                "side": "bid",
                "count": "2.00",
                "price": f"{price / 10_000:.4f}",
                "post_only": True,
                "time_in_force": "good_till_canceled",
                "self_trade_prevention_type": "taker_at_cross",
                "client_order_id": cid,
            },
        )
        assert st == 201, created
        assert created["remaining_count"] == "2.00"
        delta = await recv_until(
            ws,
            lambda f: f["type"] == "orderbook_delta" and f["msg"].get("client_order_id") == cid,
            sim,
        )
        assert delta["msg"]["delta_fp"] == "2.00" and delta["msg"]["side"] == "yes"
        fill = await recv_until(ws, lambda f: f["type"] == "fill", sim)
        assert (
            fill["msg"]["order_id"] == created["order_id"] and fill["msg"]["client_order_id"] == cid
        )
        assert (
            fill["msg"]["is_taker"] is False
            and fill["msg"]["yes_price_dollars"] == f"{price / 10_000:.4f}"
        )
        n = parse_count(fill["msg"]["count_fp"])
        sched = FeeSchedule()  # KXINX: quadratic x 1 -> makers pay nothing
        assert (
            parse_money(fill["msg"]["fee_cost"]) == quadratic_fee(n, price, sched, maker=True) == 0
        )
        st, fills, _ = await c.get(f"/portfolio/fills?ticker={t}")
        assert st == 200 and fills["fills"][0]["order_id"] == created["order_id"]
        assert fills["fills"][0]["fee_cost"] == "0.000000"

        # a taker order pays the quadratic taker fee, rounded up to $0.0001
        st, ob, _ = await c.get(f"/markets/{t}/orderbook")
        ask = 10_000 - parse_price(ob["orderbook_fp"]["no_dollars"][-1][0])
        st, taken, _ = await c.request(
            "POST",
            "/portfolio/events/orders",
            {
                "ticker": t,
                "side": "bid",
                "count": "1.00",
                "price": f"{ask / 10_000:.4f}",
                "time_in_force": "immediate_or_cancel",
                "self_trade_prevention_type": "taker_at_cross",
                "client_order_id": str(uuid.uuid4()),
            },
        )
        assert st == 201 and taken["fill_count"] == "1.00", taken
        st, fills, _ = await c.get(f"/portfolio/fills?order_id={taken['order_id']}")
        assert (
            parse_money(fills["fills"][0]["fee_cost"])
            == quadratic_fee(100, ask, sched, maker=False)
            > 0
        )

        st, pos, _ = await c.get("/portfolio/positions")
        held = parse_count(
            next(p for p in pos["market_positions"] if p["ticker"] == t)["position_fp"]
        )
        assert held > 0
        # cancel what is left, then run through the 16:00 close and the settlement
        await c.request("DELETE", f"/portfolio/events/orders/{created['order_id']}")
        st, bal0, _ = await c.get("/portfolio/balance")
        await sim.step(31 * 60 + 61)
        st, mk, _ = await c.get(f"/markets/{t}", signed=False)
        assert mk["market"]["status"] == "finalized" and mk["market"]["result"] in ("yes", "no")
        level = mk["market"]["expiration_value"]
        base = sim.rest_url.split("/trade-api")[0]
        async with c.session.get(
            f"{base}/sim/index", params={"ts_ms": str(START // 10**6 + 30 * 60 * 1000)}
        ) as resp:
            idx = await resp.json()
        assert idx["level"] == level
        st, setl, _ = await c.get("/portfolio/settlements")
        s = next(s for s in setl["settlements"] if s["ticker"] == t)
        assert parse_count(s["yes_count_fp"]) == held
        won = mk["market"]["result"] == "yes"
        assert s["revenue"] == (held // 100 * 100 if won else 0)
        st, bal1, _ = await c.get("/portfolio/balance")
        assert parse_money(bal1["balance_dollars"] + "00") - parse_money(
            bal0["balance_dollars"] + "00"
        ) == (held * 10_000 if won else 0)
        await ws.close()
    finally:
        await c.close()
