"""Pure price-time-priority matching for binary markets, quoted on the YES leg.

One book per market holds YES bids and NO bids; a NO bid at q is a YES ask at 1 - q, so the
engine keeps both sides on the YES scale (`bids`, `asks`) and reports book changes in Kalshi's
terms (side "yes" at the YES price, side "no" at the NO-leg price). No I/O, no clock: every
call takes `ts_ns`; the simulator server and the backtester both drive it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from pmbot.core.money import ONE, Micros, Price, Qty

__all__ = [
    "Book",
    "BookChange",
    "Engine",
    "Fill",
    "Order",
    "OrderUpdate",
]

GTC = "good_till_canceled"
IOC = "immediate_or_cancel"
FOK = "fill_or_kill"


@dataclass(slots=True, eq=False)
class Order:
    """One order; `price` is the YES-leg limit, `side` is "bid" (buy YES) or "ask" (sell YES)."""

    order_id: str
    user: str
    ticker: str
    side: str
    price: Price
    initial: Qty
    tif: str = GTC
    stp: str = "taker_at_cross"
    client_order_id: str = ""
    post_only: bool = False
    reduce_only: bool = False
    group_id: str | None = None
    expiration_ts: int | None = None  # unix seconds
    cancel_on_pause: bool = False
    created_ns: int = 0
    updated_ns: int = 0
    remaining: Qty = 0
    filled: Qty = 0
    status: str = "resting"
    taker_fill_cost: Micros = 0
    maker_fill_cost: Micros = 0
    taker_fees: Micros = 0
    maker_fees: Micros = 0
    prio: int = 0

    @property
    def is_bid(self) -> bool:
        return self.side == "bid"

    @property
    def leg_cost_price(self) -> Price:
        """What one contract of this order costs its owner (YES price for bids, NO for asks)."""
        return self.price if self.is_bid else ONE - self.price


@dataclass(frozen=True, slots=True)
class BookChange:
    """A change of resting size at one level, in Kalshi's book terms."""

    ticker: str
    side: str  # "yes" (YES bid) | "no" (NO bid)
    price: Price  # leg price: YES price for "yes", NO price for "no"
    delta: Qty
    user: str | None  # owner of the order that caused it (for client_order_id on deltas)
    client_order_id: str | None
    ts_ns: int


@dataclass(frozen=True, slots=True)
class Fill:
    """One match: taker crossed a resting maker at the maker's YES price."""

    trade_id: str
    ticker: str
    price: Price  # YES price
    count: Qty
    taker: Order
    maker: Order
    ts_ns: int

    @property
    def taker_side(self) -> str:
        return self.taker.side


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """An order changed state (created, filled, canceled, amended)."""

    order: Order
    reason: str
    ts_ns: int


@dataclass(slots=True)
class Book:
    """Both sides on the YES scale; each level a FIFO of orders."""

    ticker: str
    bids: dict[Price, deque[Order]] = field(default_factory=dict)
    asks: dict[Price, deque[Order]] = field(default_factory=dict)

    def best_bid(self) -> Price | None:
        return max(self.bids) if self.bids else None

    def best_ask(self) -> Price | None:
        return min(self.asks) if self.asks else None

    def level_size(self, is_bid: bool, price: Price) -> Qty:
        q = (self.bids if is_bid else self.asks).get(price)
        return sum(o.remaining for o in q) if q else 0

    def yes_levels(self) -> list[tuple[Price, Qty]]:
        """YES bids ascending by price (best last), as on the wire."""
        return [(p, sum(o.remaining for o in self.bids[p])) for p in sorted(self.bids)]

    def no_levels(self) -> list[tuple[Price, Qty]]:
        """NO bids (NO-leg prices) ascending, best last."""
        return [
            (ONE - p, sum(o.remaining for o in self.asks[p]))
            for p in sorted(self.asks, reverse=True)
        ]

    def crossed(self) -> bool:
        b, a = self.best_bid(), self.best_ask()
        return b is not None and a is not None and b >= a


