"""Authenticated REST writes: V2 orders (create, cancel, amend, decrease, batches), legacy V1
410s, order groups, account limits and endpoint costs.

Request bodies are checked the way Kalshi's Go server decodes them: a JSON number where a
string is declared gives the flat `bad_request` body with Go's unmarshal message; then the
exchange core applies the order rules and raises the recorded nested errors.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from pmbot.core.money import ONE, fmt_count, fmt_money, parse_count, parse_price
from pmbot.errors import UnitError
from pmbot.sim.engine import Order
from pmbot.sim.exchange import ExchangeError, err
from pmbot.sim.kalshi_auth import DEFAULT_COST, TOO_MANY
from pmbot.sim.kalshi_portfolio import user_of
from pmbot.sim.kalshi_rest import BASE, KEY, reply
from pmbot.sim.kalshi_wire import order_json

if TYPE_CHECKING:
    from pmbot.sim.kalshi_server import KalshiSim

__all__ = ["add_order_routes", "check_types", "created_json"]

V2_STR = (
    "ticker",
    "client_order_id",
    "side",
    "count",
    "price",
    "time_in_force",
    "self_trade_prevention_type",
    "order_group_id",
)
V2_BOOL = ("post_only", "reduce_only", "cancel_order_on_pause")
V2_INT = ("expiration_time", "subaccount", "exchange_index")
GO_TYPE = {
    int: "number",
    float: "number",
    bool: "bool",
    str: "string",
    list: "array",
    dict: "object",
}
DEPRECATED_V1 = {
    "error": {
        "code": "deprecated_v1_order_endpoint",
        "message": "This endpoint is deprecated. Please switch to the V2 endpoints.",
        "service": "exchange",
    }
}


def flat(details: str) -> ExchangeError:
    return ExchangeError(400, {"code": "bad_request", "message": "bad request", "details": details})


def check_types(
    body: Any,
    struct: str,
    strs: tuple[str, ...],
    bools: tuple[str, ...] = (),
    ints: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Go-style decode: the first field (document order) of the wrong JSON type is reported."""
    if not isinstance(body, dict):
        raise flat(
            f"json: cannot unmarshal {GO_TYPE.get(type(body), 'value')} into Go value of type {struct}"
        )
    for k, v in body.items():
        if v is None:
            continue
        want = "string" if k in strs else "bool" if k in bools else "int64" if k in ints else None
        ok = (
            (want == "string" and isinstance(v, str))
            or (want == "bool" and isinstance(v, bool))
            or (want == "int64" and isinstance(v, int) and not isinstance(v, bool))
        )
        if want and not ok:
            raise flat(
                f"json: cannot unmarshal {GO_TYPE.get(type(v), 'value')} into Go struct field {struct}.{k} "
                f"of type {want}"
            )
    return body


async def read_json(request: web.Request) -> Any:
    raw = await request.read()
    try:
        return json.loads(raw or b"null")
    except ValueError as e:
        raise flat(f"invalid character in JSON: {e.msg}") from None


def _count(s: str) -> int:
    try:
        n = parse_count(s)
    except UnitError:
        raise err(400, "invalid_order_size", "invalid order size") from None
    return n


def _price(s: str) -> int:
    try:
        return parse_price(s)
    except UnitError:
        raise err(400, "invalid_price", "invalid price") from None


def _need(body: dict[str, Any], *keys: str) -> None:
    for k in keys:
        if body.get(k) in (None, ""):
            raise err(
                400, "invalid_parameters", "invalid parameters", f"{k} is required", service=False
            )


def _fill_totals(o: Order) -> tuple[int, int, int]:
    """(filled, leg cost, fees) of the order so far."""
    return o.filled, o.taker_fill_cost + o.maker_fill_cost, o.taker_fees + o.maker_fees


