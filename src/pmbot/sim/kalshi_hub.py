"""Fan-out of exchange events to WebSocket subscriptions, with the seq fault switches.

Subscriptions are indexed by (channel, ticker) so a delta on a market nobody watches costs a
dict lookup. Private channels (fill, user_orders, market_positions) go only to the owner's
connections.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import TYPE_CHECKING, Any

from pmbot.core.money import fmt_count
from pmbot.sim.engine import BookChange, Fill, Order
from pmbot.sim.kalshi_frames import (
    delta_msg,
    event_lifecycle_msg,
    fill_msg,
    lifecycle_msg,
    position_msg,
    ticker_msg,
    trade_msg,
    user_order_msg,
)
from pmbot.sim.kalshi_wire import dumps_ws
from pmbot.sim.kalshi_ws import Sub, WsConn

if TYPE_CHECKING:
    from pmbot.sim.kalshi_server import KalshiSim

__all__ = ["Hub"]


class Hub:
    def __init__(self, sim: KalshiSim) -> None:
        self.sim = sim
        self.conns: set[WsConn] = set()
        self.by_ticker: dict[tuple[str, str], dict[int, tuple[WsConn, Sub]]] = {}
        self.all_markets: dict[str, dict[int, tuple[WsConn, Sub]]] = {}
        self.delayed: list[tuple[int, WsConn, bytes]] = []
        self.frames_out = 0
        # (sim ts_ns, kind, ticker): book snapshots sent, seq frames skipped, sockets dropped
        self.journal: deque[tuple[int, str, str]] = deque(maxlen=1_000_000)
        self.tasks: set[asyncio.Future[Any]] = set()

    def _spawn(self, coro: Any) -> None:
        """Run a socket-side coroutine without blocking the matching path; keep a reference."""
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # -- index ----------------------------------------------------------------------------
    def index(self, conn: WsConn, s: Sub, tickers: list[str] | None) -> None:
        key = id(s)
        if tickers is None:
            self.all_markets.setdefault(s.channel, {})[key] = (conn, s)
            return
        for t in tickers:
            self.by_ticker.setdefault((s.channel, t), {})[key] = (conn, s)

    def unindex(self, conn: WsConn, s: Sub, tickers: list[str] | None = None) -> None:
        key = id(s)
        self.all_markets.get(s.channel, {}).pop(key, None)
        for t in tickers if tickers is not None else list(s.tickers or ()):
            d = self.by_ticker.get((s.channel, t))
            if d is not None:
                d.pop(key, None)

    def drop(self, conn: WsConn) -> None:
        for s in list(conn.subs.values()):
            self.unindex(conn, s)
        conn.subs.clear()
        self.conns.discard(conn)

    def subs(self, channel: str, ticker: str) -> list[tuple[WsConn, Sub]]:
        out = list(self.by_ticker.get((channel, ticker), {}).values())
        out.extend(self.all_markets.get(channel, {}).values())
        return out

    # -- sending --------------------------------------------------------------------------
    def _data(self, conn: WsConn, s: Sub, frame_type: str, msg: dict[str, Any], ts_ns: int) -> None:
        """A seq-carrying frame, through the fault switches."""
        f = self.sim.faults
        s.seq += 1
        data = dumps_ws({"type": frame_type, "sid": s.sid, "seq": s.seq, "msg": msg})
        if f.take("skip_seq"):
            self.journal.append((ts_ns, "skip_seq", msg.get("market_ticker", "")))
            return
        copies = 2 if f.take("dup_seq") else 1
        if conn.held is not None:
            held, conn.held = conn.held, None
            self._put(conn, data, ts_ns, copies)
            self._put(conn, held, ts_ns, 1)
            return
        if f.take("reorder_seq"):
            conn.held = data
            return
        self._put(conn, data, ts_ns, copies)

    def _put(self, conn: WsConn, data: bytes, ts_ns: int, copies: int = 1) -> None:
        delay = self.sim.faults.delay_frames_s
        for _ in range(copies):
            if delay > 0:
                self.delayed.append((ts_ns + int(delay * 1e9), conn, data))
            else:
                conn.queue.put_nowait(data)
                self.frames_out += 1

    def _plain(self, conn: WsConn, obj: dict[str, Any], ts_ns: int) -> None:
        self._put(conn, dumps_ws(obj), ts_ns)

    def release_delayed(self, ts_ns: int) -> None:
        if not self.delayed:
            return
        keep = []
        for item in self.delayed:
            if item[0] <= ts_ns:
                item[1].queue.put_nowait(item[2])
                self.frames_out += 1
            else:
                keep.append(item)
        self.delayed = keep

    def ping_all(self) -> None:
        for c in list(self.conns):
            if not c.ws.closed:
                self._spawn(self._ping(c))

    @staticmethod
    async def _ping(c: WsConn) -> None:
        with contextlib.suppress(ConnectionResetError, RuntimeError):
            await c.ws.ping(b"heartbeat")

    async def flush(self) -> None:
        """Wait until every connection's queue has been written to its socket."""
        for _ in range(1000):
            if all(c.queue.empty() or c.ws.closed for c in self.conns):
                break
            await asyncio.sleep(0)
        await asyncio.sleep(0)

    async def drop_all(self) -> None:
        """Fault: abruptly close every client socket."""
        for c in list(self.conns):
            tr = c.ws._req.transport if c.ws._req is not None else None
            if tr is not None:
                tr.abort()
            self.drop(c)

    async def close_all(self) -> None:
        for c in list(self.conns):
            self.drop(c)
            c.queue.put_nowait(None)
            await c.ws.close()

    # -- dispatch -------------------------------------------------------------------------
    def dispatch(self, items: list[tuple[str, Any]], ts_ns: int) -> None:
        if self.sim.faults.drop_ws and self.conns:
            self.sim.faults.drop_ws = 0
            self.journal.append((ts_ns, "drop_ws", ""))
            self._spawn(self.drop_all())
        if not self.conns:
            return
        dirty: set[str] = set()
        touched: set[tuple[str, str]] = set()
        for kind, p in items:
            if kind == "delta":
                c: BookChange = p
                dirty.add(c.ticker)
                for conn, s in self.subs("orderbook_delta", c.ticker):
                    self._data(
                        conn,
                        s,
                        "orderbook_delta",
                        delta_msg(self.sim, c, s.use_yes_price, c.user == conn.user),
                        ts_ns,
                    )
            elif kind == "trade":
                f: Fill = p
                dirty.add(f.ticker)
                for conn, s in self.subs("trade", f.ticker):
                    self._plain(conn, {"type": "trade", "sid": s.sid, "msg": trade_msg(f)}, ts_ns)
            elif kind == "fill":
                o, rec = p
                touched.add((o.user, o.ticker))
                for conn, s in self.subs("fill", o.ticker):
                    if conn.user == o.user and not self.sim.faults.take("lost_fills"):
                        self._plain(
                            conn, {"type": "fill", "sid": s.sid, "msg": fill_msg(o, rec)}, ts_ns
                        )
            elif kind == "order":
                od: Order = p
                for conn, s in self.subs("user_orders", od.ticker):
                    if conn.user == od.user:
                        self._plain(
                            conn,
                            {"type": "user_order", "sid": s.sid, "msg": user_order_msg(od)},
                            ts_ns,
                        )
            elif kind == "settlement":
                user, rec = p
                touched.add((user, rec.ticker))
            elif kind == "group":
                gev, g = p
                gmsg: dict[str, Any] = {"event_type": gev, "order_group_id": g.group_id}
                if gev == "limit_updated":
                    gmsg["contracts_limit_fp"] = fmt_count(g.limit)
                gmsg["ts_ms"] = ts_ns // 1_000_000
                for conn, s in self.subs("order_group_updates", ""):
                    if conn.user == g.user:
                        self._data(conn, s, "order_group_updates", gmsg, ts_ns)
            elif kind == "event":  # a new event: `event_lifecycle` on the lifecycle channel
                emsg = event_lifecycle_msg(p)
                for conn, s in self.subs("market_lifecycle_v2", p.event_ticker):
                    self._plain(conn, {"type": "event_lifecycle", "sid": s.sid, "msg": emsg}, ts_ns)
            elif kind == "lifecycle":
                ev, m = p
                for conn, s in self.subs("market_lifecycle_v2", m.ticker):
                    self._plain(
                        conn,
                        {"type": "market_lifecycle_v2", "sid": s.sid, "msg": lifecycle_msg(ev, m)},
                        ts_ns,
                    )
        for t in dirty:
            subs = self.subs("ticker", t)
            if subs:
                msg = ticker_msg(self.sim, t, ts_ns)
                for conn, s in subs:
                    self._plain(conn, {"type": "ticker", "sid": s.sid, "msg": msg}, ts_ns)
        for user, t in touched:
            for conn, s in self.subs("market_positions", t):
                if conn.user == user:
                    acct = self.sim.exchange.ledger.accounts[user]
                    self._plain(
                        conn,
                        {
                            "type": "market_position",
                            "sid": s.sid,
                            "msg": position_msg(t, acct.positions.get(t)),
                        },
                        ts_ns,
                    )