class Engine:
    """Books, resting orders and matching; knows nothing of balances (see accounts.py)."""

    def __init__(self) -> None:
        self.books: dict[str, Book] = {}
        self.orders: dict[str, Order] = {}
        self._prio = 0
        self._trade_n = 0
        self.changes: list[BookChange] = []
        self.fills: list[Fill] = []
        self.updates: list[OrderUpdate] = []
        self.live: dict[str, dict[str, Order]] = {}  # user -> resting orders
        self.transient_users: set[str] = set()  # orders forgotten once done (background flow)

    def book(self, ticker: str) -> Book:
        b = self.books.get(ticker)
        if b is None:
            b = self.books[ticker] = Book(ticker)
        return b

    def drain(self) -> tuple[list[BookChange], list[Fill], list[OrderUpdate]]:
        """Hand over the events produced since the last drain."""
        out = (self.changes, self.fills, self.updates)
        self.changes, self.fills, self.updates = [], [], []
        return out

    def _next_trade_id(self, ts_ns: int) -> str:
        self._trade_n += 1
        n = self._trade_n
        return f"{ts_ns & 0xFFFFFFFF:08x}-{n >> 16 & 0xFFFF:04x}-5{n & 0xFFF:03x}-8000-{n:012x}"

    def _change(self, o: Order, delta: Qty, ts_ns: int) -> None:
        side, price = ("yes", o.price) if o.is_bid else ("no", ONE - o.price)
        self.changes.append(
            BookChange(o.ticker, side, price, delta, o.user, o.client_order_id or None, ts_ns)
        )

    # -- queries --------------------------------------------------------------------------
    def would_cross(self, ticker: str, side: str, price: Price) -> bool:
        b = self.book(ticker)
        if side == "bid":
            a = b.best_ask()
            return a is not None and a <= price
        bb = b.best_bid()
        return bb is not None and bb >= price

    def fillable(self, o: Order) -> Qty:
        """Contracts an order could take right now from other users (for FOK)."""
        b = self.book(o.ticker)
        total = 0
        if o.is_bid:
            levels = sorted(p for p in b.asks if p <= o.price)
            side = b.asks
        else:
            levels = sorted((p for p in b.bids if p >= o.price), reverse=True)
            side = b.bids
        for p in levels:
            for m in side[p]:
                if m.user == o.user:
                    if o.stp == "taker_at_cross":
                        return total
                    continue
                total += m.remaining
                if total >= o.remaining:
                    return total
        return total

    def queue_position(self, order_id: str) -> Qty:
        """Contracts ahead of a resting order at its level."""
        o = self.orders[order_id]
        q = (self.book(o.ticker).bids if o.is_bid else self.book(o.ticker).asks).get(o.price, ())
        ahead = 0
        for x in q:
            if x is o:
                break
            ahead += x.remaining
        return ahead

    # -- writes ---------------------------------------------------------------------------
    def submit(self, o: Order, ts_ns: int) -> Order:
        """Match an incoming order, then rest its remainder if GTC. Validation is the caller's."""
        o.remaining = o.initial - o.filled
        o.created_ns = o.created_ns or ts_ns
        o.updated_ns = ts_ns
        self.orders[o.order_id] = o
        if o.tif == FOK and self.fillable(o) < o.remaining:
            o.remaining = 0
            o.status = "canceled"
            self.updates.append(OrderUpdate(o, "canceled", ts_ns))
            self._done(o)
            return o
        self._match(o, ts_ns)
        if o.remaining > 0 and o.status == "resting" and o.tif == GTC:
            self._rest(o, ts_ns)
            self.updates.append(OrderUpdate(o, "created", ts_ns))
        else:
            if o.remaining > 0:
                o.remaining = 0
                o.status = "canceled"
            elif o.status == "resting":
                o.status = "executed"
            self.updates.append(OrderUpdate(o, o.status, ts_ns))
            self._done(o)
        return o

    def _rest(self, o: Order, ts_ns: int) -> None:
        self._prio += 1
        o.prio = self._prio
        b = self.book(o.ticker)
        side = b.bids if o.is_bid else b.asks
        side.setdefault(o.price, deque()).append(o)
        self.live.setdefault(o.user, {})[o.order_id] = o
        self.orders[o.order_id] = o
        self._change(o, o.remaining, ts_ns)

    def _unrest(self, o: Order) -> None:
        b = self.book(o.ticker)
        side = b.bids if o.is_bid else b.asks
        q = side.get(o.price)
        if q is not None:
            q.remove(o)
            if not q:
                del side[o.price]
        self._done(o)

    def _done(self, o: Order) -> None:
        lv = self.live.get(o.user)
        if lv is not None:
            lv.pop(o.order_id, None)
        if o.user in self.transient_users:
            self.orders.pop(o.order_id, None)

    def _match(self, t: Order, ts_ns: int) -> None:
        b = self.book(t.ticker)
        opp = b.asks if t.is_bid else b.bids
        while t.remaining > 0 and opp:
            best = min(opp) if t.is_bid else max(opp)
            if (t.is_bid and best > t.price) or (not t.is_bid and best < t.price):
                break
            q = opp[best]
            m = q[0]
            if m.user == t.user:
                if t.stp == "maker":
                    self.cancel(m.order_id, ts_ns, reason="self_trade")
                    continue
                t.remaining = 0
                t.status = "canceled"
                return
            n = min(t.remaining, m.remaining)
            fill = Fill(self._next_trade_id(ts_ns), t.ticker, best, n, t, m, ts_ns)
            for o, taker in ((t, True), (m, False)):
                o.remaining -= n
                o.filled += n
                o.updated_ns = ts_ns
                cost = n * (best if o.is_bid else ONE - best)
                if taker:
                    o.taker_fill_cost += cost
                else:
                    o.maker_fill_cost += cost
            self._change(m, -n, ts_ns)
            if m.remaining == 0:
                q.popleft()
                if not q:
                    del opp[best]
                m.status = "executed"
                self._done(m)
            self.fills.append(fill)
            self.updates.append(OrderUpdate(m, "fill", ts_ns))

    def cancel(self, order_id: str, ts_ns: int, reason: str = "canceled") -> Qty | None:
        """Cancel a resting order; None if it is not resting (unknown, canceled, executed)."""
        o = self.orders.get(order_id)
        if o is None or o.status != "resting" or o.remaining <= 0:
            return None
        n = o.remaining
        self._unrest(o)
        self._change(o, -n, ts_ns)
        o.remaining = 0
        o.status = "canceled"
        o.updated_ns = ts_ns
        self.updates.append(OrderUpdate(o, reason, ts_ns))
        return n

    def decrease(self, order_id: str, to_remaining: Qty, ts_ns: int) -> Qty | None:
        """Shrink a resting order in place (keeps priority); to 0 cancels it."""
        o = self.orders.get(order_id)
        if o is None or o.status != "resting":
            return None
        to_remaining = max(0, to_remaining)
        if to_remaining == 0:
            return self.cancel(order_id, ts_ns)
        d = o.remaining - to_remaining
        if d <= 0:
            return 0
        o.remaining = to_remaining
        o.initial -= d
        o.updated_ns = ts_ns
        self._change(o, -d, ts_ns)
        self.updates.append(OrderUpdate(o, "decreased", ts_ns))
        return d

    def amend(self, order_id: str, price: Price, total: Qty, ts_ns: int) -> Order | None:
        """New price and new total (filled + resting). Only a pure size decrease keeps priority."""
        o = self.orders.get(order_id)
        if o is None or o.status != "resting":
            return None
        new_rem = total - o.filled
        if new_rem <= 0:
            self.cancel(order_id, ts_ns)
            return o
        if price == o.price and new_rem <= o.remaining:
            self.decrease(order_id, new_rem, ts_ns)
            o.initial = total
            return o
        self._unrest(o)
        self._change(o, -o.remaining, ts_ns)
        o.price = price
        o.initial = total
        o.remaining = new_rem
        o.updated_ns = ts_ns
        self._match(o, ts_ns)
        if o.remaining > 0 and o.status == "resting":
            self._rest(o, ts_ns)
        elif o.status == "resting":
            o.status = "executed"
        self.updates.append(OrderUpdate(o, "amended", ts_ns))
        return o

    def expire(self, ts_ns: int) -> list[str]:
        """Cancel resting GTC orders whose expiration_time has passed."""
        now_s = ts_ns // 1_000_000_000
        gone = [
            o.order_id
            for lv in self.live.values()
            for o in lv.values()
            if o.expiration_ts is not None and o.expiration_ts <= now_s
        ]
        for oid in gone:
            self.cancel(oid, ts_ns, reason="expired")
        return gone

    def cancel_market(self, ticker: str, ts_ns: int) -> list[str]:
        """Cancel every resting order on one market (close, pause reactivation)."""
        b = self.book(ticker)
        ids = [o.order_id for side in (b.bids, b.asks) for q in side.values() for o in q]
        for oid in ids:
            self.cancel(oid, ts_ns)
        return ids

    def resting(self, user: str | None = None) -> list[Order]:
        if user is not None:
            return list(self.live.get(user, {}).values())
        return [o for lv in self.live.values() for o in lv.values()]
