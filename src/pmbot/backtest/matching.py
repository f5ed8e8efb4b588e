"""Our orders inside the pure matching engine, queued behind the recorded crowd.

The recorded tape gives only aggregated displayed size per level, never the individual
orders. The model (it decides every fill, so it is spelled out):

1. **Crowd orders.** At each level where we rest an order, the engine also holds "crowd"
   orders (user `crowd`) whose total equals the recorded displayed size at that level. When
   our order arrives (after the entry latency) the level's whole displayed size becomes one
   crowd order AHEAD of it; later size added to the level is appended BEHIND it. Levels
   where we have no order are not materialised (the public `BinaryBook` holds them).
2. **Trades advance the queue.** A public trade whose price reaches one of our orders is
   replayed into the engine as an IOC order of the recorded count at the recorded price
   (user `tape`): price-time priority then fills the crowd ahead of us first, then us,
   then the crowd behind. A print at a worse price than ours fills us first (a taker that
   printed there would have met our better price on the way).
3. **Cancels ahead.** When the recorded size at a watched level drops by more than trades
   explain, the excess is removed from the crowd by `cancel_model`: "prorata" (default;
   split between ahead and behind in proportion to their sizes, rounded down to whole
   contracts ahead when the cancel is whole),
   "back" (behind first: the queue only advances on trades, the pessimistic bound) or
   "front" (ahead first, the optimistic bound). Size we took from a print is then removed
   from behind us (the taker would have filled those orders had we not been there).
4. **Crossing liquidity.** Recorded size arriving at a price that crosses one of our resting
   orders is replayed as an order that trades with ours first (we are the maker).
5. **No market impact.** The public book stays exactly as recorded; our fills never remove
   recorded liquidity and our resting size is never shown to the other traders.
6. **Aggression.** A post-only order that would cross the recorded book is rejected; a
   non-post-only order trades against the recorded levels it crosses (we are the taker).

The tape orders trades before the deltas that remove their maker size at equal times (see
`tape`), which rule 3 relies on. Pure: no clock, no randomness.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pmbot.core.book import BinaryBook
from pmbot.core.market import MarketSpec
from pmbot.core.money import ONE, Price, Qty
from pmbot.sim.engine import GTC, IOC, Engine, Order

__all__ = ["CANCEL_MODELS", "OurFill", "Shadow"]

US, CROWD, TAPE = "us", "crowd", "tape"
CANCEL_MODELS = ("prorata", "back", "front")
NO_ASK = ONE + 1
LOT = 100  # one contract in Qty units


@dataclass(frozen=True, slots=True)
class OurFill:
    ts_ns: int
    mkt: int
    order_id: str
    sign: int  # +1 bought YES, -1 sold YES
    price: Price  # YES price
    qty: Qty
    taker: bool


class Shadow:
    """The engine holding our orders and the crowd at our levels, for every market."""

    def __init__(
        self,
        markets: Sequence[MarketSpec],
        books: Sequence[BinaryBook],
        cancel_model: str = "prorata",
    ) -> None:
        if cancel_model not in CANCEL_MODELS:
            raise ValueError(f"cancel_model must be one of {CANCEL_MODELS}")
        self.cancel_model = cancel_model
        self.engine = Engine()
        self.engine.transient_users.update((CROWD, TAPE))
        self.tickers = [m.ticker for m in markets]
        self.books = books
        self._mi = {t: i for i, t in enumerate(self.tickers)}
        n = len(markets)
        # per market: YES prices of our bids / our asks -> count of our orders there
        self.bid_lv: list[dict[Price, int]] = [{} for _ in range(n)]
        self.ask_lv: list[dict[Price, int]] = [{} for _ in range(n)]
        self.bid_max: list[int] = [-1] * n  # our best bid (YES price), -1 when none
        self.ask_min: list[int] = [NO_ASK] * n  # our best ask (YES price)
        self._owed: dict[tuple[int, bool, Price], Qty] = {}
        self._n = 0
        self.rejected = 0

    # ---- ids / helpers --------------------------------------------------------------------
    def _id(self, who: str) -> str:
        self._n += 1
        return f"{who[0]}{self._n}"

    def _public(self, m: int, is_bid: bool, price: Price) -> Qty:
        """Recorded displayed size at an engine level (bids: YES leg; asks: NO leg at 1-p)."""
        b = self.books[m]
        if is_bid:
            t = b.grid._index.get(price)
            return 0 if t is None else b._yes[t]
        t = b.no_grid._index.get(ONE - price)
        return 0 if t is None else b._no[t]

    def _queue(self, m: int, is_bid: bool, price: Price) -> list[Order]:
        bk = self.engine.books.get(self.tickers[m])
        if bk is None:
            return []
        q = (bk.bids if is_bid else bk.asks).get(price)
        return list(q) if q else []

    def _refresh_best(self, m: int) -> None:
        b, a = self.bid_lv[m], self.ask_lv[m]
        self.bid_max[m] = max(b) if b else -1
        self.ask_min[m] = min(a) if a else NO_ASK

    def _add_crowd(
        self, m: int, is_bid: bool, price: Price, qty: Qty, ts: int, tif: str = GTC
    ) -> None:
        if qty > 0:
            o = Order(
                self._id(CROWD),
                CROWD,
                self.tickers[m],
                "bid" if is_bid else "ask",
                price,
                qty,
                tif=tif,
            )
            self.engine.submit(o, ts)

    def _drop_level(self, m: int, is_bid: bool, price: Price, ts: int) -> None:
        for o in self._queue(m, is_bid, price):
            if o.user == CROWD:
                self.engine.cancel(o.order_id, ts)
        self._owed.pop((m, is_bid, price), None)

    # ---- our orders -------------------------------------------------------------------------
    def queue_ahead(self, order_id: str) -> Qty:
        return self.engine.queue_position(order_id)

    def place(
        self, ts: int, m: int, is_bid: bool, price: Price, qty: Qty, *, post_only: bool = True
    ) -> tuple[str | None, list[OurFill]]:
        """Submit our order; returns (order id if it rests, our fills)."""
        book = self.books[m]
        opp = book.yes_ask_price() if is_bid else book.yes_bid_price()
        crosses = opp is not None and (price >= opp if is_bid else price <= opp)
        if crosses and post_only:
            self.rejected += 1
            return None, []
        made: list[tuple[bool, Price]] = []
        if crosses:  # materialise the recorded levels we would take
            assert opp is not None
            lv = book.depth(not is_bid)  # opposite leg, best first, leg prices
            for p_leg, q in lv:
                yp = ONE - p_leg if is_bid else p_leg  # opposite leg -> YES price
                if (is_bid and yp > price) or (not is_bid and yp < price):
                    break
                lvmap = self.ask_lv[m] if is_bid else self.bid_lv[m]
                if yp not in lvmap:
                    self._add_crowd(m, not is_bid, yp, q, ts)
                    made.append((not is_bid, yp))
        lvmap = self.bid_lv[m] if is_bid else self.ask_lv[m]
        if price not in lvmap:
            self._add_crowd(m, is_bid, price, self._public(m, is_bid, price), ts)
        oid = self._id(US)
        o = Order(
            oid,
            US,
            self.tickers[m],
            "bid" if is_bid else "ask",
            price,
            qty,
            tif=GTC,
            post_only=post_only,
        )
        self.engine.submit(o, ts)
        fills = self._collect(ts)
        for side, p in made:
            self._drop_level(m, side, p, ts)
        if o.status == "resting" and o.remaining > 0:
            lvmap[price] = lvmap.get(price, 0) + 1
            self._refresh_best(m)
            self.engine.drain()
            return oid, fills
        if price not in lvmap:
            self._drop_level(m, is_bid, price, ts)
        self.engine.drain()
        return None, fills

    def _forget(self, o: Order, ts: int) -> None:
        """Our order left its level: unwatch the level when it was our last one there."""
        m = self._mi[o.ticker]
        lvmap = self.bid_lv[m] if o.is_bid else self.ask_lv[m]
        c = lvmap.get(o.price, 0) - 1
        if c > 0:
            lvmap[o.price] = c
        else:
            lvmap.pop(o.price, None)
            self._drop_level(m, o.is_bid, o.price, ts)
        self._refresh_best(m)

    def cancel(self, ts: int, order_id: str) -> Qty:
        """Cancel our order; returns the size removed (0 if it was no longer resting)."""
        o = self.engine.orders.get(order_id)
        n = self.engine.cancel(order_id, ts)
        if n is None or o is None:
            return 0
        self._forget(o, ts)
        self.engine.drain()
        return n

    def decrease(self, ts: int, order_id: str, to_remaining: Qty) -> Qty:
        """Shrink our resting order in place (keeps its queue position)."""
        o = self.engine.orders.get(order_id)
        if o is None or o.status != "resting":
            return 0
        if to_remaining <= 0:
            return self.cancel(ts, order_id)
        d = self.engine.decrease(order_id, to_remaining, ts) or 0
        self.engine.drain()
        return d

    def amend(self, ts: int, order_id: str, price: Price, qty: Qty) -> tuple[bool, list[OurFill]]:
        """New price and resting size; only a pure size decrease keeps queue priority (more
        size at the same price, or a new price, puts the order at the back of its level)."""
        o = self.engine.orders.get(order_id)
        if o is None or o.status != "resting":
            return False, []
        if price == o.price and qty <= o.remaining:
            return self.decrease(ts, order_id, qty) >= 0, []
        m = self._mi[o.ticker]
        book = self.books[m]
        opp = book.yes_ask_price() if o.is_bid else book.yes_bid_price()
        if opp is not None and (price >= opp if o.is_bid else price <= opp) and o.post_only:
            self.rejected += 1
            return False, []
        if price == o.price:
            # more size at the same price: the order goes to the back of its level (the engine
            # re-queues it), the crowd stays as it is, ahead and behind
            self.engine.amend(order_id, price, o.filled + qty, ts)
            fills = self._collect(ts)
            self.engine.drain()
            return True, fills
        lvmap = self.bid_lv[m] if o.is_bid else self.ask_lv[m]
        old = o.price
        c = lvmap.get(old, 0) - 1
        if c > 0:
            lvmap[old] = c
        else:
            lvmap.pop(old, None)
        if price not in lvmap:
            self._add_crowd(m, o.is_bid, price, self._public(m, o.is_bid, price), ts)
        self.engine.amend(order_id, price, o.filled + qty, ts)
        if old not in lvmap:
            self._drop_level(m, o.is_bid, old, ts)
        fills = self._collect(ts)
        if o.status == "resting" and o.remaining > 0:
            lvmap[price] = lvmap.get(price, 0) + 1
        elif price not in lvmap:
            self._drop_level(m, o.is_bid, price, ts)
        self._refresh_best(m)
        self.engine.drain()
        return True, fills

    def order(self, order_id: str) -> Order | None:
        return self.engine.orders.get(order_id)

    # ---- recorded flow ----------------------------------------------------------------------
    def on_delta(
        self, ts: int, m: int, is_yes: bool, leg_price: Price, delta: Qty
    ) -> list[OurFill]:
        """Called AFTER the public book applied the delta, when it may concern us."""
        is_bid = is_yes
        price = leg_price if is_yes else ONE - leg_price
        lvmap = self.bid_lv[m] if is_bid else self.ask_lv[m]
        if delta > 0 and (price >= self.ask_min[m] if is_bid else price <= self.bid_max[m]):
            # arriving size crosses our resting order: it would have traded with us first
            watched = price in lvmap
            before = self._crowd_at(m, is_bid, price) if watched else 0
            self._add_crowd(m, is_bid, price, delta, ts, GTC if watched else IOC)
            fills = self._collect(ts)
            if watched:
                taken = before + delta - self._crowd_at(m, is_bid, price)
                key = (m, is_bid, price)
                self._owed[key] = self._owed.get(key, 0) + taken
            self.engine.drain()
            return fills
        if price in lvmap:
            self._sync(ts, m, is_bid, price)
            self.engine.drain()
        return []

    def on_trade(
        self, ts: int, m: int, taker_buys_yes: bool, price: Price, count: Qty
    ) -> list[OurFill]:
        """A public print that reaches one of our orders (caller checks `bid_max`/`ask_min`)."""
        o = Order(
            self._id(TAPE),
            TAPE,
            self.tickers[m],
            "bid" if taker_buys_yes else "ask",
            price,
            count,
            tif=IOC,
        )
        self.engine.submit(o, ts)
        fills = self._collect(ts)
        for f in fills:  # size we took must come off the back of the queue at the next sync
            key = (m, f.sign > 0, f.price)
            self._owed[key] = self._owed.get(key, 0) + f.qty
        self.engine.drain()
        return fills

    def on_clear(self, ts: int, m: int) -> None:
        """A snapshot replaced the book: resync every level we watch in that market."""
        for p in list(self.bid_lv[m]):
            self._sync(ts, m, True, p)
        for p in list(self.ask_lv[m]):
            self._sync(ts, m, False, p)
        self.engine.drain()

    def _crowd_at(self, m: int, is_bid: bool, price: Price) -> Qty:
        return sum(o.remaining for o in self._queue(m, is_bid, price) if o.user == CROWD)

    def _sync(self, ts: int, m: int, is_bid: bool, price: Price) -> None:
        """Make the crowd at a watched level equal the recorded size (rules 1 and 3)."""
        q = self._queue(m, is_bid, price)
        target = self._public(m, is_bid, price)
        crowd = sum(o.remaining for o in q if o.user == CROWD)
        diff = crowd - target
        key = (m, is_bid, price)
        if diff <= 0:
            self._owed.pop(key, None)
            self._add_crowd(m, is_bid, price, -diff, ts)
            return
        first = next((i for i, o in enumerate(q) if o.user == US), len(q))
        ahead = [o for o in q[:first] if o.user == CROWD]
        behind = [o for o in q[first:] if o.user == CROWD]
        a_sz = sum(o.remaining for o in ahead)
        b_sz = crowd - a_sz
        owed = min(self._owed.pop(key, 0), diff, b_sz)
        rest = diff - owed
        cut_b = owed
        if self.cancel_model == "prorata":
            cut_a = rest * a_sz // (a_sz + b_sz) if a_sz + b_sz else 0
            if rest % LOT == 0:  # whole-contract cancels stay whole: no 0.01-contract crowd
                cut_a -= cut_a % LOT
            cut_b += rest - cut_a
            if cut_b > b_sz:  # rounding or owed pushed past the back: the rest is ahead
                cut_a += cut_b - b_sz
                cut_b = b_sz
        elif self.cancel_model == "back":
            extra = min(rest, b_sz - cut_b)
            cut_b += extra
            cut_a = rest - extra
        else:  # front
            cut_a = min(rest, a_sz)
            cut_b += rest - cut_a
        self._shrink(ahead, cut_a, ts, from_back=False)
        self._shrink(behind, cut_b, ts, from_back=True)

    def _shrink(self, orders: list[Order], amount: Qty, ts: int, *, from_back: bool) -> None:
        for o in reversed(orders) if from_back else orders:
            if amount <= 0:
                return
            take = min(amount, o.remaining)
            self.engine.decrease(o.order_id, o.remaining - take, ts)
            amount -= take

    def _collect(self, ts: int) -> list[OurFill]:
        out: list[OurFill] = []
        for f in self.engine.fills:
            for o, taker in ((f.maker, False), (f.taker, True)):
                if o.user == US:
                    m = self._mi[o.ticker]
                    out.append(
                        OurFill(ts, m, o.order_id, 1 if o.is_bid else -1, f.price, f.count, taker)
                    )
                    if o.status == "executed" and not taker:
                        self._forget(o, ts)
        self.engine.fills = []
        return out
