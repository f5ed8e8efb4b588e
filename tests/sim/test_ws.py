"""WebSocket commands, channels, heartbeat and the seq fault switches."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from .rawclient import RawKalshi

GTC = "good_till_canceled"


async def frames(ws: Any, n: int) -> list[dict[str, Any]]:
    out = []
    for _ in range(n):
        m = await ws.receive(timeout=5)
        assert m.type == aiohttp.WSMsgType.TEXT, m
        out.append(json.loads(m.data))
    return out


async def quiet(ws: Any) -> None:
    with pytest.raises(TimeoutError):
        await ws.receive(timeout=0.05)


def pick(sim: Any) -> list[str]:
    return [
        t
        for t, m in sim.exchange.markets.items()
        if m.series_ticker == "KXINX" and m.status == "active"
    ][:3]


async def setup(sim_factory: Any) -> tuple[Any, RawKalshi, Any, list[str]]:
    sim = await sim_factory()
    sim.add_key("mm")
    c = RawKalshi(sim.rest_url, sim.ws_url, sim.key_id, sim.private_key_pem)
    ws = await c.ws()
    return sim, c, ws, pick(sim)


def mm(sim: Any, t: str, side: str, price: int, n: int = 100) -> Any:
    o = sim.exchange.create(
        "mm", ticker=t, side=side, price=price, count=n, tif=GTC, stp="maker", ts_ns=sim.now_ns()
    )
    return o


async def test_ws_upgrade_requires_signature(sim: Any) -> None:
    async with aiohttp.ClientSession() as s:
        with pytest.raises(aiohttp.WSServerHandshakeError) as e:
            await s.ws_connect(sim.ws_url)
        assert e.value.status == 401


async def test_commands_and_errors(sim_factory: Any) -> None:
    sim, c, ws, (t1, t2, t3) = await setup(sim_factory)
    try:
        await ws.send_str(
            json.dumps(
                {
                    "id": 1,
                    "cmd": "subscribe",
                    "params": {"channels": ["orderbook_delta", "ticker"], "market_tickers": [t1]},
                }
            )
        )
        f = await frames(ws, 3)
        assert [x["type"] for x in f] == ["subscribed", "subscribed", "orderbook_snapshot"]
        assert {x["id"] for x in f[:2]} == {1}
        ob_sid = f[0]["msg"]["sid"]
        assert (
            "yes_dollars_fp" not in f[2]["msg"] and "no_dollars_fp" not in f[2]["msg"]
        )  # empty sides omitted
        # idempotent: same channel again -> same sid, one `subscribed` per channel, snapshot for the new market
        await ws.send_str(
            json.dumps(
                {
                    "id": 2,
                    "cmd": "subscribe",
                    "params": {"channels": ["orderbook_delta"], "market_tickers": [t1, t2]},
                }
            )
        )
        f = await frames(ws, 2)
        assert f[0] == {
            "type": "subscribed",
            "id": 2,
            "msg": {"channel": "orderbook_delta", "sid": ob_sid},
        }
        assert (
            f[1]["type"] == "orderbook_snapshot"
            and f[1]["msg"]["market_ticker"] == t2
            and f[1]["seq"] == 2
        )
        await ws.send_str(json.dumps({"id": 3, "cmd": "list_subscriptions"}))
        (f,) = await frames(ws, 1)
        assert f["type"] == "ok" and {s["channel"] for s in f["msg"]} == {
            "orderbook_delta",
            "ticker",
        }
        await ws.send_str(
            json.dumps(
                {
                    "id": 4,
                    "cmd": "update_subscription",
                    "params": {"sids": [ob_sid], "action": "add_markets", "market_tickers": [t3]},
                }
            )
        )
        f = await frames(ws, 2)
        assert f[0]["type"] == "ok" and f[0]["seq"] == 3 and t3 in f[0]["msg"]["market_tickers"]
        assert f[1]["seq"] == 4 and f[1]["msg"]["market_ticker"] == t3
        await ws.send_str(
            json.dumps(
                {
                    "id": 5,
                    "cmd": "update_subscription",
                    "params": {"sid": ob_sid, "action": "get_snapshot", "market_tickers": [t1]},
                }
            )
        )
        f = await frames(ws, 2)
        assert f[0]["type"] == "ok" and f[1]["type"] == "orderbook_snapshot" and f[1]["seq"] == 6
        await ws.send_str(
            json.dumps(
                {
                    "id": 6,
                    "cmd": "update_subscription",
                    "params": {
                        "sid": ob_sid,
                        "action": "delete_markets",
                        "market_tickers": [t2, t3],
                    },
                }
            )
        )
        (f,) = await frames(ws, 1)
        assert f["msg"]["market_tickers"] == [t1]
        # deltas: only for t1 now; seq continues per sid
        mm(sim, t2, "bid", 4000)
        mm(sim, t1, "bid", 4100)
        await sim.step(1)
        f = await frames(ws, 2)
        d = next(x for x in f if x["type"] == "orderbook_delta")
        assert d["seq"] == 8 and d["msg"]["market_ticker"] == t1 and d["msg"]["delta_fp"] == "1.00"
        assert "client_order_id" not in d["msg"]  # not the subscriber's own order
        assert any(x["type"] == "ticker" for x in f)
        # error frames
        for cmd, code in (
            ({"id": 7, "cmd": "nope"}, 5),
            ({"id": 8, "cmd": "subscribe", "params": {}}, 3),
            ({"id": 9, "cmd": "subscribe", "params": {"channels": ["bogus"]}}, 8),
            ({"id": 10, "cmd": "subscribe", "params": {"channels": ["orderbook_delta"]}}, 14),
            ({"id": 11, "cmd": "unsubscribe", "params": {"sids": [99]}}, 7),
            (
                {
                    "id": 12,
                    "cmd": "subscribe",
                    "params": {"channels": ["trade"], "market_ticker": "X"},
                },
                16,
            ),
            (
                {
                    "id": 13,
                    "cmd": "update_subscription",
                    "params": {"sids": [1, 2], "action": "add_markets"},
                },
                12,
            ),
        ):
            await ws.send_str(json.dumps(cmd))
            (f,) = await frames(ws, 1)
            assert f["type"] == "error" and f["id"] == cmd["id"] and f["msg"]["code"] == code, f
        await ws.send_str("not json")
        (f,) = await frames(ws, 1)
        assert f["msg"]["code"] == 1
        await ws.send_str(
            json.dumps({"id": 14, "cmd": "unsubscribe", "params": {"sids": [ob_sid]}})
        )
        (f,) = await frames(ws, 1)
        assert f == {"id": 14, "sid": ob_sid, "seq": 9, "type": "unsubscribed"}
    finally:
        await ws.close()
        await c.close()


async def test_private_channels_and_own_deltas(sim_factory: Any) -> None:
    sim, c, ws, (t1, _, _) = await setup(sim_factory)
    try:
        await ws.send_str(
            json.dumps(
                {
                    "id": 1,
                    "cmd": "subscribe",
                    "params": {
                        "channels": [
                            "orderbook_delta",
                            "fill",
                            "user_orders",
                            "market_positions",
                            "trade",
                        ],
                        "market_ticker": t1,
                        "use_yes_price": True,
                    },
                }
            )
        )
        await frames(ws, 6)
        await ws.send_str(
            json.dumps(
                {"id": 2, "cmd": "subscribe", "params": {"channels": ["market_lifecycle_v2"]}}
            )
        )
        await frames(ws, 1)
        st, _body, _ = await c.request(
            "POST",
            "/portfolio/events/orders",
            {
                "ticker": t1,
                "side": "ask",
                "count": "3.00",
                "price": "0.6000",
                "time_in_force": GTC,
                "self_trade_prevention_type": "maker",
                "client_order_id": "cid-1",
            },
        )
        assert st == 201
        f = await frames(ws, 2)
        d = next(x for x in f if x["type"] == "orderbook_delta")
        assert d["msg"]["side"] == "no" and d["msg"]["price_dollars"] == "0.6000"  # YES scale
        assert d["msg"]["client_order_id"] == "cid-1"
        assert next(x for x in f if x["type"] == "user_order")["msg"]["status"] == "resting"
        mm(sim, t1, "bid", 6000, 100)  # someone lifts 1 of our 3
        await sim.step(1)
        f = await frames(ws, 5)
        types = [x["type"] for x in f]
        for want in ("orderbook_delta", "trade", "fill", "user_order", "market_position"):
            assert want in types, types
        fill = next(x for x in f if x["type"] == "fill")["msg"]
        assert (
            fill["book_side"] == "ask"
            and fill["post_position_fp"] == "-1.00"
            and fill["client_order_id"] == "cid-1"
        )
        pos = next(x for x in f if x["type"] == "market_position")["msg"]
        assert pos["position_fp"] == "-1.00" and pos["position_cost_dollars"] == "0.4000"
    finally:
        await ws.close()
        await c.close()


async def test_heartbeat_ping(sim: Any) -> None:
    c = RawKalshi(sim.rest_url, sim.ws_url, sim.key_id, sim.private_key_pem)
    try:
        async with c.session.ws_connect(
            sim.ws_url, headers=c.headers("GET", "/trade-api/ws/v2"), autoping=False
        ) as ws:
            await sim.step(10)
            m = await ws.receive(timeout=5)
            assert m.type == aiohttp.WSMsgType.PING and m.data == b"heartbeat"
    finally:
        await c.close()


async def test_seq_faults(sim_factory: Any) -> None:
    sim, c, ws, (t1, _, _) = await setup(sim_factory)
    try:
        await ws.send_str(
            json.dumps(
                {
                    "id": 1,
                    "cmd": "subscribe",
                    "params": {"channels": ["orderbook_delta"], "market_ticker": t1},
                }
            )
        )
        await frames(ws, 2)  # subscribed, snapshot (seq 1)

        async def deltas(n: int) -> list[int]:
            for i in range(n):
                mm(sim, t1, "bid", 1000 + 100 * i)
            await sim.step(1)
            out = []
            while True:
                try:
                    m = await ws.receive(timeout=0.05)
                except TimeoutError:
                    return out
                out.append(json.loads(m.data)["seq"])

        sim.faults.skip_seq = 1
        assert await deltas(2) == [3]  # seq 2 never arrives: a gap
        sim.faults.dup_seq = 1
        assert await deltas(2) == [4, 4, 5]
        sim.faults.reorder_seq = 1
        assert await deltas(2) == [7, 6]
        sim.faults.delay_frames_s = 5
        assert await deltas(1) == []
        sim.faults.delay_frames_s = 0
        await sim.step(5)
        assert await deltas(0) == [8]
        sim.faults.drop_ws = 1
        await sim.step(1)
        m = await ws.receive(timeout=5)
        assert m.type in (
            aiohttp.WSMsgType.CLOSED,
            aiohttp.WSMsgType.CLOSE,
            aiohttp.WSMsgType.ERROR,
        )
    finally:
        await ws.close()
        await c.close()


async def test_order_group_updates_channel(sim_factory: Any) -> None:
    _sim, c, ws, (_t1, _, _) = await setup(sim_factory)
    try:
        await ws.send_str(
            json.dumps(
                {"id": 1, "cmd": "subscribe", "params": {"channels": ["order_group_updates"]}}
            )
        )
        await frames(ws, 1)
        _st, g, _ = await c.request(
            "POST", "/portfolio/order_groups/create", {"contracts_limit": 1}
        )
        gid = g["order_group_id"]
        await c.request(
            "PUT", f"/portfolio/order_groups/{gid}/limit", {"contracts_limit_fp": "5.00"}
        )
        await c.request("PUT", f"/portfolio/order_groups/{gid}/trigger")
        f = await frames(ws, 3)
        assert [x["msg"]["event_type"] for x in f] == ["created", "limit_updated", "triggered"]
        assert [x["seq"] for x in f] == [1, 2, 3] and f[1]["msg"]["contracts_limit_fp"] == "5.00"
        assert list(f[0]) == ["type", "sid", "seq", "msg"]
    finally:
        await ws.close()
        await c.close()


async def test_close_determine_settle_lifecycle(sim_factory: Any) -> None:
    sim, c, ws, _ = await setup(sim_factory)
    try:
        t = next(t for t, m in sim.exchange.markets.items() if m.event_ticker.endswith("H1100"))
        await ws.send_str(
            json.dumps(
                {"id": 1, "cmd": "subscribe", "params": {"channels": ["market_lifecycle_v2"]}}
            )
        )
        await frames(ws, 1)
        st, o, _ = await c.request(
            "POST",
            "/portfolio/events/orders",
            {
                "ticker": t,
                "side": "bid",
                "price": "0.0100",
                "count": "1",
                "time_in_force": GTC,
                "self_trade_prevention_type": "maker",
            },
        )
        assert st == 201
        await sim.step(3600)  # 11:00 ET: closed, resting orders canceled
        st, body, _ = await c.request(
            "POST",
            "/portfolio/events/orders",
            {
                "ticker": t,
                "side": "bid",
                "price": "0.0100",
                "count": "1",
                "time_in_force": GTC,
                "self_trade_prevention_type": "maker",
            },
        )
        assert st == 400 and body["error"]["details"] == "MARKET_INACTIVE"
        st, got, _ = await c.get(f"/portfolio/orders/{o['order_id']}")
        assert got["order"]["status"] == "canceled"
        await sim.step(61)
        seen = []
        while True:
            try:
                m = await ws.receive(timeout=0.05)
            except TimeoutError:
                break
            f = json.loads(m.data)
            if f["msg"]["market_ticker"] == t:
                seen.append(f["msg"])
        assert [s["event_type"] for s in seen] == ["determined", "settled"]
        det = seen[0]
        assert det["result"] in ("yes", "no") and det["settlement_value"] in ("1.0000", "0.0000")
        st, mk, _ = await c.get(f"/markets/{t}", signed=False)
        assert (
            mk["market"]["status"] == "finalized"
            and mk["market"]["expiration_value"] == det["expiration_value"]
        )
    finally:
        await ws.close()
        await c.close()


async def test_a_new_event_is_announced_on_the_lifecycle_channel(sim_factory: Any) -> None:
    """§4.4: `event_lifecycle` (event_ticker, exchange_index, title, subtitle,
    collateral_return_type, series_ticker) comes on market_lifecycle_v2, before its markets'
    `created`. Tomorrow's events are listed at 16:00 ET."""
    sim, c, ws, _ = await setup(sim_factory)
    try:
        await ws.send_str(
            json.dumps(
                {"id": 1, "cmd": "subscribe", "params": {"channels": ["market_lifecycle_v2"]}}
            )
        )
        await frames(ws, 1)
        known = set(sim.exchange.events)
        await sim.step(6 * 3600 + 1)  # 10:00 -> 16:00 ET and a second
        new = set(sim.exchange.events) - known
        assert new
        got: list[dict[str, Any]] = []
        while True:
            try:
                m = await ws.receive(timeout=0.05)
            except TimeoutError:
                break
            got.append(json.loads(m.data))
        evs = [f for f in got if f["type"] == "event_lifecycle"]
        assert {f["msg"]["event_ticker"] for f in evs} == new
        assert set(evs[0]["msg"]) == {
            "event_ticker", "exchange_index", "title", "subtitle", "collateral_return_type",
            "series_ticker",
        }  # fmt: skip
        first = evs[0]["msg"]["event_ticker"]
        created = next(
            i for i, f in enumerate(got)
            if f["type"] == "market_lifecycle_v2" and f["msg"]["market_ticker"].startswith(first)
        )  # fmt: skip
        assert got.index(evs[0]) < created
    finally:
        await ws.close()
        await c.close()
