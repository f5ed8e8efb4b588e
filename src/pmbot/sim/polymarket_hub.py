"""The simulator's WebSocket side: /ws/market and /ws/user subscriptions and fan-out.

Speaks the venue's framing: a subscribe frame right after connect, text `PING` answered by
`PONG`, `operation` subscribe/unsubscribe later, frames that are a JSON object or an array.
Fault hooks: `frozen` (connection stays up, PONGs flow, no data: the silent freeze),
`drop_frames` (the next N market frames vanish), `drop_all()` (every socket closes).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

__all__ = ["Hub"]

log = logging.getLogger("pmbot.sim.polymarket")


@dataclass(eq=False)
class _Sub:
    ws: web.WebSocketResponse
    assets: set[str] = field(default_factory=set)
    markets: set[str] = field(default_factory=set)  # user channel: condition ids; empty = all
    owner: str = ""
    custom: bool = False


class Hub:
    """Market and user subscribers; `snapshot(asset)` gives the `book` sent on subscribe."""

    def __init__(
        self,
        snapshot: Callable[[str], dict[str, Any] | None],
        check_auth: Callable[[dict[str, Any]], str | None],
    ) -> None:
        self._snapshot = snapshot
        self._check_auth = check_auth
        self.market_subs: list[_Sub] = []
        self.user_subs: list[_Sub] = []
        self.frozen = False
        self.drop_frames = 0
        self.frames_sent = 0

    async def drop_all(self) -> None:
        for s in [*self.market_subs, *self.user_subs]:
            await s.ws.close()

    # ---- fan-out ----------------------------------------------------------------------------
    async def market(self, msgs: list[dict[str, Any]]) -> None:
        """Send each subscriber the messages about its assets (one array frame)."""
        if self.frozen or not msgs:
            return
        if self.drop_frames > 0:
            self.drop_frames -= 1
            return
        for s in list(self.market_subs):
            out = []
            for m in msgs:
                et = m["event_type"]
                if et in ("best_bid_ask", "new_market", "market_resolved") and not s.custom:
                    continue
                if et == "price_change":
                    pcs = [p for p in m["price_changes"] if p["asset_id"] in s.assets]
                    if pcs:
                        out.append({**m, "price_changes": pcs})
                elif m.get("asset_id") in s.assets or et in ("new_market", "market_resolved"):
                    out.append(m)
            await self._send(s, out)

    async def user(self, owner: str, market: str, msgs: list[dict[str, Any]]) -> None:
        for s in list(self.user_subs):
            if s.owner == owner and (not s.markets or market in s.markets):
                await self._send(s, msgs)

    async def _send(self, s: _Sub, msgs: list[dict[str, Any]]) -> None:
        if not msgs or s.ws.closed:
            return
        try:
            await s.ws.send_str(
                json.dumps(msgs[0] if len(msgs) == 1 else msgs, separators=(",", ":"))
            )
            self.frames_sent += 1
        except (ConnectionError, RuntimeError):
            pass

    # ---- handlers ---------------------------------------------------------------------------
    async def handle_market(self, request: web.Request) -> web.WebSocketResponse:
        return await self._serve(request, user=False)

    async def handle_user(self, request: web.Request) -> web.WebSocketResponse:
        return await self._serve(request, user=True)

    async def _serve(self, request: web.Request, *, user: bool) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        sub = _Sub(ws)
        subs = self.user_subs if user else self.market_subs
        subs.append(sub)
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                if msg.data == "PING":
                    try:
                        await ws.send_str("PONG")
                    except (ConnectionError, RuntimeError):
                        break
                    continue
                try:
                    req = json.loads(msg.data)
                except ValueError:
                    await ws.send_str(json.dumps({"error": "invalid json"}))
                    continue
                if not isinstance(req, dict):
                    continue
                if user:
                    await self._user_req(sub, req)
                else:
                    await self._market_req(sub, req)
        finally:
            subs.remove(sub)
        return ws

    async def _market_req(self, sub: _Sub, req: dict[str, Any]) -> None:
        assets = [str(a) for a in req.get("assets_ids") or []]
        if "custom_feature_enabled" in req:
            sub.custom = bool(req["custom_feature_enabled"])
        if req.get("operation") == "unsubscribe":
            sub.assets.difference_update(assets)
            return
        sub.assets.update(assets)
        if req.get("initial_dump", True) and not self.frozen:
            books = [b for b in (self._snapshot(a) for a in assets) if b is not None]
            await self._send(sub, books)

    async def _user_req(self, sub: _Sub, req: dict[str, Any]) -> None:
        markets = [str(m) for m in req.get("markets") or []]
        if req.get("operation") == "unsubscribe":
            sub.markets.difference_update(markets)
            return
        if not sub.owner:
            owner = self._check_auth(req.get("auth") or {})
            if owner is None:
                await sub.ws.send_str(json.dumps({"error": "invalid auth"}))
                await sub.ws.close()
                return
            sub.owner = owner
        sub.markets.update(markets)
