"""Authenticated REST reads: balance, positions, fills, settlements, orders, queue positions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from pmbot.core.money import ONE, fmt_count, fmt_money
from pmbot.sim.engine import Order
from pmbot.sim.exchange import NOT_FOUND, err
from pmbot.sim.kalshi_rest import BASE, KEY, page, reply
from pmbot.sim.kalshi_wire import fill_json, order_json, position_json, settlement_json

if TYPE_CHECKING:
    from pmbot.sim.kalshi_server import KalshiSim

__all__ = ["add_portfolio_routes", "user_of"]


def user_of(request: web.Request) -> str:
    return request[KEY].user  # type: ignore[no-any-return]


def add_portfolio_routes(sim: KalshiSim, app: web.Application) -> None:
    from pmbot.sim.kalshi_orders import add_order_routes

    r = app.router
    x = sim.exchange
    P = f"{BASE}/portfolio"
    user = user_of

    async def balance(request: web.Request) -> web.Response:
        a = x.ledger.accounts[user(request)]
        value = 0
        for t, p in a.positions.items():
            m = x.markets.get(t)
            last = m.last_price if m else 0
            value += abs(p.qty) * (last if p.qty > 0 else ONE - last)
        bal4 = fmt_money(a.cash, 4)
        return reply(
            {
                "balance": a.cash // 10_000,
                "balance_breakdown": [{"balance": bal4, "exchange_index": 0}],
                "balance_dollars": bal4,
                "portfolio_value": value // 10_000,
                "updated_ts": (a.updated_ns or sim.now_ns()) // 10**9,
            }
        )

    async def positions(request: web.Request) -> web.Response:
        q = request.query
        u = user(request)
        a = x.ledger.accounts[u]
        ps = sorted(a.positions.values(), key=lambda p: p.ticker)
        if q.get("ticker"):
            ps = [p for p in ps if p.ticker == q["ticker"]]
        if q.get("event_ticker"):
            ps = [p for p in ps if p.event_ticker in q["event_ticker"].split(",")]
        chunk, cur = page(ps, q, "GetPositions", 100, 1000)
        evs: dict[str, list[Any]] = {}
        for p in chunk:
            evs.setdefault(p.event_ticker, []).append(p)
        ev_json = [
            {
                "event_exposure_dollars": fmt_money(sum(p.cost for p in v)),
                "event_ticker": e,
                "fees_paid_dollars": fmt_money(sum(p.fees for p in v)),
                "realized_pnl_dollars": fmt_money(sum(p.realized for p in v)),
                "total_cost_dollars": fmt_money(sum(p.cost for p in v)),
                "total_cost_shares_fp": fmt_count(sum(abs(p.qty) for p in v)),
            }
            for e, v in evs.items()
        ]
        return reply(
            {
                "cursor": cur,
                "event_positions": ev_json,
                "market_positions": [position_json(p) for p in chunk],
            }
        )

    def ts_filter(items: list[Any], q: Any, attr: str) -> list[Any]:
        if q.get("min_ts"):
            items = [i for i in items if getattr(i, attr) >= int(q["min_ts"]) * 10**9]
        if q.get("max_ts"):
            items = [i for i in items if getattr(i, attr) <= int(q["max_ts"]) * 10**9]
        return items

    async def fills(request: web.Request) -> web.Response:
        q = request.query
        fs = list(reversed(x.ledger.accounts[user(request)].fills))
        if q.get("ticker"):
            fs = [f for f in fs if f.ticker == q["ticker"]]
        if q.get("order_id"):
            fs = [f for f in fs if f.order_id == q["order_id"]]
        chunk, cur = page(ts_filter(fs, q, "ts_ns"), q, "GetFills", 100, 1000)
        return reply({"cursor": cur, "fills": [fill_json(f) for f in chunk]})

    async def settlements(request: web.Request) -> web.Response:
        q = request.query
        ss = list(reversed(x.ledger.accounts[user(request)].settlements))
        if q.get("ticker"):
            ss = [s for s in ss if s.ticker == q["ticker"]]
        if q.get("event_ticker"):
            ss = [s for s in ss if s.event_ticker == q["event_ticker"]]
        chunk, cur = page(ts_filter(ss, q, "ts_ns"), q, "GetSettlements", 100, 1000)
        return reply(
            {
                "cursor": cur,
                "settlements": [settlement_json(s, 100 if s.result == "yes" else 0) for s in chunk],
            }
        )

    def my_orders(u: str) -> list[Order]:
        return sorted(
            (o for o in x.engine.orders.values() if o.user == u), key=lambda o: -o.created_ns
        )

    async def orders(request: web.Request) -> web.Response:
        q = request.query
        os_ = my_orders(user(request))
        if q.get("status"):
            os_ = [o for o in os_ if o.status == q["status"]]
        if q.get("ticker"):
            os_ = [o for o in os_ if o.ticker == q["ticker"]]
        if q.get("event_ticker"):
            evs = set(q["event_ticker"].split(","))
            os_ = [o for o in os_ if x.markets[o.ticker].event_ticker in evs]
        chunk, cur = page(ts_filter(os_, q, "created_ns"), q, "GetOrders", 100, 1000)
        return reply({"cursor": cur, "orders": [order_json(o) for o in chunk]})

    def own(request: web.Request) -> Order:
        o = x.engine.orders.get(request.match_info["order_id"])
        if o is None or o.user != user(request):
            raise err(*NOT_FOUND)
        return o

    async def order_one(request: web.Request) -> web.Response:
        oid = request.match_info["order_id"]
        stale = sim.faults.stale_orders.get(oid)
        if stale is not None:
            left, body = stale
            if left <= 1:
                del sim.faults.stale_orders[oid]
            else:
                sim.faults.stale_orders[oid] = (left - 1, body)
            return reply({"order": body})
        return reply({"order": order_json(own(request))})

    async def queue_position(request: web.Request) -> web.Response:
        o = own(request)
        qp = x.engine.queue_position(o.order_id) if o.status == "resting" else 0
        return reply({"queue_position_fp": fmt_count(qp)})

    async def queue_positions(request: web.Request) -> web.Response:
        q = request.query
        tickers = set(filter(None, q.get("market_tickers", "").split(",")))
        ev = q.get("event_ticker")
        if not tickers and not ev:
            raise err(
                400,
                "invalid_parameters",
                "invalid parameters",
                "market_tickers or event_ticker required",
                service=False,
            )
        out = [
            {
                "market_ticker": o.ticker,
                "order_id": o.order_id,
                "queue_position_fp": fmt_count(x.engine.queue_position(o.order_id)),
            }
            for o in x.engine.resting(user(request))
            if o.ticker in tickers or (ev and x.markets[o.ticker].event_ticker == ev)
        ]
        return reply({"queue_positions": out})

    r.add_get(f"{P}/balance", balance)
    r.add_get(f"{P}/positions", positions)
    r.add_get(f"{P}/fills", fills)
    r.add_get(f"{P}/settlements", settlements)
    r.add_get(f"{P}/orders", orders)
    r.add_get(f"{P}/orders/queue_positions", queue_positions)
    r.add_get(f"{P}/orders/{{order_id}}", order_one)
    r.add_get(f"{P}/orders/{{order_id}}/queue_position", queue_position)
    add_order_routes(sim, app)
