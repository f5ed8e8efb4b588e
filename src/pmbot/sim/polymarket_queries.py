"""The simulator's account routes: open orders, trades, balances, the heartbeat switch.

A mixin of polymarket_trading.Trading (it reads `self.sim`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from aiohttp import web

from pmbot.sim.polymarket_marketdata import _json
from pmbot.sim.polymarket_views import order_json, trade_json

if TYPE_CHECKING:
    from pmbot.sim.polymarket_server import PolySim

__all__ = ["QueryRoutes"]


class QueryRoutes:
    sim: PolySim

    # ---- queries -------------------------------------------------------------------------------
    async def orders(self, request: web.Request) -> web.Response:
        rec, _ = await self.sim.l2(request)
        q = request.query
        os_ = [
            o
            for o in self.sim.engine.live(rec.api_key)
            if (not q.get("id") or o.id == q["id"])
            and (not q.get("market") or o.market == q["market"])
            and (not q.get("asset_id") or o.token_id == q["asset_id"])
        ]
        items = [order_json(o, self.sim.markets[o.market]) for o in os_]
        return _json(self.sim.page(items, q.get("next_cursor", "")))

    async def order(self, request: web.Request) -> web.Response:
        rec, _ = await self.sim.l2(request)
        o = self.sim.engine.orders.get(request.match_info["id"])
        if o is None or o.owner != rec.api_key:
            return _json({"error": "Order not found"}, 404)
        return _json(order_json(o, self.sim.markets[o.market]))

    async def get_trades(self, request: web.Request) -> web.Response:
        rec, _ = await self.sim.l2(request)
        q, me = request.query, rec.api_key
        ts = [
            t
            for t in self.sim.trades.values()
            if me in (t.taker.owner, t.maker.owner)
            and (not q.get("id") or t.id == q["id"])
            and (not q.get("market") or t.market == q["market"])
            and (not q.get("asset_id") or q["asset_id"] in (t.taker.token_id, t.maker.token_id))
            # `after` / `before`: unix seconds bounds on the match time
            and (not q.get("after") or t.match_ms >= int(q["after"]) * 1000)
            and (not q.get("before") or t.match_ms < int(q["before"]) * 1000)
        ]
        items = [trade_json(t, me, self.sim.markets[t.market]) for t in ts]
        return _json(self.sim.page(items, q.get("next_cursor", "")))

    async def balance(self, request: web.Request) -> web.Response:
        rec, _ = await self.sim.l2(request)
        q, s = request.query, self.sim
        addr = rec.address
        st = q.get("signature_type", "0")
        if st in ("1", "2", "3"):
            # a proxy, Safe or deposit wallet: the funds are the wallet's, which the key owns
            # (the one its orders of that type named; else its only wallet)
            owned = [w for w, o in s.wallet_owners.items() if o == addr.lower()]
            funder = s.funders.get((rec.api_key, int(st)))
            if funder is not None:
                addr = funder
            elif len(owned) == 1:
                addr = owned[0]
        if q.get("asset_type", "COLLATERAL").upper() == "COLLATERAL":
            bal = s.accounts.cash_of(addr)
        else:
            bal = s.accounts.shares_of(addr, q.get("token_id", ""))
        return _json({"balance": str(bal), "allowances": {"exchange": str(2**255)}})

    async def heartbeat(self, request: web.Request) -> web.Response:
        rec, body = await self.sim.l2(request)
        got = str((json.loads(body or b"{}") or {}).get("heartbeat_id", ""))
        s = self.sim
        cur = s.heartbeats.get(rec.api_key)
        if cur is not None and got != cur[0]:
            return _json({"error_msg": "Invalid Heartbeat ID", "heartbeat_id": cur[0]}, 400)
        if cur is None and got:
            return _json({"error_msg": "Invalid Heartbeat ID", "heartbeat_id": ""}, 400)
        nxt = s.next_id("hb-")
        s.heartbeats[rec.api_key] = (nxt, s.clock.monotonic() + s.heartbeat_timeout)
        return _json({"heartbeat_id": nxt})

    async def order_scoring(self, request: web.Request) -> web.Response:
        await self.sim.l2(request)
        return _json({"scoring": False})

    async def orders_scoring(self, request: web.Request) -> web.Response:
        _, body = await self.sim.l2(request)
        ids = json.loads(body or b"[]")
        return _json({str(i): False for i in ids} if isinstance(ids, list) else {})
