"""Pure matching engine for Polymarket binary markets: one unified book per YES/NO pair.

Every order is placed in YES space: a YES BUY at p is a bid at p, a YES SELL an ask at p,
a NO BUY at q an ask at 1 - q (it meets YES bids: a mint), a NO SELL at q a bid at 1 - q
(it meets YES asks or NO buys: a merge or a plain transfer). The two tokens' books are the
two views of this one ladder, which is why they mirror (protocol doc §5).

Prices are `Price` (1e-4 $) in the order's own token; sizes are micro-shares (1e-6, the
chain's base unit), so market-order fills with 4 decimals stay exact. The taker trades at
the maker's price (price improvement goes to the taker). Time and ids come in from the
caller; nothing here reads a clock or sockets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from pmbot.core.money import ONE, Price

__all__ = ["Book", "EngineOrder", "Fill", "LevelChange", "MatchError", "Place", "PolyEngine"]

Micro = int  # 1e-6 shares or dollars


class MatchError(Exception):
    """An order refused by matching rules; `text` is the venue's exact message."""

    def __init__(self, text: str, code: str) -> None:
        super().__init__(text)
        self.text = text
        self.code = code


@dataclass(slots=True)
class EngineOrder:
    id: str
    owner: str  # API key
    maker_address: str
    market: str
    token_id: str
    is_yes: bool
    side: str  # BUY | SELL (in its own token)
    price: Price  # own-token price
    original: Micro
    order_type: str = "GTC"
    expiration: int = 0  # unix s, 0 = none
    created_ms: int = 0
    matched: Micro = 0
    status: str = "LIVE"
    trades: list[str] = field(default_factory=list)

    @property
    def remaining(self) -> Micro:
        return self.original - self.matched

    @property
    def yes_bid(self) -> bool:
        """Whether this order rests on the YES-space bid side."""
        return self.is_yes == (self.side == "BUY")

    @property
    def yes_price(self) -> Price:
        return self.price if self.is_yes else ONE - self.price


@dataclass(frozen=True, slots=True)
class Fill:
    maker: EngineOrder
    size: Micro  # shares of each side (one YES-space unit)
    yes_price: Price  # the maker's YES-space price

    def price_for(self, o: EngineOrder) -> Price:
        return self.yes_price if o.is_yes else ONE - self.yes_price


@dataclass(frozen=True, slots=True)
class LevelChange:
    """A YES-space level's new aggregate size (the server fans it out to both tokens)."""

    yes_bid: bool
    yes_price: Price
    size: Micro


@dataclass(slots=True)
class Place:
    order: EngineOrder
    fills: list[Fill]
    rests: bool
    changes: list[LevelChange]


class Book:
    """One market: YES-space bids and asks, each price -> FIFO list of orders."""

    __slots__ = (
        "asks",
        "bids",
        "cid",
        "fee_rate_bps",
        "min_size",
        "neg_risk",
        "no_token",
        "tick",
        "yes_token",
    )

    def __init__(
        self,
        cid: str,
        yes_token: str,
        no_token: str,
        tick: Price,
        min_size: Micro,
        neg_risk: bool = False,
        fee_rate_bps: int = 0,
    ) -> None:
        self.cid, self.yes_token, self.no_token = cid, yes_token, no_token
        self.tick, self.min_size, self.neg_risk, self.fee_rate_bps = (
            tick,
            min_size,
            neg_risk,
            fee_rate_bps,
        )
        self.bids: dict[Price, list[EngineOrder]] = {}
        self.asks: dict[Price, list[EngineOrder]] = {}

    def side(self, yes_bid: bool) -> dict[Price, list[EngineOrder]]:
        return self.bids if yes_bid else self.asks

    def size_at(self, yes_bid: bool, p: Price) -> Micro:
        return sum(o.remaining for o in self.side(yes_bid).get(p, ()))

    def best(self, yes_bid: bool) -> Price | None:
        s = self.side(yes_bid)
        if not s:
            return None
        return max(s) if yes_bid else min(s)

    def levels(self, yes_bid: bool) -> list[tuple[Price, Micro]]:
        """YES-space levels, best last (the wire's order)."""
        s = self.side(yes_bid)
        return sorted(((p, sum(o.remaining for o in q)) for p, q in s.items()), reverse=not yes_bid)

    def token_levels(
        self, is_yes: bool
    ) -> tuple[list[tuple[Price, Micro]], list[tuple[Price, Micro]]]:
        """(bids ascending, asks descending) of one token, prices in that token."""
        if is_yes:
            return self.levels(True), self.levels(False)
        bids = [(ONE - p, q) for p, q in self.levels(False)]
        asks = [(ONE - p, q) for p, q in self.levels(True)]
        return bids, asks

    def orders(self) -> Iterator[EngineOrder]:
        for s in (self.bids, self.asks):
            for q in s.values():
                yield from q


