"""BinaryBook: the order book of one binary market, as Kalshi models it.

A market has YES bids and NO bids only. A NO bid at q is a YES ask at 1 - q, so the
best YES ask is ONE - best NO bid and the best NO ask is ONE - best YES bid.

Sizes live in two dense lists indexed by grid tick (YES leg: the market's grid; NO leg:
its mirror, NO-leg prices), with the best tick of each leg cached. A delta is one list
write and, only when the best level empties, a short downward scan. This is the hottest
code in the bot: keep `apply_tick` branch-light and allocation-free.

Both wire conventions are supported: `use_yes_price=False` sends NO levels at NO-leg
prices (0.48), `use_yes_price=True` at YES-scale prices (0.52 for the same level);
`no_tick(price, yes_scale=...)` maps either onto the NO leg.
"""

from __future__ import annotations

from collections.abc import Iterable

from pmbot.core.money import ONE, Price, PriceGrid, PriceRange, Qty, fmt_price
from pmbot.errors import BookError, UnitError

__all__ = ["BinaryBook", "Level"]

Level = tuple[Price, Qty]


def _mirror(grid: PriceGrid) -> PriceGrid:
    if grid.symmetric():
        return grid
    return PriceGrid([PriceRange(p, p, 1) for p in (ONE - q for q in grid.prices)])


