"""The simulator's WebSocket side: commands, subscriptions, per-sid seq, and channel frames.

One `WsConn` per socket, owned by one API key's user. Frames are queued as bytes and written
by one writer task per connection, so the matching path never awaits a socket. Data frames
pass through the fault switches (skip/duplicate/reorder seq, delay) on the way out.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

from pmbot.sim.kalshi_frames import snapshot_frame, ticker_msg
from pmbot.sim.kalshi_wire import dumps_ws

if TYPE_CHECKING:
    from pmbot.sim.kalshi_server import KalshiSim

__all__ = ["CHANNELS", "Sub", "WsConn", "ws_handler"]

log = logging.getLogger("pmbot.sim")

CHANNELS = {
    "orderbook_delta",
    "ticker",
    "trade",
    "fill",
    "market_positions",
    "user_orders",
    "market_lifecycle_v2",
    "order_group_updates",
}
MARKET_FILTERED = {"orderbook_delta", "ticker", "trade", "fill", "market_positions", "user_orders"}


@dataclass(slots=True, eq=False)
class Sub:
    sid: int
    channel: str
    tickers: set[str] | None  # None = all markets
    use_yes_price: bool = False
    seq: int = 0


@dataclass(slots=True, eq=False)
class WsConn:
    ws: web.WebSocketResponse
    user: str
    subs: dict[int, Sub] = field(default_factory=dict)
    next_sid: int = 1
    queue: asyncio.Queue[bytes | None] = field(default_factory=asyncio.Queue)
    held: bytes | None = None  # a frame held back for a reorder fault
    sent: int = 0

    def send(self, obj: Any) -> None:
        self.queue.put_nowait(dumps_ws(obj))

    def by_channel(self, channel: str) -> list[Sub]:
        return [s for s in self.subs.values() if s.channel == channel]


def _err(conn: WsConn, cid: Any, code: int, msg: str, **extra: Any) -> None:
    body: dict[str, Any] = {"code": code, "msg": msg}
    body.update(extra)
    conn.send({"id": cid, "type": "error", "msg": body})


# -- commands -------------------------------------------------------------------------------
def _tickers(params: dict[str, Any]) -> list[str] | None:
    if "market_ticker" in params:
        return [params["market_ticker"]]
    if "market_tickers" in params:
        return list(params["market_tickers"])
    return None


def handle_command(sim: KalshiSim, conn: WsConn, raw: str) -> None:
    try:
        cmd = json.loads(raw)
        if not isinstance(cmd, dict):
            raise ValueError
    except ValueError:
        _err(conn, 0, 1, "Unable to process message")
        return
    cid = cmd.get("id", 0)
    name = cmd.get("cmd")
    params = cmd.get("params")
    if name == "list_subscriptions":
        conn.send(
            {
                "id": cid,
                "type": "ok",
                "msg": [{"channel": s.channel, "sid": s.sid} for s in conn.subs.values()],
            }
        )
        return
    if name not in ("subscribe", "unsubscribe", "update_subscription"):
        _err(conn, cid, 5, "Unknown command")
        return
    if not isinstance(params, dict):
        _err(conn, cid, 2, "Params required")
        return
    if name == "subscribe":
        _subscribe(sim, conn, cid, params)
    elif name == "unsubscribe":
        sids = params.get("sids")
        if not sids:
            _err(conn, cid, 4, "Subscription IDs required")
            return
        for sid in sids:
            s = conn.subs.pop(sid, None)
            if s is None:
                _err(conn, cid, 7, "Unknown subscription ID")
                continue
            sim.hub.unindex(conn, s)
            s.seq += 1
            conn.send({"id": cid, "sid": sid, "seq": s.seq, "type": "unsubscribed"})
    else:
        _update(sim, conn, cid, params)


def _subscribe(sim: KalshiSim, conn: WsConn, cid: Any, params: dict[str, Any]) -> None:
    chans = params.get("channels")
    if not chans or not isinstance(chans, list):
        _err(conn, cid, 3, "Channels required")
        return
    tickers = _tickers(params)
    for ch in chans:
        if ch not in CHANNELS:
            _err(conn, cid, 8, "Unknown channel name")
            return
    if "orderbook_delta" in chans and not tickers:
        _err(conn, cid, 14, "Market Ticker required")
        return
    for t in tickers or []:
        if t not in sim.exchange.markets:
            _err(conn, cid, 16, "Market not found", market_ticker=t)
            return
    after: list[dict[str, Any]] = []  # snapshots follow every `subscribed`, as recorded
    for ch in chans:
        existing = conn.by_channel(ch)
        if existing:  # idempotent: add tickers to the existing subscription
            s = existing[0]
            new = [t for t in (tickers or []) if s.tickers is not None and t not in s.tickers]
            if s.tickers is not None and new:
                s.tickers.update(new)
                sim.hub.index(conn, s, new)
                if ch == "orderbook_delta":
                    after.extend(snapshot_frame(sim, s, t) for t in new)
            conn.send({"type": "subscribed", "id": cid, "msg": {"channel": ch, "sid": s.sid}})
            continue
        s = Sub(
            conn.next_sid,
            ch,
            set(tickers) if (tickers and ch in MARKET_FILTERED) else None,
            bool(params.get("use_yes_price", False)),
        )
        conn.next_sid += 1
        conn.subs[s.sid] = s
        sim.hub.index(conn, s, list(s.tickers) if s.tickers is not None else None)
        conn.send({"type": "subscribed", "id": cid, "msg": {"channel": ch, "sid": s.sid}})
        if ch == "orderbook_delta":
            after.extend(snapshot_frame(sim, s, t) for t in tickers or [])
        elif ch == "ticker" and params.get("send_initial_snapshot"):
            after.extend(
                {"type": "ticker", "sid": s.sid, "msg": ticker_msg(sim, t, sim.now_ns())}
                for t in tickers or []
            )
    for f in after:
        conn.send(f)


def _update(sim: KalshiSim, conn: WsConn, cid: Any, params: dict[str, Any]) -> None:
    sids = params.get("sids")
    sid = params.get("sid")
    if sid is None:
        if not sids or len(sids) != 1:
            _err(conn, cid, 12, "Exactly one subscription ID is required")
            return
        sid = sids[0]
    s = conn.subs.get(sid)
    if s is None:
        _err(conn, cid, 7, "Unknown subscription ID")
        return
    action = params.get("action")
    if not action:
        _err(conn, cid, 15, "Action required")
        return
    tickers = _tickers(params) or []
    if action not in ("add_markets", "delete_markets", "get_snapshot"):
        _err(conn, cid, 13, "Unsupported action")
        return
    if not tickers:
        _err(conn, cid, 14, "Market Ticker required")
        return
    for t in tickers:
        if t not in sim.exchange.markets:
            _err(conn, cid, 16, "Market not found", market_ticker=t)
            return
    if s.tickers is None:
        s.tickers = set()
    if action == "add_markets":
        new = [t for t in tickers if t not in s.tickers]
        s.tickers.update(new)
        sim.hub.index(conn, s, new)
        s.seq += 1
        conn.send(
            {
                "id": cid,
                "sid": s.sid,
                "seq": s.seq,
                "type": "ok",
                "msg": {"market_tickers": sorted(s.tickers)},
            }
        )
        if s.channel == "orderbook_delta":
            for t in new:
                conn.send(snapshot_frame(sim, s, t))
    elif action == "delete_markets":
        s.tickers.difference_update(tickers)
        sim.hub.unindex(conn, s, tickers)
        s.seq += 1
        conn.send(
            {
                "id": cid,
                "sid": s.sid,
                "seq": s.seq,
                "type": "ok",
                "msg": {"market_tickers": sorted(s.tickers)},
            }
        )
    else:
        if s.channel != "orderbook_delta":
            _err(conn, cid, 13, "Unsupported action")
            return
        s.seq += 1
        conn.send(
            {
                "id": cid,
                "sid": s.sid,
                "seq": s.seq,
                "type": "ok",
                "msg": {"market_tickers": sorted(s.tickers)},
            }
        )
        for t in tickers:
            conn.send(snapshot_frame(sim, s, t))


async def _writer(conn: WsConn) -> None:
    while True:
        data = await conn.queue.get()
        if data is None:
            return
        try:
            await conn.ws.send_str(data.decode())
        except (ConnectionResetError, RuntimeError):
            return
        conn.sent += 1


async def ws_handler(sim: KalshiSim, request: web.Request) -> web.StreamResponse:
    """Authenticate the upgrade like REST (signed GET /trade-api/ws/v2), then serve commands."""
    try:
        key = sim.auth.verify(request.headers, "GET", request.path)
    except Exception as e:  # ExchangeError from auth: answer the HTTP error instead of 101
        status = getattr(e, "status", 401)
        return web.Response(
            status=status,
            body=sim.rest_body(getattr(e, "body", {})),
            content_type="application/json",
        )
    ws = web.WebSocketResponse(autoping=True, heartbeat=None, max_msg_size=1 << 20)
    await ws.prepare(request)
    conn = WsConn(ws, key.user)
    sim.hub.conns.add(conn)
    writer = asyncio.create_task(_writer(conn))
    log.info("ws connected user=%s", key.user)
    try:
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                sim.catch_up()
                handle_command(sim, conn, msg.data)
            elif msg.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSE):
                break
    finally:
        sim.hub.drop(conn)
        conn.queue.put_nowait(None)
        await asyncio.gather(writer, return_exceptions=True)
    return ws