class PolyEngine:
    """Books by condition id, orders by id. The server owns balances and the trade lifecycle."""

    def __init__(self) -> None:
        self.books: dict[str, Book] = {}
        self.by_token: dict[str, tuple[Book, bool]] = {}
        self.orders: dict[str, EngineOrder] = {}

    def add_market(self, book: Book) -> None:
        self.books[book.cid] = book
        self.by_token[book.yes_token] = (book, True)
        self.by_token[book.no_token] = (book, False)

    def token(self, token_id: str) -> tuple[Book, bool]:
        try:
            return self.by_token[token_id]
        except KeyError:
            raise MatchError("Invalid token id", "INVALID_ORDER_ERROR") from None

    # ---- placement --------------------------------------------------------------------
    def place(
        self,
        o: EngineOrder,
        *,
        post_only: bool = False,
        can_fill: Callable[[EngineOrder], bool] | None = None,
    ) -> Place:
        """Match `o` against the opposite YES-space side, then rest it (GTC/GTD) or kill it.

        `can_fill(maker)` lets the server skip makers whose funds vanished (they are left
        for the server to cancel).
        """
        book, _ = self.token(o.token_id)
        if o.price % book.tick or not book.tick <= o.price <= ONE - book.tick:
            raise MatchError(
                f"order {o.id} is invalid. Price ({_fmt(o.price)}) breaks minimum tick size rule: {_fmt(book.tick)}",
                "INVALID_ORDER_MIN_TICK_SIZE",
            )
        if o.order_type in ("GTC", "GTD") and o.original < book.min_size:
            raise MatchError(
                f"Size ({o.original / 1e6:g}) lower than the minimum: {book.min_size / 1e6:g}",
                "INVALID_ORDER_MIN_SIZE",
            )
        if o.id in self.orders:
            raise MatchError("order already exists", "INVALID_ORDER_DUPLICATED")
        bid = o.yes_bid
        lim = o.yes_price
        opp = book.side(not bid)

        def crosses(p: Price) -> bool:
            return p <= lim if bid else p >= lim

        avail_prices = sorted((p for p in opp if crosses(p)), reverse=not bid)
        if post_only and avail_prices:
            raise MatchError(
                "invalid post-only order: order crosses book", "INVALID_POST_ONLY_ORDER"
            )
        if o.order_type == "FOK":
            avail = sum(
                m.remaining for p in avail_prices for m in opp[p] if can_fill is None or can_fill(m)
            )
            if avail < o.original:
                raise MatchError(
                    "order couldn't be fully filled. FOK orders are fully filled or killed.",
                    "FOK_ORDER_NOT_FILLED_ERROR",
                )
        fills: list[Fill] = []
        changes: list[LevelChange] = []
        for p in avail_prices:
            if not o.remaining:
                break
            q = opp[p]
            for m in list(q):
                if not o.remaining:
                    break
                if can_fill is not None and not can_fill(m):
                    continue
                n = min(o.remaining, m.remaining)
                m.matched += n
                o.matched += n
                fills.append(Fill(m, n, p))
                if not m.remaining:
                    m.status = "MATCHED"
                    q.remove(m)
            if not q:
                del opp[p]
            changes.append(LevelChange(not bid, p, book.size_at(not bid, p)))
        if o.order_type == "FAK" and not fills:
            raise MatchError(
                "no orders found to match with FAK order. FAK orders are partially filled or killed if no match is found.",
                "FOK_ORDER_NOT_FILLED_ERROR",
            )
        rests = bool(o.remaining) and o.order_type in ("GTC", "GTD")
        self.orders[o.id] = o
        if rests:
            book.side(bid).setdefault(lim, []).append(o)
            changes.append(LevelChange(bid, lim, book.size_at(bid, lim)))
        else:
            o.status = "MATCHED" if not o.remaining else "CANCELED"
        return Place(o, fills, rests, changes)

    # ---- cancel / expire ----------------------------------------------------------------
    def cancel(self, order_id: str, status: str = "CANCELED") -> LevelChange | None:
        """Remove a resting order; None when it is not resting (unknown, matched, canceled)."""
        o = self.orders.get(order_id)
        if o is None or o.status != "LIVE":
            return None
        book, _ = self.token(o.token_id)
        side = book.side(o.yes_bid)
        q = side.get(o.yes_price, [])
        if o in q:
            q.remove(o)
            if not q:
                del side[o.yes_price]
        o.status = status
        return LevelChange(o.yes_bid, o.yes_price, book.size_at(o.yes_bid, o.yes_price))

    def live(self, owner: str | None = None) -> list[EngineOrder]:
        return [
            o
            for o in self.orders.values()
            if o.status == "LIVE" and (owner is None or o.owner == owner)
        ]

    def expired(self, now_s: int) -> list[EngineOrder]:
        """GTD orders past their effective end (expiration minus the 60 s security threshold)."""
        return [o for o in self.live() if o.expiration and now_s >= o.expiration - 60]


def _fmt(p: Price) -> str:
    s = f"{p / ONE:.4f}".rstrip("0")
    return s + "0" if s.endswith(".") else s