def created_json(
    o: Order,
    ts_ns: int,
    *,
    with_error: bool = False,
    before: tuple[int, int, int] = (0, 0, 0),
    amend_from: int | None = None,
) -> dict[str, Any]:
    """A V2 write's answer; the average fill fields cover the fills since `before`.

    `amend_from`: the resting size before an amend, whose answer is shaped as Kalshi's
    reference says (protocol §3.7): `fill_count` is the amend's own fills, and it and
    `remaining_count` come only when the amend filled or changed the resting size (a pure
    reprice answers neither)."""
    d: dict[str, Any] = {
        "client_order_id": o.client_order_id,
        "fill_count": fmt_count(o.filled),
        "order_id": o.order_id,
        "remaining_count": fmt_count(o.remaining),
        "ts_ms": ts_ns // 1_000_000,
    }
    n, cost, fees = (a - b for a, b in zip(_fill_totals(o), before, strict=True))
    if amend_from is not None:
        if n or o.remaining != amend_from:
            d["fill_count"] = fmt_count(n)
        else:
            del d["fill_count"], d["remaining_count"]
    if n:
        # leg price in 1e-6 $ per contract; FixedPointDollars up to 6 dp (protocol §5.1):
        # 4 when the mean is on the 1e-4 grid (as recorded: "0.5200"), else 6 ("0.526667")
        per = cost * 100 // n
        avg = per if o.is_bid else ONE * 100 - per
        d["average_fill_price"] = fmt_money(avg, 4 if avg % 100 == 0 else 6)
        d["average_fee_paid"] = fmt_money(fees * 100 // n, 4)
    if with_error:
        d["error"] = None
    return d


def add_order_routes(sim: KalshiSim, app: web.Application) -> None:
    r = app.router
    x = sim.exchange
    P = f"{BASE}/portfolio"
    user = user_of

    # -- V2 writes --------------------------------------------------------------------------
    def create_one(u: str, body: Any) -> Order:
        b = check_types(body, "CreateOrderV2Request", V2_STR, V2_BOOL, V2_INT)
        _need(b, "ticker", "side", "count", "price", "time_in_force", "self_trade_prevention_type")
        return x.create(
            u,
            ticker=b["ticker"],
            side=b["side"],
            price=_price(b["price"]),
            count=_count(b["count"]),
            tif=b["time_in_force"],
            stp=b["self_trade_prevention_type"],
            ts_ns=sim.now_ns(),
            client_order_id=b.get("client_order_id") or "",
            post_only=bool(b.get("post_only")),
            reduce_only=bool(b.get("reduce_only")),
            expiration_ts=b.get("expiration_time"),
            group_id=b.get("order_group_id"),
            cancel_on_pause=bool(b.get("cancel_order_on_pause")),
        )

    async def create(request: web.Request) -> web.Response:
        o = create_one(user(request), await read_json(request))
        sim.hub.dispatch(x.drain(), sim.now_ns())
        return reply(created_json(o, sim.now_ns()), 201)

    def cancel_one(u: str, oid: str) -> tuple[Order, int]:
        o = x.engine.orders.get(oid)
        before = order_json(o) if o is not None else None
        o, n = x.cancel(u, oid, sim.now_ns())
        if before is not None and sim.faults.take("stale_after_cancel"):
            sim.faults.stale_orders[oid] = (sim.faults.stale_reads, before)
        return o, n

    async def cancel(request: web.Request) -> web.Response:
        o, n = cancel_one(user(request), request.match_info["order_id"])
        sim.hub.dispatch(x.drain(), sim.now_ns())
        return reply(
            {"order_id": o.order_id, "reduced_by": fmt_count(n), "ts_ms": sim.now_ns() // 1_000_000}
        )

    async def amend(request: web.Request) -> web.Response:
        b = check_types(
            await read_json(request),
            "AmendOrderV2Request",
            ("ticker", "side", "price", "count", "client_order_id", "updated_client_order_id"),
            (),
            V2_INT,
        )
        _need(b, "ticker", "side", "price", "count")
        mine = x.engine.orders.get(request.match_info["order_id"])
        before = _fill_totals(mine) if mine is not None else (0, 0, 0)
        resting_before = mine.remaining if mine is not None else 0
        o, _ = x.amend(
            user(request),
            request.match_info["order_id"],
            ticker=b["ticker"],
            side=b["side"],
            price=_price(b["price"]),
            count=_count(b["count"]),
            ts_ns=sim.now_ns(),
            updated_client_order_id=b.get("updated_client_order_id"),
        )
        sim.hub.dispatch(x.drain(), sim.now_ns())
        return reply(created_json(o, sim.now_ns(), before=before, amend_from=resting_before))

    async def decrease(request: web.Request) -> web.Response:
        b = check_types(
            await read_json(request),
            "DecreaseOrderV2Request",
            ("reduce_by", "reduce_to", "market_ticker"),
            (),
            V2_INT,
        )
        if ("reduce_by" in b) == ("reduce_to" in b):
            raise err(
                400,
                "invalid_parameters",
                "invalid parameters",
                "exactly one of reduce_by, reduce_to",
                service=False,
            )
        o = x.decrease(
            user(request),
            request.match_info["order_id"],
            sim.now_ns(),
            reduce_by=_count(b["reduce_by"]) if "reduce_by" in b else None,
            reduce_to=_count(b["reduce_to"]) if "reduce_to" in b else None,
        )
        sim.hub.dispatch(x.drain(), sim.now_ns())
        return reply(
            {
                "client_order_id": o.client_order_id,
                "order_id": o.order_id,
                "remaining_count": fmt_count(o.remaining),
                "ts_ms": sim.now_ns() // 1_000_000,
            }
        )

    async def batch_create(request: web.Request) -> web.Response:
        body = await read_json(request)
        items = body.get("orders") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise flat(
                "json: cannot unmarshal into Go struct field BatchCreateOrdersV2Request.orders"
            )
        # the whole batch must fit in the write bucket at once, or all of it is refused
        if not sim.limiter.allow(request[KEY].key_id, True, DEFAULT_COST * len(items)):
            return reply(TOO_MANY, 429)
        out = []
        for it in items:
            try:
                out.append(
                    created_json(create_one(user(request), it), sim.now_ns(), with_error=True)
                )
            except ExchangeError as e:
                er = e.body.get("error", e.body)
                out.append(
                    {
                        "client_order_id": (it or {}).get("client_order_id", "")
                        if isinstance(it, dict)
                        else "",
                        "error": er,
                        "fill_count": "0.00",
                        "order_id": "",
                        "remaining_count": "0.00",
                        "ts_ms": sim.now_ns() // 1_000_000,
                    }
                )
        sim.hub.dispatch(x.drain(), sim.now_ns())
        return reply({"orders": out}, 201)

    async def batch_cancel(request: web.Request) -> web.Response:
        body = await read_json(request)
        items = body.get("orders") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise flat(
                "json: cannot unmarshal into Go struct field BatchCancelOrdersV2Request.orders"
            )
        # the whole batch must fit in the write bucket at once, or all of it is refused
        if not sim.limiter.allow(request[KEY].key_id, True, 2 * len(items)):
            return reply(TOO_MANY, 429)
        out = []
        for it in items:
            oid = it.get("order_id", "") if isinstance(it, dict) else ""
            try:
                o, n = cancel_one(user(request), oid)
                out.append(
                    {
                        "client_order_id": o.client_order_id,
                        "error": None,
                        "order_id": oid,
                        "reduced_by": fmt_count(n),
                        "ts_ms": sim.now_ns() // 1_000_000,
                    }
                )
            except ExchangeError as e:
                out.append(
                    {"error": e.body.get("error", e.body), "order_id": oid, "reduced_by": "0.00"}
                )
        sim.hub.dispatch(x.drain(), sim.now_ns())
        return reply({"orders": out})

    async def v1_write(_: web.Request) -> web.Response:
        return reply(DEPRECATED_V1, 410)

    # -- order groups -----------------------------------------------------------------------
    def limit_in(b: dict[str, Any]) -> int:
        if "contracts_limit_fp" in b:
            return _count(str(b["contracts_limit_fp"]))
        if isinstance(b.get("contracts_limit"), int):
            return int(b["contracts_limit"]) * 100
        raise err(
            400,
            "invalid_parameters",
            "invalid parameters",
            "contracts_limit is required",
            service=False,
        )

    def group_json(g: Any) -> dict[str, Any]:
        return {
            "contracts_limit": g.limit // 100,
            "contracts_limit_fp": fmt_count(g.limit),
            "is_auto_cancel_enabled": not g.triggered,
            "order_group_id": g.group_id,
            "orders": sorted(
                oid
                for oid in g.orders
                if x.engine.orders.get(oid) and x.engine.orders[oid].status == "resting"
            ),
        }

    async def group_create(request: web.Request) -> web.Response:
        b = await read_json(request)
        g = x.group_create(user(request), limit_in(b if isinstance(b, dict) else {}))
        return reply({"order_group_id": g.group_id, "subaccount": 0}, 201)

    async def group_list(request: web.Request) -> web.Response:
        u = user(request)
        return reply({"order_groups": [group_json(g) for g in x.groups.values() if g.user == u]})

    async def group_get(request: web.Request) -> web.Response:
        return reply(group_json(x.group(user(request), request.match_info["gid"])))

    async def group_op(request: web.Request) -> web.Response:
        g = x.group(user(request), request.match_info["gid"])
        op = request.match_info["op"]
        if op == "reset":
            x.group_reset(g)
        elif op == "trigger":
            x.group_trigger(g, sim.now_ns())
        elif op == "limit":
            b = await read_json(request)
            x.group_limit(g, limit_in(b if isinstance(b, dict) else {}))
        else:
            raise err(404, "not_found", "not found")
        sim.hub.dispatch(x.drain(), sim.now_ns())
        return reply({})

    async def group_delete(request: web.Request) -> web.Response:
        x.group_delete(x.group(user(request), request.match_info["gid"]), sim.now_ns())
        sim.hub.dispatch(x.drain(), sim.now_ns())
        return reply({})

    async def limits(_: web.Request) -> web.Response:
        return reply(sim.limiter.limits())

    async def endpoint_costs(_: web.Request) -> web.Response:
        from pmbot.sim.kalshi_auth import WRITE_DEFAULT_COSTS

        costs = [
            {"cost": c, "method": m, "path": p}
            for (m, p), c in sorted(
                WRITE_DEFAULT_COSTS.items(), key=lambda kv: (kv[0][1], kv[0][0])
            )
        ]
        return reply({"default_cost": DEFAULT_COST, "endpoint_costs": costs})

    r.add_post(f"{P}/events/orders", create)
    r.add_post(f"{P}/events/orders/batched", batch_create)
    r.add_delete(f"{P}/events/orders/batched", batch_cancel)
    r.add_delete(f"{P}/events/orders/{{order_id}}", cancel)
    r.add_post(f"{P}/events/orders/{{order_id}}/amend", amend)
    r.add_post(f"{P}/events/orders/{{order_id}}/decrease", decrease)
    r.add_post(f"{P}/orders", v1_write)
    r.add_post(f"{P}/orders/batched", v1_write)
    r.add_delete(f"{P}/orders/batched", v1_write)
    r.add_delete(f"{P}/orders/{{order_id}}", v1_write)
    r.add_post(f"{P}/orders/{{order_id}}/amend", v1_write)
    r.add_post(f"{P}/orders/{{order_id}}/decrease", v1_write)
    r.add_post(f"{P}/order_groups/create", group_create)
    r.add_get(f"{P}/order_groups", group_list)
    r.add_get(f"{P}/order_groups/{{gid}}", group_get)
    r.add_put(f"{P}/order_groups/{{gid}}/{{op}}", group_op)
    r.add_delete(f"{P}/order_groups/{{gid}}", group_delete)
    r.add_get(f"{BASE}/account/limits", limits)
    r.add_get(f"{BASE}/account/endpoint_costs", endpoint_costs)
