"""TradingState: the single shared truth, owned by one asyncio loop, with no I/O.

Feeds and venue streams hand it typed events (`apply`); the order manager registers the
orders it sends; the strategy reads it and wakes on `take_changes()`, which says what
changed since the last call (index moved, which books, which orders, fills) rather than
a bare flag.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from pmbot.core import events as ev
from pmbot.core.book import BinaryBook
from pmbot.core.market import MarketSpec
from pmbot.core.money import Micros
from pmbot.core.orders import LiveOrder, OrderStatus, can_transition
from pmbot.core.positions import Position
from pmbot.errors import BookError

__all__ = ["Changes", "TradingState"]


@dataclass(slots=True)
class Changes:
    """What changed since the strategy last looked."""

    index: bool = False
    vol: bool = False
    books: set[str] = field(default_factory=set)
    stale: set[str] = field(default_factory=set)
    orders: set[str] = field(default_factory=set)  # client_order_ids
    fills: list[ev.Fill] = field(default_factory=list)
    markets: set[str] = field(default_factory=set)
    health: bool = False  # exchange / connection / feed state

    def __bool__(self) -> bool:
        return bool(
            self.index
            or self.vol
            or self.books
            or self.stale
            or self.orders
            or self.fills
            or self.markets
            or self.health
        )


class TradingState:
    """Books, our orders, positions, fills, index and health flags."""

    def __init__(self) -> None:
        self.markets: dict[str, MarketSpec] = {}
        self.books: dict[str, BinaryBook] = {}
        self.book_fresh: dict[str, bool] = {}
        self.book_ts_ns: dict[str, int] = {}
        # by client_order_id: the live ones and the ended ones until OrderManager.prune drops them
        self.orders: dict[str, LiveOrder] = {}
        # the ones not yet seen terminal (a superset of the live ones, pruned as it is read):
        # a decision reads the live orders without walking the ended ones still kept
        self._maybe_live: dict[str, LiveOrder] = {}
        self.order_ids: dict[str, str] = {}  # venue order_id -> client_order_id
        # orders (terminal ones too) the venue says filled more than the fills applied to
        # them: their fill events are late (`LiveOrder.owed`); the strategy's inputs count
        # them as held until they arrive
        self.owing: dict[str, LiveOrder] = {}
        self.foreign_orders: dict[str, ev.OrderUpdate] = {}  # venue orders we never sent
        self.positions: dict[str, Position] = {}
        self.fills: list[ev.Fill] = []
        self._fill_keys: set[tuple[str, str]] = set()
        # the size of the fills applied per venue order id, matched to an order of ours or
        # not: a fill that beat its order's create answer (no order_id yet, and a fill frame
        # need not carry client_order_id) is counted into the order once it learns its id
        self._fill_qty: dict[str, int] = {}
        self.index_level: float | None = None
        self.index_ts_ns: int = 0
        self.vols: dict[str, tuple[int, float]] = {}
        self.feed_stale: dict[str, bool] = {}
        self.market_status: dict[str, ev.MarketStatus] = {}
        self.exchange_active = True
        self.trading_active = True
        self.connections: dict[str, bool] = {}
        self.duplicate_fills = 0
        self._changes = Changes()
        # positions change only through apply (fills, voids), `settle_position` and
        # `positions_changed`: the per-decision aggregates below are kept per version, so a
        # decision walks the open positions, not every market the run has ever held
        self._pos_ver = 0
        self._settled: dict[str, bool] = {}  # ticker -> YES won, for a void after settlement
        self._agg: tuple[int, dict[str, Position], Micros, Micros] | None = None

    # ---- setup ----------------------------------------------------------------------
    def add_market(self, spec: MarketSpec) -> None:
        self.markets[spec.ticker] = spec
        if spec.ticker not in self.books:
            self.books[spec.ticker] = BinaryBook(spec.grid, spec.ticker)
            self.book_fresh[spec.ticker] = False
        self.positions.setdefault(spec.ticker, Position(spec.ticker))
        self._changes.markets.add(spec.ticker)

    def take_changes(self) -> Changes:
        c, self._changes = self._changes, Changes()
        return c

    # ---- our orders (order manager) -------------------------------------------------
    def register_order(self, order: LiveOrder) -> None:
        """Track an order before it is sent (its client_order_id is already in the ledger)."""
        self.orders[order.client_order_id] = order
        self._maybe_live[order.client_order_id] = order
        if order.order_id:
            self.order_ids[order.order_id] = order.client_order_id
        self._changes.orders.add(order.client_order_id)

    def set_order_status(
        self,
        client_order_id: str,
        status: OrderStatus,
        ts_ns: int,
        order_id: str | None = None,
        remaining: int | None = None,
    ) -> LiveOrder:
        o = self.orders[client_order_id]
        if not can_transition(o.status, status):
            raise BookError(
                f"order {client_order_id}: illegal transition {o.status.value}->{status.value}"
            )
        o.status = status
        o.updated_ns = ts_ns
        if remaining is not None:
            o.remaining = remaining
        if order_id and o.order_id != order_id:
            self._name(o, order_id)
        self._changes.orders.add(client_order_id)
        return o

    def _name(self, o: LiveOrder, order_id: str) -> None:
        """The order learns its venue id: fills of that id applied before (unmatched then)
        count as its own, so the venue's filled count does not make them owed again."""
        o.order_id = order_id
        self.order_ids[order_id] = o.client_order_id
        q = self._fill_qty.get(order_id, 0)
        if q > o.filled:
            o.filled = q
            if o.filled > o.initial:
                o.initial = o.filled + o.remaining
            else:  # as `_apply_fill`: an answer made before these fills did not cut them
                o.remaining = min(o.remaining, max(0, o.initial - o.filled))
                if o.remaining == 0 and can_transition(o.status, OrderStatus.EXECUTED):
                    o.status = OrderStatus.EXECUTED
            self._owe(o)

    def live_orders(self, ticker: str | None = None) -> list[LiveOrder]:
        out = []
        ended = []
        for cid, o in self._maybe_live.items():
            if not o.is_live:
                ended.append(cid)  # terminal states are final: it never comes back
            elif ticker is None or o.ticker == ticker:
                out.append(o)
        for cid in ended:
            del self._maybe_live[cid]
        return out

    def report_filled(self, o: LiveOrder, filled: int) -> None:
        """The venue says `o` has filled `filled` in all (an order update, or the answer to
        a call): what exceeds the fills applied is owed until their events arrive."""
        if filled > o.venue_filled:
            o.venue_filled = filled
            self._owe(o)

    def _owe(self, o: LiveOrder) -> None:
        if o.venue_filled > o.filled:
            self.owing[o.client_order_id] = o
        elif self.owing:
            self.owing.pop(o.client_order_id, None)

    def forget_order(self, client_order_id: str) -> None:
        """Drop an ended order (the ledger keeps it): late fills still move the position."""
        self.orders.pop(client_order_id, None)
        self._maybe_live.pop(client_order_id, None)
        self.owing.pop(client_order_id, None)

    def order_by_id(self, order_id: str) -> LiveOrder | None:
        coid = self.order_ids.get(order_id)
        return self.orders.get(coid) if coid else None

    # ---- events ---------------------------------------------------------------------
    def apply(self, e: ev.Event) -> None:
        """Apply one event. Book errors mark the book stale instead of guessing."""
        c = self._changes
        if isinstance(e, ev.BookDelta):
            book = self.books.get(e.ticker)
            if book is None or not self.book_fresh.get(e.ticker):
                return  # deltas before a snapshot are held off by the stream; ignore here
            try:
                book.apply_delta(e.is_yes, e.price, e.delta)
            except BookError:
                self._mark_stale(e.ticker, "delta could not be applied")
                return
            self.book_ts_ns[e.ticker] = e.ts_ns
            c.books.add(e.ticker)
        elif isinstance(e, ev.IndexTick):
            self.index_level, self.index_ts_ns = e.level, e.ts_ns
            c.index = True
        elif isinstance(e, ev.BookSnapshot):
            book = self.books.get(e.ticker)
            if book is None:
                return
            try:
                book.apply_snapshot(e.yes, e.no)
            except BookError:
                self._mark_stale(e.ticker, "snapshot could not be applied")
                return
            self.book_fresh[e.ticker] = True
            self.book_ts_ns[e.ticker] = e.ts_ns
            c.books.add(e.ticker)
            c.stale.add(e.ticker)
        elif isinstance(e, ev.BookStale):
            self._mark_stale(e.ticker, e.reason)
        elif isinstance(e, ev.Fill):
            self._apply_fill(e)
        elif isinstance(e, ev.OrderUpdate):
            self._apply_order_update(e)
        elif isinstance(e, ev.FillVoided):
            self._void_fill(e)
        elif isinstance(e, ev.VolTick):
            self.vols[e.name] = (e.ts_ns, e.value)
            c.vol = True
        elif isinstance(e, ev.FeedStale):
            self.feed_stale[e.feed] = e.stale
            c.health = True
        elif isinstance(e, ev.MarketStatus):
            self.market_status[e.ticker] = e
            c.markets.add(e.ticker)
        elif isinstance(e, ev.MarketSpecChange):
            self._respec(e)
        elif isinstance(e, ev.ExchangeStatus):
            self.exchange_active, self.trading_active = e.exchange_active, e.trading_active
            c.health = True
        elif isinstance(e, ev.ConnectionState):
            self.connections[f"{e.venue}.{e.channel}"] = e.up
            c.health = True
        elif isinstance(e, ev.PositionSnapshot):
            pass  # venue positions are compared by reconciliation, never applied blindly
        elif isinstance(e, ev.OrderGroupUpdate):
            pass  # the order manager's business (a trip is the kill switch), not the books'

    def _respec(self, e: ev.MarketSpecChange) -> None:
        """New terms for a market we know: a new grid rebuilds its book, stale until the
        venue's next snapshot (its levels were kept on the old grid)."""
        spec = self.markets.get(e.ticker)
        if spec is None:
            return
        new = self.markets[e.ticker] = respecified(spec, e)
        self._changes.markets.add(e.ticker)
        if new.grid.ranges != spec.grid.ranges and e.ticker in self.books:
            self.books[e.ticker] = BinaryBook(new.grid, e.ticker)
            self.book_fresh[e.ticker] = False
            self._changes.stale.add(e.ticker)

    def _mark_stale(self, ticker: str, reason: str) -> None:
        if ticker in self.books:
            self.book_fresh[ticker] = False
            self.books[ticker].clear()
            self._changes.stale.add(ticker)

    def _apply_fill(self, f: ev.Fill) -> None:
        key = (f.trade_id, f.order_id)
        if key in self._fill_keys:
            self.duplicate_fills += 1
            return
        self._fill_keys.add(key)
        self.fills.append(f)
        self._fill_qty[f.order_id] = self._fill_qty.get(f.order_id, 0) + f.qty
        pos = self.positions.setdefault(f.ticker, Position(f.ticker))
        pos.apply_fill(f.side.sign, f.price, f.qty, f.fee)
        self._pos_ver += 1
        o = self.order_by_id(f.order_id)
        if o is None and f.client_order_id:
            o = self.orders.get(f.client_order_id)
        if o is not None:
            # `filled` counts the fills we applied; `initial` is the venue's total (filled +
            # resting). An order update or ack may already have cut `remaining` for this
            # fill, so take the smaller of the two views instead of subtracting twice.
            o.filled += f.qty
            if o.filled > o.initial:
                # a fill beyond the total we knew: an answer (a decrease's, say) was made after
                # fills that had not reached us, so our total was short and what rests is not
                # what the arithmetic says. `remaining` stands until the venue's order update
                # or reconciliation tells (taking it as executed would orphan what rests).
                o.initial = o.filled + o.remaining
            else:
                o.remaining = min(o.remaining, max(0, o.initial - o.filled))
                if o.remaining == 0 and can_transition(o.status, OrderStatus.EXECUTED):
                    o.status = OrderStatus.EXECUTED
            if o.venue_filled:  # what the venue reported is owed no more (a duplicate
                self._owe(o)  # never gets here; one beyond it leaves nothing owed)
            self._changes.orders.add(o.client_order_id)
        self._changes.fills.append(f)

    def _void_fill(self, v: ev.FillVoided) -> None:
        """Take a fill back out: the position is rebuilt from the fills that stand (exact,
        realised PnL included, unlike applying the opposite fill), the order's filled size
        is reduced; the key leaves the dedup set."""
        key = (v.trade_id, v.order_id)
        if key not in self._fill_keys:
            return
        self._fill_keys.discard(key)
        for i, f in enumerate(self.fills):
            if (f.trade_id, f.order_id) == key:
                del self.fills[i]
                self._fill_qty[f.order_id] = max(0, self._fill_qty.get(f.order_id, 0) - f.qty)
                pos = Position(f.ticker)
                for g in self.fills:
                    if g.ticker == f.ticker:
                        pos.apply_fill(g.side.sign, g.price, g.qty, g.fee)
                won = self._settled.get(f.ticker)
                if won is not None:  # settled meanwhile: closed again, as a recovery replays it
                    pos.settle(won)
                self.positions[f.ticker] = pos
                self._pos_ver += 1
                o = self.order_by_id(f.order_id)
                if o is not None:
                    o.filled = max(0, o.filled - f.qty)
                    # the venue's count included it: voided, it is owed no more
                    o.venue_filled = max(o.filled, o.venue_filled - f.qty)
                    self._owe(o)
                    self._changes.orders.add(o.client_order_id)
                self._changes.fills.append(f)
                break

    def _apply_order_update(self, u: ev.OrderUpdate) -> None:
        o = self.order_by_id(u.order_id)
        if o is None and u.client_order_id and u.client_order_id in self.orders:
            o = self.orders[u.client_order_id]
        if o is None:
            self.foreign_orders[u.order_id] = u
            return
        if o.order_id != u.order_id:
            self._name(o, u.order_id)
        if can_transition(o.status, u.status):
            o.status = u.status
        o.remaining = u.remaining
        # the venue's total; `filled` stays the sum of the fills we applied (the fill events
        # for what this update reports may still be on their way: never count them twice)
        o.initial = u.filled + u.remaining
        if u.filled > o.venue_filled:
            o.venue_filled = u.filled
            self._owe(o)
        o.price = u.price
        o.updated_ns = u.ts_ns
        self._changes.orders.add(o.client_order_id)

    # ---- derived --------------------------------------------------------------------
    def position(self, ticker: str) -> int:
        p = self.positions.get(ticker)
        return p.qty if p else 0

    def settle_position(self, ticker: str, yes_won: bool, *, create: bool = False) -> Micros | None:
        """Close `ticker`'s position at $1/$0; its PnL (None: no position, unless `create`)."""
        pos = self.positions.get(ticker)
        if pos is None:
            if not create:
                return None
            pos = self.positions[ticker] = Position(ticker)
        self._pos_ver += 1
        self._settled[ticker] = yes_won
        return pos.settle(yes_won)

    def positions_changed(self) -> None:
        """Tell the state a Position was changed other than through it (ledger recovery)."""
        self._pos_ver += 1

    def _aggregates(self) -> tuple[dict[str, Position], Micros, Micros]:
        a = self._agg
        if a is None or a[0] != self._pos_ver:
            held = {t: p for t, p in self.positions.items() if p.qty}
            realized = sum(p.realized for p in self.positions.values())
            fees = sum(p.fees for p in self.positions.values())
            a = self._agg = (self._pos_ver, held, realized, fees)
        return a[1], a[2], a[3]

    def held_positions(self) -> dict[str, Position]:
        """The open (non-flat) positions; do not mutate."""
        return self._aggregates()[0]

    def fees_paid(self) -> Micros:
        return self._aggregates()[2]

    def realized_pnl(self) -> Micros:
        return self._aggregates()[1]

    def index_age_ns(self, now_ns: int) -> int | None:
        return None if self.index_level is None else now_ns - self.index_ts_ns


def respecified(spec: MarketSpec, e: ev.MarketSpecChange) -> MarketSpec:
    """The market's spec under the new terms of `e` (what it leaves None stays)."""
    return dataclasses.replace(
        spec,
        grid=spec.grid if e.grid is None else e.grid,
        close_ts_ns=spec.close_ts_ns if e.close_ts_ns is None else e.close_ts_ns,
    )
