"""Sans-I/O Kalshi WebSocket protocol: commands, subscriptions, per-sid seq, resync, liveness.

The shell (ws.py) feeds received text frames to `receive(data, now_ns)`, sends whatever
`data_to_send()` returns, calls `connected`/`disconnected` around the socket, and calls
`tick(now_ns)` on a timer. Everything here is deterministic: no clock, no I/O, no asyncio.

Books. Every orderbook_delta subscription (sid) carries a `seq` that must grow by one. On a
gap, a duplicate/old seq, an undecodable frame's aftermath or an error code 10/25, every book
of that sid is marked stale at once (`BookStale`), deltas for it are held back (dropped:
the fresh snapshot already contains them) and a resync starts: `get_snapshot` first, then
unsubscribe + subscribe, then a reconnect, each stage bounded by `resync_timeout_s`. A book is
fresh again only when its new snapshot arrives. The stream resubscribes to what is *desired*
(`want`/`unwant`), never to what happened to be subscribed.

Fast path. With `books` (ticker -> BinaryBook shared with the state) deltas are applied in
place through a price-string -> tick cache and `on_book_change(ticker, ts_ns)` is called,
skipping the BookDelta allocation; otherwise each delta goes to `sink` as a BookDelta.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass, field

import msgspec

from pmbot.core import events as ev
from pmbot.core.book import BinaryBook
from pmbot.errors import BookError, ProtocolViolation, UnitError
from pmbot.venues.kalshi import convert
from pmbot.venues.kalshi import wire as w

__all__ = [
    "ALL_MARKETS",
    "BOOK",
    "FILL",
    "LIFECYCLE",
    "ORDER_GROUPS",
    "POSITIONS",
    "TICKER",
    "TRADE",
    "USER_ORDERS",
    "KalshiStream",
    "StreamStats",
]

log = logging.getLogger("pmbot.venues.kalshi.stream")

BOOK = "orderbook_delta"
TICKER = "ticker"
TRADE = "trade"
FILL = "fill"
POSITIONS = "market_positions"
USER_ORDERS = "user_orders"
LIFECYCLE = "market_lifecycle_v2"
ORDER_GROUPS = "order_group_updates"  # account-wide, with seq
ALL_MARKETS = None  # desired ticker set meaning "no market filter"
_NO_FILTER = frozenset({LIFECYCLE, ORDER_GROUPS})
_TERMINAL_CODES = frozenset({10, 25})
_RETRY_CODES = frozenset({17, 18, 27})  # internal error, command timeout, too many requests
_enc = msgspec.json.Encoder()


@dataclass(slots=True)
class StreamStats:
    frames: int = 0
    gaps: int = 0
    duplicates: int = 0
    bad_frames: int = 0
    snapshots: int = 0
    deltas: int = 0
    held: int = 0
    resyncs: int = 0
    resubscribes: int = 0
    reconnects_requested: int = 0
    errors: int = 0


@dataclass(slots=True)
class _Sub:
    channel: str
    sid: int
    tickers: set[str]
    last_seq: int | None = None


@dataclass(slots=True)
class _Cmd:
    cmd: str
    channel: str = ""
    tickers: tuple[str, ...] = ()
    sid: int | None = None


@dataclass(slots=True)
class _Resync:
    stage: int  # 1 get_snapshot, 2 resubscribe
    deadline_ns: int
    tickers: set[str] = field(default_factory=set)


class KalshiStream:
    """The Kalshi WS protocol state for one logical stream across reconnects."""

    def __init__(
        self,
        sink: Callable[[ev.Event], None],
        *,
        use_yes_price: bool = True,
        resync_timeout_s: float = 5.0,
        silence_timeout_s: float = 30.0,
        resync_on_duplicate: bool = True,
        books: MutableMapping[str, BinaryBook] | None = None,
        on_book_change: Callable[[str, int], None] | None = None,
        on_market_data: Callable[[w.TickerFrame | w.TradeFrame], None] | None = None,
        venue: str = "kalshi",
    ) -> None:
        self.sink = sink
        self.use_yes_price = use_yes_price
        self.resync_timeout_ns = int(resync_timeout_s * 1e9)
        self.silence_timeout_ns = int(silence_timeout_s * 1e9)
        self.resync_on_duplicate = resync_on_duplicate
        self.books = books
        self.on_book_change = on_book_change
        self.on_market_data = on_market_data  # public ticker/trade frames (no domain event)
        self.venue = venue
        self.desired: dict[str, set[str] | None] = {}
        self.stats = StreamStats()
        self.reconnect_reason: str | None = None
        self.connected_ = False
        self._conv = convert.DeltaConverter(yes_scale=use_yes_price)
        # ticker -> (YES price-string -> tick, NO price-string -> tick, book): direct mode only
        self._ticks: dict[str, tuple[dict[str, int], dict[str, int], BinaryBook]] = {}
        self._counts = self._conv._counts
        self._up_reason = "connected"  # then "reconnected" on every later connect
        self._reset_connection()

    # ---- connection lifecycle ---------------------------------------------------------
    def _reset_connection(self) -> None:
        self._out: list[bytes] = []
        self._next_id = 1
        self._pending: dict[int, _Cmd] = {}
        self._subs: dict[int, _Sub] = {}
        self._by_channel: dict[str, int] = {}
        self._book_sid: dict[str, int] = {}
        self._fresh: dict[str, bool] = {}
        self._resync: dict[int, _Resync] = {}
        self._sub_deadline: dict[int, int] = {}  # subscribe command id -> answer due (ns)
        self._last_rx_ns = 0

    def connected(self, now_ns: int) -> None:
        """A new socket is open: subscribe to everything desired."""
        self._reset_connection()
        self.connected_ = True
        self.reconnect_reason = None
        self._last_rx_ns = now_ns
        # "reconnected" tells the order manager to rebuild what the outage hid (fills,
        # order changes, the exchange's own cancels: protocol §4.1)
        self.sink(ev.ConnectionState(now_ns, self.venue, "ws", True, self._up_reason))
        self._up_reason = "reconnected"
        for channel, tickers in self.desired.items():
            if tickers is None or tickers:
                self._subscribe(channel, tickers, now_ns)

    def disconnected(self, now_ns: int, reason: str = "") -> None:
        """The socket is gone: every book is stale until its next snapshot."""
        was = self.connected_
        self.connected_ = False
        for t in self.desired.get(BOOK) or ():
            self._mark_stale(t, now_ns, f"disconnected: {reason}" if reason else "disconnected")
        self._reset_connection()
        if was:
            self.sink(ev.ConnectionState(now_ns, self.venue, "ws", False, reason))

    def data_to_send(self) -> list[bytes]:
        out, self._out = self._out, []
        return out

    def note_alive(self, now_ns: int) -> None:
        """A ping/pong or any frame arrived (liveness)."""
        self._last_rx_ns = now_ns

    # ---- desired subscriptions ----------------------------------------------------------
    def want(
        self, channel: str, tickers: Iterable[str] | None = ALL_MARKETS, now_ns: int = 0
    ) -> None:
        """Desire a channel (for these markets, or all). Sends commands if connected."""
        if channel == BOOK and tickers is None:
            raise ValueError("orderbook_delta needs market tickers")
        new = None if tickers is None or channel in _NO_FILTER else set(tickers)
        cur = self.desired.get(channel, set())
        if new is None:
            self.desired[channel] = None
            if self.connected_ and channel not in self._by_channel:
                self._subscribe(channel, None, now_ns)
            return
        if cur is None:
            return  # already subscribed to all markets
        add = new - cur
        if not add:
            return
        cur |= add
        self.desired[channel] = cur
        if not self.connected_:
            return
        sid = self._by_channel.get(channel)
        if sid is None:
            if not any(
                c.cmd == "subscribe" and c.channel == channel for c in self._pending.values()
            ):
                self._subscribe(channel, cur, now_ns)
            return
        if channel == BOOK:
            for t in add:
                self._fresh[t] = False
                self._book_sid[t] = sid
        self._subs[sid].tickers |= add
        self._send(
            "update_subscription",
            {"sids": [sid], "action": "add_markets", "market_tickers": sorted(add)},
            _Cmd("add", channel, tuple(add), sid),
        )

    def unwant(self, channel: str, tickers: Iterable[str] | None = None, now_ns: int = 0) -> None:
        """Stop wanting some markets of a channel (or the whole channel)."""
        cur = self.desired.get(channel)
        if channel not in self.desired:
            return
        drop = set(cur or ()) if tickers is None else set(tickers) & set(cur or ())
        if tickers is None or cur is None:
            self.desired.pop(channel)
            remaining: set[str] = set()
        else:
            cur -= drop
            remaining = cur
        for t in drop if channel == BOOK else ():
            self._mark_stale(t, now_ns, "unsubscribed")
            self._book_sid.pop(t, None)
            self._fresh.pop(t, None)
        sid = self._by_channel.get(channel)
        if sid is None or not self.connected_:
            return
        if not remaining:
            self._send("unsubscribe", {"sids": [sid]}, _Cmd("unsubscribe", channel, (), sid))
            self._drop_sub(sid)
        elif drop:
            self._subs[sid].tickers -= drop
            self._send(
                "update_subscription",
                {"sids": [sid], "action": "delete_markets", "market_tickers": sorted(drop)},
                _Cmd("delete", channel, tuple(drop), sid),
            )

    def list_subscriptions(self) -> None:
        self._send("list_subscriptions", None, _Cmd("list"))

    def is_fresh(self, ticker: str) -> bool:
        return self._fresh.get(ticker, False)

    # ---- commands -------------------------------------------------------------------------
    def _send(self, cmd: str, params: dict[str, object] | None, meta: _Cmd) -> int:
        cid = self._next_id
        self._next_id += 1
        self._pending[cid] = meta
        body: dict[str, object] = {"id": cid, "cmd": cmd}
        if params is not None:
            body["params"] = params
        self._out.append(_enc.encode(body))
        return cid

    def _subscribe(self, channel: str, tickers: set[str] | None, now_ns: int) -> None:
        params: dict[str, object] = {"channels": [channel]}
        if tickers is not None and channel not in _NO_FILTER:
            params["market_tickers"] = sorted(tickers)
        if channel == BOOK:
            params["use_yes_price"] = self.use_yes_price  # always explicit: the default will flip
            for t in tickers or ():
                self._fresh[t] = False
        elif channel == TICKER:
            params["send_initial_snapshot"] = True
        cid = self._send(
            "subscribe", params, _Cmd("subscribe", channel, tuple(sorted(tickers or ())))
        )
        self._sub_deadline[cid] = now_ns + self.resync_timeout_ns
        log.info(
            "kalshi ws subscribe channel=%s markets=%s",
            channel,
            "all" if tickers is None else len(tickers),
        )

    def _drop_sub(self, sid: int) -> None:
        sub = self._subs.pop(sid, None)
        self._resync.pop(sid, None)
        if sub and self._by_channel.get(sub.channel) == sid:
            del self._by_channel[sub.channel]

    # ---- receiving ------------------------------------------------------------------------
    def receive(self, data: bytes | str, now_ns: int) -> None:
        """Process one text frame."""
        self._last_rx_ns = now_ns
        self.stats.frames += 1
        if data[:25] in _DELTA_PREFIXES:  # hot path: skip the tagged union
            try:
                f = _DELTA_DECODER.decode(data)
            except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError):
                f = None
            if f is not None:
                self._on_delta(f, now_ns)
                return
        try:
            frame = w.decode_frame(data)
        except ProtocolViolation as e:
            self.stats.bad_frames += 1
            log.warning("kalshi ws undecodable frame error=%s", e)
            return  # a lost seq shows up as a gap on the next frame of its sid
        t = type(frame)
        if t is w.OrderbookDelta:
            self._on_delta(frame, now_ns)  # type: ignore[arg-type]
        elif t is w.OrderbookSnapshot:
            self._on_snapshot(frame, now_ns)  # type: ignore[arg-type]
        else:
            self._on_other(frame, now_ns)

    def _seq_ok(self, sub: _Sub, seq: int, now_ns: int) -> bool:
        """Check a data seq; False when the frame must be dropped."""
        last = sub.last_seq
        if last is None or seq == last + 1:
            sub.last_seq = seq
            return True
        if seq > last + 1:
            self.stats.gaps += 1
            log.warning("kalshi ws seq gap sid=%d expected=%d got=%d", sub.sid, last + 1, seq)
            sub.last_seq = seq
            self._start_resync(sub, now_ns, "seq gap")
            return True
        self.stats.duplicates += 1
        log.warning("kalshi ws duplicate/old seq sid=%d last=%d got=%d", sub.sid, last, seq)
        if self.resync_on_duplicate and sub.sid not in self._resync:
            self._start_resync(sub, now_ns, "duplicate seq")
        return False

    def _on_delta(self, f: w.OrderbookDelta, now_ns: int) -> None:
        sub = self._subs.get(f.sid)
        if sub is None:
            return
        seq = f.seq
        last = sub.last_seq
        if last is not None and seq == last + 1:
            sub.last_seq = seq  # the common case, inline
        elif not self._seq_ok(sub, seq, now_ns):
            return
        msg = f.msg
        ticker = msg.market_ticker
        if not self._fresh.get(ticker):
            self.stats.held += 1
            return
        self.stats.deltas += 1
        try:
            caches = self._ticks.get(ticker)
            if caches is not None:
                is_yes = msg.side == "yes"
                cache = caches[0] if is_yes else caches[1]
                tick = cache.get(msg.price_dollars)
                if tick is None:
                    tick = self._tick(caches[2], cache, is_yes, msg)
                q = self._counts.get(msg.delta_fp)
                if q is None:
                    q = self._conv.count(msg.delta_fp)
                caches[2].apply_tick(is_yes, tick, q)
                if self.on_book_change is not None:
                    self.on_book_change(ticker, now_ns)
            else:
                self.sink(self._conv.delta(msg, now_ns))
        except (BookError, ProtocolViolation, UnitError) as e:
            log.warning(
                "kalshi ws bad delta ticker=%s sid=%d seq=%d error=%s", ticker, f.sid, f.seq, e
            )
            self._start_resync(sub, now_ns, "bad delta")

    def _tick(self, book: BinaryBook, cache: dict[str, int], is_yes: bool, msg: w.DeltaMsg) -> int:
        if not is_yes and msg.side != "no":
            raise ProtocolViolation(f"kalshi orderbook_delta.side: unknown value {msg.side!r}")
        p = self._conv.price(msg.price_dollars, is_yes)
        tick = book.yes_tick(p) if is_yes else book.no_tick(p)
        if len(cache) < 4096:
            cache[msg.price_dollars] = tick
        return tick

    def _on_snapshot(self, f: w.OrderbookSnapshot, now_ns: int) -> None:
        sub = self._subs.get(f.sid)
        if sub is None:
            return
        ticker = f.msg.market_ticker
        last = sub.last_seq
        if f.seq == 1 and last is not None and last >= 1 and not self._fresh.get(ticker, False):
            sub.last_seq = 1  # a server that restarts seq with the snapshot we wait for
        elif not self._seq_ok(sub, f.seq, now_ns):
            return
        if ticker not in sub.tickers:
            return
        try:
            snap = convert.book_snapshot(f.msg, now_ns, yes_scale=self.use_yes_price)
        except ProtocolViolation as e:
            log.warning("kalshi ws bad snapshot ticker=%s error=%s", ticker, e)
            self._start_resync(sub, now_ns, "bad snapshot")
            return
        self.stats.snapshots += 1
        book = self.books.get(ticker) if self.books is not None else None
        if book is not None:
            cached = self._ticks.get(ticker)
            if cached is None or cached[2] is not book:
                self._ticks[ticker] = ({}, {}, book)
        else:
            self._ticks.pop(ticker, None)
        self._fresh[ticker] = True
        self.sink(snap)
        log.info(
            "kalshi ws snapshot ticker=%s sid=%d seq=%d yes_levels=%d no_levels=%d",
            ticker,
            f.sid,
            f.seq,
            len(snap.yes),
            len(snap.no),
        )
        rs = self._resync.get(f.sid)
        if rs is not None:
            rs.tickers.discard(ticker)
            if not rs.tickers:
                del self._resync[f.sid]
                log.info("kalshi ws resync done sid=%d", f.sid)

    def _on_other(self, frame: object, now_ns: int) -> None:
        if isinstance(frame, w.Subscribed):
            self._on_subscribed(frame)
        elif isinstance(frame, w.FillFrame):
            self._emit(lambda: convert.fill_event(frame.msg, now_ns))
        elif isinstance(frame, w.UserOrderFrame):
            self._emit(lambda: convert.order_update(frame.msg, now_ns))
        elif isinstance(frame, w.MarketPositionFrame):
            self._emit(lambda: convert.position_snapshot(frame.msg, now_ns))
        elif isinstance(frame, w.MarketLifecycleFrame):
            self._emit(lambda: convert.market_status(frame.msg, now_ns))
            self._on_spec_change(frame.msg, now_ns)
        elif isinstance(frame, w.OrderGroupFrame):
            sub = self._subs.get(frame.sid)
            # a gap resubscribes the channel; a trip it hid still shows as the group's
            # refusal of the next order
            if sub is None or frame.seq is None or self._seq_ok(sub, frame.seq, now_ns):
                self._emit(lambda: convert.order_group_update(frame.msg, now_ns))
        elif isinstance(frame, w.Ok):
            self._on_ok(frame, now_ns)
        elif isinstance(frame, w.Unsubscribed):
            if frame.id is not None:
                self._pending.pop(frame.id, None)
        elif isinstance(frame, w.WsError):
            self._on_error(frame, now_ns)
        elif isinstance(
            frame,
            w.UnknownFrame | w.TickerFrame | w.TradeFrame | w.EventLifecycleFrame,
        ):
            if self.on_market_data is not None and isinstance(frame, w.TickerFrame | w.TradeFrame):
                self.on_market_data(frame)
            sid, seq = getattr(frame, "sid", None), getattr(frame, "seq", None)
            sub = self._subs.get(sid) if sid is not None else None
            if sub is not None and seq is not None:
                self._seq_ok(sub, seq, now_ns)

    def _on_spec_change(self, msg: w.LifecycleMsg, now_ns: int) -> None:
        """A new price grid or close time reaches the sink; a book on the old grid is
        resynced: the state rebuilds it on the new grid and it fills from a fresh snapshot
        (deltas at prices only the new grid has were refused, over and over)."""
        try:
            e = convert.spec_change(msg, now_ns)
        except ProtocolViolation as err:
            self.stats.bad_frames += 1
            log.warning("kalshi ws unconvertible frame error=%s", err)
            return
        if e is None:
            return
        log.info("kalshi market terms changed ticker=%s event=%s", e.ticker, msg.event_type)
        self.sink(e)
        if e.grid is None:
            return
        self._ticks.pop(e.ticker, None)  # the tick caches index the old grid
        for sub in list(self._subs.values()):
            if sub.channel == BOOK and e.ticker in sub.tickers:
                self._resync_one(sub, e.ticker, now_ns, "price levels changed")

    def _resync_one(self, sub: _Sub, ticker: str, now_ns: int, reason: str) -> None:
        """A fresh snapshot of one book of the sid (the others keep their place: a full
        resync pulled every quote of the event for one market's change)."""
        self._mark_stale(ticker, now_ns, reason)
        rs = self._resync.get(sub.sid)
        if rs is not None and ticker in rs.tickers:
            return  # a snapshot of this book (resync or resubscribe) is already on its way
        if rs is None:
            self.stats.resyncs += 1
            rs = self._resync[sub.sid] = _Resync(1, now_ns + self.resync_timeout_ns, set())
        rs.tickers.add(ticker)
        rs.deadline_ns = now_ns + self.resync_timeout_ns
        self._send(
            "update_subscription",
            {"sids": [sub.sid], "action": "get_snapshot", "market_tickers": [ticker]},
            _Cmd("get_snapshot", BOOK, (ticker,), sub.sid),
        )
        log.warning("kalshi ws resync sid=%d reason=%s markets=1 via=get_snapshot", sub.sid, reason)

    def _emit(self, make: Callable[[], ev.Event | None]) -> None:
        try:
            e = make()
        except ProtocolViolation as err:
            self.stats.bad_frames += 1
            log.warning("kalshi ws unconvertible frame error=%s", err)
            return
        if e is not None:
            self.sink(e)

    def _on_subscribed(self, f: w.Subscribed) -> None:
        ch, sid = f.msg.channel, f.msg.sid
        cmd = self._pending.get(f.id) if f.id is not None else None
        tickers = set(cmd.tickers) if cmd is not None and cmd.channel == ch else set()
        if cmd is not None and cmd.channel == ch:
            self._pending.pop(f.id or 0, None)
        old = self._by_channel.get(ch)
        if old is not None and old != sid:
            self._drop_sub(old)
        self._subs[sid] = _Sub(ch, sid, tickers)
        self._by_channel[ch] = sid
        if ch == BOOK:
            for t in tickers:
                self._book_sid[t] = sid
            for rsid, rs in list(self._resync.items()):
                if rs.stage == 2 and rsid not in self._subs:
                    self._resync.pop(rsid)
                    if rs.tickers & tickers:
                        self._resync[sid] = _Resync(2, rs.deadline_ns, rs.tickers & tickers)
        log.info("kalshi ws subscribed channel=%s sid=%d markets=%d", ch, sid, len(tickers))
        self._reconcile(ch, sid)

    def _reconcile(self, ch: str, sid: int) -> None:
        """Desire changed while the subscribe was in flight: add/delete the difference."""
        sub = self._subs[sid]
        if ch not in self.desired:
            self._send("unsubscribe", {"sids": [sid]}, _Cmd("unsubscribe", ch, (), sid))
            self._drop_sub(sid)
            return
        want = self.desired[ch]
        if want is None or ch in _NO_FILTER or (not sub.tickers and ch != BOOK):
            return
        add, drop = want - sub.tickers, sub.tickers - want
        if add:
            sub.tickers |= add
            if ch == BOOK:
                for t in add:
                    self._fresh[t] = False
                    self._book_sid[t] = sid
            self._send(
                "update_subscription",
                {"sids": [sid], "action": "add_markets", "market_tickers": sorted(add)},
                _Cmd("add", ch, tuple(add), sid),
            )
        if drop:
            sub.tickers -= drop
            self._send(
                "update_subscription",
                {"sids": [sid], "action": "delete_markets", "market_tickers": sorted(drop)},
                _Cmd("delete", ch, tuple(drop), sid),
            )

    def _on_ok(self, f: w.Ok, now_ns: int) -> None:
        cmd = self._pending.pop(f.id, None) if f.id is not None else None
        sid = f.sid if f.sid is not None else (cmd.sid if cmd else None)
        sub = self._subs.get(sid) if sid is not None else None
        if sub is not None and f.seq is not None:
            self._seq_ok(sub, f.seq, now_ns)  # ok replies consume the sid's seq
        if cmd is not None and cmd.cmd == "list":
            subs = f.msg if isinstance(f.msg, list) else (f.subscriptions or [])
            log.info("kalshi ws subscriptions %s", " ".join(f"{s.channel}:{s.sid}" for s in subs))

    def _on_error(self, f: w.WsError, now_ns: int) -> None:
        self.stats.errors += 1
        code = f.msg.code
        cmd = self._pending.pop(f.id, None) if f.id is not None else None
        log.warning(
            "kalshi ws error code=%d msg=%s id=%s sid=%s market=%s",
            code,
            f.msg.msg,
            f.id,
            f.sid,
            f.msg.market_ticker,
        )
        wanted = cmd is not None and cmd.cmd in ("subscribe", "add") and cmd.channel in self.desired
        if code in _TERMINAL_CODES and not (wanted and f.sid is None and not (cmd and cmd.sid)):
            sids = (
                [f.sid]
                if f.sid is not None
                else ([cmd.sid] if cmd and cmd.sid else list(self._subs))
            )
            for sid in sids:
                sub = self._subs.get(sid) if sid is not None else None
                if sub is not None:
                    self._resubscribe(sub, now_ns, f"error code {code}")
            return
        if cmd is None:
            return
        if cmd.cmd == "get_snapshot" and cmd.sid in self._subs:
            self._resubscribe(self._subs[cmd.sid], now_ns, f"get_snapshot refused code {code}")
        elif code == 16 and f.msg.market_ticker and cmd.cmd in ("subscribe", "add", "get_snapshot"):
            self._drop_unknown_market(cmd, f.msg.market_ticker, now_ns)
        elif wanted:
            # a refusal of something still wanted (transient: internal error, timeout,
            # command rate; or not: a channel error, a market limit): without it the channel
            # (fills!) would stay silent for the whole connection. A new connection, after
            # the growing backoff, subscribes everything again and catches up; one that can
            # never succeed says so at every attempt instead of going quiet.
            if code not in _RETRY_CODES:
                log.error(
                    "kalshi ws %s %s refused code=%d msg=%s: reconnecting",
                    cmd.cmd,
                    cmd.channel,
                    code,
                    f.msg.msg,
                )
            self._request_reconnect(f"{cmd.cmd} {cmd.channel} refused code {code}")

    def _drop_unknown_market(self, cmd: _Cmd, ticker: str, now_ns: int) -> None:
        """One unknown market fails the whole command: stop wanting it, retry the rest."""
        log.error(
            "kalshi ws market not found ticker=%s channel=%s: no longer subscribed",
            ticker,
            cmd.channel,
        )
        ch = cmd.channel
        cur = self.desired.get(ch)
        if cur is not None and ticker in cur:
            cur.discard(ticker)
        if ch == BOOK:
            self._mark_stale(ticker, now_ns, "market not found")
            self._fresh.pop(ticker, None)
            self._book_sid.pop(ticker, None)
        rest = tuple(t for t in cmd.tickers if t != ticker and (cur is None or t in cur))
        sub = self._subs.get(cmd.sid) if cmd.sid is not None else None
        if sub is not None:
            sub.tickers.discard(ticker)
        if not rest:
            return
        if cmd.cmd == "subscribe":
            self._subscribe(ch, set(rest), now_ns)
        elif sub is not None and cmd.cmd == "add":
            self._send(
                "update_subscription",
                {"sids": [sub.sid], "action": "add_markets", "market_tickers": sorted(rest)},
                _Cmd("add", ch, rest, sub.sid),
            )
        elif sub is not None:
            self._send(
                "update_subscription",
                {"sids": [sub.sid], "action": "get_snapshot", "market_tickers": sorted(rest)},
                _Cmd("get_snapshot", ch, rest, sub.sid),
            )

    # ---- resync ---------------------------------------------------------------------------
    def _mark_stale(self, ticker: str, now_ns: int, reason: str) -> None:
        if self._fresh.get(ticker, True) or ticker not in self._fresh:
            self.sink(ev.BookStale(ticker, now_ns, reason))
        self._fresh[ticker] = False

    def _start_resync(self, sub: _Sub, now_ns: int, reason: str) -> None:
        if sub.channel != BOOK:
            if reason != "duplicate seq":
                self._resubscribe(sub, now_ns, reason)
            return
        for t in sub.tickers:
            self._mark_stale(t, now_ns, reason)
        rs = self._resync.get(sub.sid)
        if rs is not None and rs.stage == 1:
            # a get_snapshot is already on its way for the books still awaiting one; those
            # it has refreshed since are stale again and need one more
            again = sub.tickers - rs.tickers
            rs.tickers |= sub.tickers
            if again:
                rs.deadline_ns = now_ns + self.resync_timeout_ns  # the new request's time
                self._send(
                    "update_subscription",
                    {"sids": [sub.sid], "action": "get_snapshot", "market_tickers": sorted(again)},
                    _Cmd("get_snapshot", BOOK, tuple(sorted(again)), sub.sid),
                )
            return
        self.stats.resyncs += 1
        self._resync[sub.sid] = _Resync(1, now_ns + self.resync_timeout_ns, set(sub.tickers))
        self._send(
            "update_subscription",
            {"sids": [sub.sid], "action": "get_snapshot", "market_tickers": sorted(sub.tickers)},
            _Cmd("get_snapshot", BOOK, tuple(sub.tickers), sub.sid),
        )
        log.warning(
            "kalshi ws resync sid=%d reason=%s markets=%d via=get_snapshot",
            sub.sid,
            reason,
            len(sub.tickers),
        )

    def _resubscribe(self, sub: _Sub, now_ns: int, reason: str) -> None:
        self.stats.resubscribes += 1
        desired = self.desired.get(sub.channel, set())
        if sub.channel == BOOK:
            for t in sub.tickers | set(desired or ()):
                self._mark_stale(t, now_ns, reason)
        self._send(
            "unsubscribe", {"sids": [sub.sid]}, _Cmd("unsubscribe", sub.channel, (), sub.sid)
        )
        self._drop_sub(sub.sid)
        log.warning(
            "kalshi ws resubscribe channel=%s old_sid=%d reason=%s", sub.channel, sub.sid, reason
        )
        if sub.channel in (FILL, USER_ORDERS):
            # what the lost subscription dropped is fetched at once, as after a reconnect
            self.sink(
                ev.ConnectionState(now_ns, self.venue, "ws", True, f"resubscribed {sub.channel}")
            )
        if desired is None or desired:
            if sub.channel == BOOK:
                self._resync[-sub.sid] = _Resync(
                    2, now_ns + self.resync_timeout_ns, set(desired or ())
                )
            self._subscribe(sub.channel, desired, now_ns)

    def tick(self, now_ns: int) -> None:
        """Timers: escalate stuck resyncs, detect a silent connection."""
        if not self.connected_:
            return
        if self.silence_timeout_ns and now_ns - self._last_rx_ns > self.silence_timeout_ns:
            self._request_reconnect(f"silent for {(now_ns - self._last_rx_ns) / 1e9:.1f}s")
            return
        for sid, rs in list(self._resync.items()):
            if now_ns < rs.deadline_ns:
                continue
            sub = self._subs.get(sid)
            if rs.stage == 1 and sub is not None:
                del self._resync[sid]
                self._resubscribe(sub, now_ns, "get_snapshot timed out")
            else:
                self._request_reconnect("resubscribe timed out")
                return
        for cid, due in list(self._sub_deadline.items()):
            if cid not in self._pending:
                del self._sub_deadline[cid]  # answered
            elif now_ns >= due:
                self._request_reconnect(f"subscribe {self._pending[cid].channel} not answered")
                return

    def book_refused(self, ticker: str, now_ns: int) -> None:
        """The consumer could not apply a delta it was handed (events mode: TradingState
        marked the book stale): resync it, as a delta refused here would be."""
        sid = self._book_sid.get(ticker)
        sub = self._subs.get(sid) if sid is not None else None
        if sub is None:
            sub = next(
                (x for x in self._subs.values() if x.channel == BOOK and ticker in x.tickers), None
            )
        if sub is not None:
            log.warning("kalshi ws book refused a delta ticker=%s sid=%d", ticker, sub.sid)
            self._start_resync(sub, now_ns, "delta refused by the book")

    def _request_reconnect(self, reason: str) -> None:
        if self.reconnect_reason is None:
            self.stats.reconnects_requested += 1
            self.reconnect_reason = reason
            log.warning("kalshi ws reconnect requested reason=%s", reason)


_DELTA_DECODER = msgspec.json.Decoder(w.OrderbookDelta)
_DELTA_PREFIXES = (b'{"type":"orderbook_delta"', '{"type":"orderbook_delta"')