class BinaryBook:
    """YES-bid and NO-bid ladders of one market with cached best levels."""

    __slots__ = ("_bn", "_by", "_no", "_yes", "grid", "no_grid", "ticker")

    def __init__(self, grid: PriceGrid, ticker: str = "") -> None:
        self.grid = grid
        self.no_grid = _mirror(grid)
        self.ticker = ticker
        self._yes: list[int] = [0] * len(grid)
        self._no: list[int] = [0] * len(self.no_grid)
        self._by = -1  # best YES-bid tick, -1 when empty
        self._bn = -1  # best NO-bid tick, -1 when empty

    # ---- price <-> tick -------------------------------------------------------------
    def yes_tick(self, price: Price) -> int:
        try:
            return self.grid.tick(price)
        except UnitError as e:
            raise BookError(f"{self.ticker}: YES {e}") from None

    def no_tick(self, price: Price, *, yes_scale: bool = False) -> int:
        """NO level price -> NO-leg tick; `yes_scale` when the wire used use_yes_price."""
        try:
            return self.no_grid.tick(ONE - price if yes_scale else price)
        except UnitError as e:
            raise BookError(f"{self.ticker}: NO {e}") from None

    # ---- updates --------------------------------------------------------------------
    def clear(self) -> None:
        self._yes = [0] * len(self._yes)
        self._no = [0] * len(self._no)
        self._by = self._bn = -1

    def apply_snapshot(
        self, yes: Iterable[Level], no: Iterable[Level], *, yes_scale: bool = False
    ) -> None:
        """Replace the book with these bid levels (NO levels per `yes_scale`)."""
        ys = [0] * len(self._yes)
        ns = [0] * len(self._no)
        for p, q in yes:
            if q < 0:
                raise BookError(f"{self.ticker}: negative size at YES {fmt_price(p)}")
            ys[self.yes_tick(p)] += q
        for p, q in no:
            if q < 0:
                raise BookError(f"{self.ticker}: negative size at NO {fmt_price(p)}")
            ns[self.no_tick(p, yes_scale=yes_scale)] += q
        self._yes, self._no = ys, ns
        self._by = _top(ys, len(ys) - 1)
        self._bn = _top(ns, len(ns) - 1)

    def apply_delta(
        self, is_yes: bool, price: Price, delta: Qty, *, yes_scale: bool = False
    ) -> None:
        """Apply a signed size change at a price (NO prices per `yes_scale`)."""
        if is_yes:
            t = self.grid._index.get(price)
            if t is None:
                raise BookError(f"{self.ticker}: YES price {fmt_price(price)} is off the grid")
        else:
            t = self.no_grid._index.get(ONE - price if yes_scale else price)
            if t is None:
                raise BookError(f"{self.ticker}: NO price {fmt_price(price)} is off the grid")
        self.apply_tick(is_yes, t, delta)

    def apply_tick(self, is_yes: bool, tick: int, delta: Qty) -> None:
        """Apply a signed size change at a tick; a negative result is an error."""
        if is_yes:
            lv = self._yes
            new = lv[tick] + delta
            if new < 0:
                raise BookError(f"{self.ticker}: YES level {tick} would go negative ({new})")
            lv[tick] = new
            b = self._by
            if new:
                if tick > b:
                    self._by = tick
            elif tick == b:
                while b >= 0 and not lv[b]:
                    b -= 1
                self._by = b
        else:
            lv = self._no
            new = lv[tick] + delta
            if new < 0:
                raise BookError(f"{self.ticker}: NO level {tick} would go negative ({new})")
            lv[tick] = new
            b = self._bn
            if new:
                if tick > b:
                    self._bn = tick
            elif tick == b:
                while b >= 0 and not lv[b]:
                    b -= 1
                self._bn = b

    # ---- queries --------------------------------------------------------------------
    def best_yes_bid(self) -> Level | None:
        b = self._by
        return None if b < 0 else (self.grid.prices[b], self._yes[b])

    def best_no_bid(self) -> Level | None:
        b = self._bn
        return None if b < 0 else (self.no_grid.prices[b], self._no[b])

    def best_yes_ask(self) -> Level | None:
        """The best YES offer: ONE minus the best NO bid, with its size."""
        b = self._bn
        return None if b < 0 else (ONE - self.no_grid.prices[b], self._no[b])

    def best_no_ask(self) -> Level | None:
        b = self._by
        return None if b < 0 else (ONE - self.grid.prices[b], self._yes[b])

    def best_ticks(self) -> tuple[int, int]:
        """(best YES-bid tick, best NO-bid tick), -1 for an empty side: equal pairs mean
        equal best bid and ask prices."""
        return self._by, self._bn

    def yes_bid_price(self) -> Price | None:
        return None if self._by < 0 else self.grid.prices[self._by]

    def yes_ask_price(self) -> Price | None:
        return None if self._bn < 0 else ONE - self.no_grid.prices[self._bn]

    def size_at(self, is_yes: bool, price: Price, *, yes_scale: bool = False) -> Qty:
        if is_yes:
            return self._yes[self.yes_tick(price)]
        return self._no[self.no_tick(price, yes_scale=yes_scale)]

    def depth(self, is_yes: bool, n: int | None = None) -> list[Level]:
        """Bid levels of one leg, best first (NO leg at NO-leg prices)."""
        lv, prices, b = (
            (self._yes, self.grid.prices, self._by)
            if is_yes
            else (self._no, self.no_grid.prices, self._bn)
        )
        out: list[Level] = []
        for t in range(b, -1, -1):
            if lv[t]:
                out.append((prices[t], lv[t]))
                if n is not None and len(out) >= n:
                    break
        return out

    def levels(self) -> tuple[list[Level], list[Level]]:
        """(YES bids, NO bids) ascending by price, best last: the wire's own order."""
        return self.depth(True)[::-1], self.depth(False)[::-1]

    def total(self, is_yes: bool) -> Qty:
        return sum(self._yes if is_yes else self._no)

    def is_empty(self) -> bool:
        return self._by < 0 and self._bn < 0

    def crossed(self) -> bool:
        """True when the best YES bid meets or crosses the best YES ask."""
        if self._by < 0 or self._bn < 0:
            return False
        return self.grid.prices[self._by] + self.no_grid.prices[self._bn] >= ONE

    def mid(self) -> float | None:
        """Mid probability of the YES leg (a model signal, not money); None if one-sided."""
        if self._by < 0 or self._bn < 0:
            return None
        bid = self.grid.prices[self._by]
        ask = ONE - self.no_grid.prices[self._bn]
        return (bid + ask) / (2 * ONE)

    def microprice(self) -> float | None:
        """Size-weighted mid: leans toward the side with less size at the top."""
        if self._by < 0 or self._bn < 0:
            return None
        bid, bq = self.grid.prices[self._by], self._yes[self._by]
        ask, aq = ONE - self.no_grid.prices[self._bn], self._no[self._bn]
        return (bid * aq + ask * bq) / ((aq + bq) * ONE)

    def copy(self) -> BinaryBook:
        other = BinaryBook.__new__(BinaryBook)
        other.grid, other.no_grid, other.ticker = self.grid, self.no_grid, self.ticker
        other._yes, other._no = list(self._yes), list(self._no)
        other._by, other._bn = self._by, self._bn
        return other

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BinaryBook):
            return NotImplemented
        return self._yes == other._yes and self._no == other._no

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"BinaryBook({self.ticker!r}, bid={self.best_yes_bid()}, ask={self.best_yes_ask()})"


def _top(lv: list[int], start: int) -> int:
    b = start
    while b >= 0 and not lv[b]:
        b -= 1
    return b
