"""REST routes of the simulator: middleware (auth, rate limits, faults), market data, sim-only.

Portfolio and order routes live in kalshi_portfolio.py. Bodies are built by kalshi_wire.py and
sent compact with sorted keys, as recorded.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from aiohttp import web

from pmbot.core.money import fmt_count, fmt_price
from pmbot.sim.exchange import ExchangeError, err
from pmbot.sim.index import fmt_level
from pmbot.sim.kalshi_auth import AUTH_UNKNOWN, DEFAULT_COST, TOO_MANY, WRITE_DEFAULT_COSTS
from pmbot.sim.kalshi_wire import (
    FILTER_TO_STATUS,
    dumps_rest,
    dumps_ws,
    event_json,
    market_json,
    rfc3339,
    series_json,
    trade_json,
)
from pmbot.sim.markets import SERIES

if TYPE_CHECKING:
    from pmbot.sim.kalshi_server import KalshiSim

__all__ = ["KEY", "add_routes", "middleware", "page", "reply"]

BASE = "/trade-api/v2"
PRIVATE = (f"{BASE}/portfolio", f"{BASE}/account", f"{BASE}/api_keys")
OPTIONAL_AUTH = ("/orderbook", f"{BASE}/markets/orderbooks")
KEY: web.RequestKey[Any] = web.RequestKey("kalshi_key", object)
WRITE_PREFIXES = (
    f"{BASE}/portfolio/events/orders",
    f"{BASE}/portfolio/orders",
    f"{BASE}/portfolio/order_groups",
)


def reply(obj: Any, status: int = 200) -> web.Response:
    """Success bodies with sorted keys, error bodies in the order they were built (both as
    recorded: `{"error":{"code","message","details"}}` is not alphabetical)."""
    body = dumps_rest(obj) if status < 400 else dumps_ws(obj)
    return web.Response(status=status, body=body, content_type="application/json")


def bare_limit(op: str, field: str = "Limit") -> ExchangeError:
    return ExchangeError(
        400,
        {
            "msg": f"Parameter validation failed for {op}: Key: '{op}Params.{field}' "
            f"Error:Field validation for '{field}' failed on the 'lte' tag"
        },
    )


def limit_of(q: Any, op: str, default: int, maximum: int) -> int:
    raw = q.get("limit")
    if raw is None or raw == "":
        return default
    try:
        n = int(raw)
    except ValueError:
        raise ExchangeError(
            400, {"msg": f"Parameter validation failed for {op}: invalid limit"}
        ) from None
    if n > maximum:
        raise bare_limit(op)
    return n if n > 0 else default


def page(items: list[Any], q: Any, op: str, default: int, maximum: int) -> tuple[list[Any], str]:
    """Offset pagination behind an opaque cursor; garbage restarts at 0; last page -> ""."""
    limit = limit_of(q, op, default, maximum)
    start = 0
    cur = q.get("cursor")
    if cur:
        try:
            raw = base64.urlsafe_b64decode(cur + "=" * (-len(cur) % 4)).decode()
            if raw.startswith("sim:"):
                start = max(0, int(raw[4:]))
        except (ValueError, UnicodeDecodeError):
            start = 0
    chunk = items[start : start + limit]
    end = start + len(chunk)
    nxt = (
        base64.urlsafe_b64encode(f"sim:{end}".encode()).decode().rstrip("=")
        if end < len(items)
        else ""
    )
    return chunk, nxt


def _route_template(request: web.Request) -> str:
    info = request.match_info.route.resource
    canon = info.canonical if info is not None else request.path
    return canon.replace("{order_id}", ":order_id").replace("{gid}", ":order_group_id")


def middleware(sim: KalshiSim) -> Any:
    @web.middleware
    async def mw(request: web.Request, handler: Any) -> web.StreamResponse:
        path = request.path
        if len(path) > 1 and path.endswith("/"):
            raise web.HTTPMovedPermanently(path.rstrip("/"))
        sim.catch_up()
        if path.startswith("/sim/") or path == "/trade-api/ws/v2":
            return await handler(request)
        f = sim.faults
        if f.take("http_5xx"):
            sim.hub.journal.append((sim.now_ns(), "refused", "503"))
            return reply(
                {"error": {"code": "service_unavailable", "message": "service unavailable"}}, 503
            )
        try:
            key = None
            has_headers = (
                "KALSHI-ACCESS-SIGNATURE" in request.headers
                or "KALSHI-ACCESS-KEY" in request.headers
            )
            if path.startswith(PRIVATE) or (has_headers and path.endswith(OPTIONAL_AUTH)):
                key = sim.auth.verify(request.headers, request.method, path)
            if key is not None:
                request[KEY] = key
                write = request.method != "GET" and path.startswith(WRITE_PREFIXES)
                cost = WRITE_DEFAULT_COSTS.get(
                    (request.method, _route_template(request)), DEFAULT_COST
                )
                if path.endswith("/batched") and request.method in ("POST", "DELETE"):
                    cost = 0  # batches cost the sum of their items, charged by the handler
                if write and f.take("http_401_writes"):
                    sim.hub.journal.append((sim.now_ns(), "refused", "401"))
                    return reply(AUTH_UNKNOWN, 401)
                if f.take("http_429"):
                    sim.hub.journal.append((sim.now_ns(), "refused", "429"))
                    return reply(TOO_MANY, 429)
                if not sim.limiter.allow(key.key_id, write, cost):
                    return reply(TOO_MANY, 429)
                if (
                    write
                    and request.method == "POST"
                    and path.endswith(f.lost_answer_path)
                    and f.take("lost_answers")
                ):
                    resp = await handler(request)  # the exchange acts on it...
                    sim.hub.journal.append((sim.now_ns(), "lost_answer", path))
                    if request.transport is not None:
                        request.transport.abort()  # ...and the answer never arrives
                    return resp
            return await handler(request)
        except ExchangeError as e:
            return reply(e.body, e.status)

    return mw


# -- exchange ---------------------------------------------------------------------------------
def add_routes(sim: KalshiSim, app: web.Application) -> None:
    from pmbot.sim.kalshi_portfolio import add_portfolio_routes

    r = app.router
    x = sim.exchange

    async def status(_: web.Request) -> web.Response:
        return reply({"exchange_active": x.exchange_active, "trading_active": not x.trading_paused})

    async def schedule(_: web.Request) -> web.Response:
        day = [{"close_time": "00:00", "open_time": "00:00"}]
        thu = [
            {"close_time": "03:00", "open_time": "00:00"},
            {"close_time": "00:00", "open_time": "05:00"},
        ]
        hours = {
            d: (thu if d == "thursday" else day)
            for d in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        }
        hours.update({"start_time": "2026-01-01T05:00:00Z", "end_time": "2027-01-01T05:00:00Z"})
        return reply({"schedule": {"maintenance_windows": [], "standard_hours": [hours]}})

    async def user_data_ts(_: web.Request) -> web.Response:
        return reply({"as_of_time": rfc3339(sim.now_ns())})

    async def hist_cutoff(_: web.Request) -> web.Response:
        t = rfc3339(sim.now_ns() - 90 * 86_400 * 10**9, frac=False)
        return reply({"market_settled_ts": t, "orders_updated_ts": t, "trades_created_ts": t})

    async def series_list(_: web.Request) -> web.Response:
        return reply({"series": [series_json(t) for t in SERIES]})

    async def series_one(request: web.Request) -> web.Response:
        t = request.match_info["ticker"]
        if t not in SERIES:
            raise err(404, "not_found", "not found")
        return reply({"series": series_json(t)})

    async def fee_changes(_: web.Request) -> web.Response:
        return reply({"series_fee_change_arr": []})

    def mkt(t: str) -> dict[str, Any]:
        return market_json(x.markets[t], x.engine.books.get(t))

    async def events(request: web.Request) -> web.Response:
        q = request.query
        evs = sorted(x.events.values(), key=lambda e: (e.strike_ns, e.event_ticker))
        if q.get("series_ticker"):
            evs = [e for e in evs if e.series_ticker == q["series_ticker"]]
        if q.get("tickers"):
            want = set(q["tickers"].split(","))
            evs = [e for e in evs if e.event_ticker in want]
        if q.get("status"):
            st = FILTER_TO_STATUS.get(q["status"])
            if st is None:
                raise ExchangeError(
                    400,
                    {
                        "msg": "Parameter validation failed for GetEvents: Key: "
                        "'GetEventsParams.Status' Error:Field validation for 'Status' failed on the 'oneof' tag"
                    },
                )
            evs = [e for e in evs if any(x.markets[t].status in st for t in e.markets)]
        chunk, cur = page(evs, q, "GetEvents", 200, 200)
        nested = q.get("with_nested_markets") == "true"
        return reply(
            {
                "cursor": cur,
                "events": [
                    event_json(e, [mkt(t) for t in e.markets] if nested else None) for e in chunk
                ],
            }
        )

    async def event_one(request: web.Request) -> web.Response:
        ev = x.events.get(request.match_info["event_ticker"])
        if ev is None:
            raise err(404, "not_found", "not found")
        ms = [mkt(t) for t in ev.markets]
        if request.query.get("with_nested_markets") == "true":
            return reply({"event": event_json(ev, ms), "markets": []})
        return reply({"event": event_json(ev), "markets": ms})

    async def markets(request: web.Request) -> web.Response:
        q = request.query
        limit_of(q, "GetMarkets", 100, 1000)
        ms = list(x.markets.values())
        if q.get("event_ticker"):
            ms = [m for m in ms if m.event_ticker == q["event_ticker"]]
        if q.get("series_ticker"):
            ms = [m for m in ms if m.series_ticker == q["series_ticker"]]
        if q.get("tickers"):
            want = set(q["tickers"].split(","))
            ms = [m for m in ms if m.ticker in want]
        if q.get("status"):
            st = FILTER_TO_STATUS.get(q["status"])
            if st is None:
                raise ExchangeError(
                    400,
                    {
                        "msg": "Parameter validation failed for GetMarkets: Key: "
                        "'GetMarketsParams.Status' Error:Field validation for 'Status' failed on the 'oneof' tag"
                    },
                )
            ms = [m for m in ms if m.status in st]
        for k, attr, lo in (
            ("min_close_ts", "close_ns", True),
            ("max_close_ts", "close_ns", False),
        ):
            if q.get(k):
                v = int(q[k]) * 10**9
                ms = [m for m in ms if (getattr(m, attr) >= v if lo else getattr(m, attr) <= v)]
        ms.sort(key=lambda m: (m.close_ns, m.event_ticker, m.floor_strike or 0, m.ticker))
        chunk, cur = page(ms, q, "GetMarkets", 100, 1000)
        return reply({"cursor": cur, "markets": [mkt(m.ticker) for m in chunk]})

    async def market_one(request: web.Request) -> web.Response:
        t = request.match_info["ticker"]
        if t not in x.markets:
            raise err(404, "not_found", "not found")
        return reply({"market": mkt(t)})

    def book_fp(t: str, depth: int) -> dict[str, Any]:
        b = x.engine.book(t)
        yes, no = b.yes_levels(), b.no_levels()
        if depth > 0:
            yes, no = yes[-depth:], no[-depth:]
        return {
            "no_dollars": [[fmt_price(p), fmt_count(n)] for p, n in no],
            "yes_dollars": [[fmt_price(p), fmt_count(n)] for p, n in yes],
        }

    async def orderbook(request: web.Request) -> web.Response:
        t = request.match_info["ticker"]
        if t not in x.markets:
            raise err(404, "not_found", "not found")
        depth = int(request.query.get("depth") or 0)
        return reply({"orderbook_fp": book_fp(t, depth)})

    async def orderbooks(request: web.Request) -> web.Response:
        ts = request.query.getall("tickers", [])
        ts = [t for s in ts for t in s.split(",") if t]
        if not ts or len(ts) > 100:
            raise err(400, "invalid_parameters", "invalid parameters", service=False)
        return reply(
            {
                "orderbooks": [
                    {"orderbook_fp": book_fp(t, 0), "ticker": t} for t in ts if t in x.markets
                ]
            }
        )

    async def trades(request: web.Request) -> web.Response:
        q = request.query
        items = list(reversed(x.trades))
        if q.get("ticker"):
            items = [t for t in items if t[1] == q["ticker"]]
        if q.get("min_ts"):
            items = [t for t in items if t[5] >= int(q["min_ts"]) * 10**9]
        if q.get("max_ts"):
            items = [t for t in items if t[5] <= int(q["max_ts"]) * 10**9]
        chunk, cur = page(items, q, "GetTrades", 100, 1000)
        return reply({"cursor": cur, "trades": [trade_json(*t) for t in chunk]})

    async def sim_index(request: web.Request) -> web.Response:
        f = sim.faults
        if "ts_ms" in request.query:
            t = int(request.query["ts_ms"])
            return web.json_response(
                {"ts_ms": t, "level": fmt_level(sim.index.level_at(t * 1_000_000))}
            )
        t = sim.now_ns() // 1_000_000
        if f.index_stall:
            if f.index_frozen is None:
                f.index_frozen = (
                    t,
                    fmt_level(sim.index.level_at(t * 1_000_000) + round(f.index_jump * 10_000)),
                )
            t, level = f.index_frozen
            return web.json_response({"ts_ms": t, "level": level})
        f.index_frozen = None
        level = fmt_level(sim.index.level_at(t * 1_000_000) + round(f.index_jump * 10_000))
        return web.json_response({"ts_ms": t, "level": level})

    async def sim_clock(request: web.Request) -> web.Response:
        """Simulated time and speed, so an out-of-process bot can run on the market's clock."""
        return web.json_response(
            {
                "ts_ms": sim.now_ns() // 1_000_000,
                "speed": sim.config.speed,
                "index_vol": sim.config.index_vol,
            }
        )

    async def sim_index_history(request: web.Request) -> web.Response:
        q = request.query
        now_ms = sim.now_ns() // 1_000_000
        end = min(int(q.get("end_ms") or now_ms), now_ms)
        start = int(q.get("start_ms") or end - 3_600_000)
        step = max(1000, int(q.get("step_ms") or 60_000))
        if (end - start) // step > 20_000:
            return web.json_response({"msg": "too many points"}, status=400)
        pts = [
            {"ts_ms": t, "level": fmt_level(sim.index.level_at(t * 1_000_000))}
            for t in range(start, end + 1, step)
        ]
        return web.json_response({"points": pts})

    async def sim_faults(request: web.Request) -> web.Response:
        body = await request.json()
        for k, v in body.items():
            if k == "trading_paused":
                sim.faults.trading_paused = bool(v)
            elif hasattr(sim.faults, k) and k not in ("stale_orders", "index_frozen"):
                setattr(sim.faults, k, type(getattr(sim.faults, k))(v))
        return web.json_response({"ok": True})

    r.add_get(f"{BASE}/exchange/status", status)
    r.add_get(f"{BASE}/exchange/schedule", schedule)
    r.add_get(f"{BASE}/exchange/user_data_timestamp", user_data_ts)
    r.add_get(f"{BASE}/historical/cutoff", hist_cutoff)
    r.add_get(f"{BASE}/series", series_list)
    r.add_get(f"{BASE}/series/fee_changes", fee_changes)
    r.add_get(f"{BASE}/series/{{ticker}}", series_one)
    r.add_get(f"{BASE}/events", events)
    r.add_get(f"{BASE}/events/{{event_ticker}}", event_one)
    r.add_get(f"{BASE}/markets", markets)
    r.add_get(f"{BASE}/markets/trades", trades)
    r.add_get(f"{BASE}/markets/orderbooks", orderbooks)
    r.add_get(f"{BASE}/markets/{{ticker}}", market_one)
    r.add_get(f"{BASE}/markets/{{ticker}}/orderbook", orderbook)
    r.add_get("/sim/index", sim_index)
    r.add_get("/sim/index/history", sim_index_history)
    r.add_get("/sim/clock", sim_clock)
    r.add_post("/sim/faults", sim_faults)
    add_portfolio_routes(sim, app)
