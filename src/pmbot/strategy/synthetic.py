"""Synthetic ladder events for tests, benchmarks and simulator seeds (no I/O, no randomness).

A ladder of `n` markets around `center`: a bottom tail (S < lo), `n - 2` buckets of `width`
points, a top tail (S > hi); the fair values come from a normal distribution of the index at
the reference time, so they sum to 1 across the ladder as the real pricer's do.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import Any

from pmbot.core.book import BinaryBook
from pmbot.core.fairvalue import EventFairValue
from pmbot.core.market import FeeSchedule, MarketSpec, StrikeType
from pmbot.core.money import ONE, Price, PriceGrid, Qty
from pmbot.strategy.inputs import QuoteInputs

__all__ = ["books_around", "fresh_inputs", "ladder_fair", "ladder_markets", "two_sided_book"]


def ladder_markets(
    n: int,
    center: float = 6000.0,
    width: float = 25.0,
    *,
    event: str = "EVT",
    fees: FeeSchedule | None = None,
    grid: PriceGrid | None = None,
    close_ts_ns: int = 0,
) -> tuple[MarketSpec, ...]:
    """`n >= 3` markets: bottom tail, n - 2 buckets, top tail; edges every `width` points."""
    if n < 3:
        raise ValueError("a ladder needs at least 3 markets")
    fees = fees if fees is not None else FeeSchedule()
    grid = grid if grid is not None else PriceGrid.linear_cent()
    lo = center - width * (n - 2) / 2
    edges = [lo + width * i for i in range(n - 1)]
    out = [
        MarketSpec(
            f"{event}-T{edges[0]:g}L",
            event,
            "SER",
            StrikeType.LESS,
            None,
            edges[0],
            grid,
            fees,
            close_ts_ns,
        )
    ]
    for a in edges[:-1]:
        out.append(
            MarketSpec(
                f"{event}-B{a:g}",
                event,
                "SER",
                StrikeType.BETWEEN,
                a,
                a + width - 0.01,
                grid,
                fees,
                close_ts_ns,
            )
        )
    out.append(
        MarketSpec(
            f"{event}-T{edges[-1]:g}G",
            event,
            "SER",
            StrikeType.GREATER,
            edges[-1],
            None,
            grid,
            fees,
            close_ts_ns,
        )
    )
    return tuple(out)


def _edges(markets: tuple[MarketSpec, ...]) -> tuple[float, ...]:
    e = {m.floor_strike for m in markets if m.floor_strike is not None}
    e |= {m.cap_strike for m in markets if m.strike_type is StrikeType.LESS and m.cap_strike}
    return tuple(sorted(e))


def ladder_fair(
    markets: tuple[MarketSpec, ...], level: float, sigma: float, ts_ns: int = 0
) -> EventFairValue:
    """Normal(level, sigma) fair values on the ladder's strike partition."""
    edges = _edges(markets)

    def cdf(x: float) -> float:
        return 0.5 * math.erfc(-(x - level) / (sigma * math.sqrt(2.0)))

    cs = [0.0, *(cdf(x) for x in edges), 1.0]
    probs = tuple(b - a for a, b in itertools.pairwise(cs))
    fv = EventFairValue(markets[0].event_ticker, ts_ns, level, edges, probs, sigma=sigma)
    pts = fv.cell_points()
    fair = {
        m.ticker: math.fsum(p for p, v in zip(probs, pts, strict=True) if m.yes_wins(v))
        for m in markets
    }
    return EventFairValue(markets[0].event_ticker, ts_ns, level, edges, probs, fair, {}, sigma)


def two_sided_book(
    spec: MarketSpec, bid: Price | None, ask: Price | None, size: Qty = 10_000
) -> BinaryBook:
    """A book with one YES bid level and one YES ask level (a NO bid at ONE - ask)."""
    b = BinaryBook(spec.grid, spec.ticker)
    yes = [] if bid is None else [(bid, size)]
    no = [] if ask is None else [(ONE - ask, size)]
    b.apply_snapshot(yes, no)
    return b


def books_around(
    markets: tuple[MarketSpec, ...], fair: EventFairValue, half_spread: Price = 300
) -> Mapping[str, BinaryBook]:
    """Books quoted `half_spread` around fair (clipped into the grid)."""
    out = {}
    for m in markets:
        p = round(fair.fair[m.ticker] * ONE)
        g = m.grid
        bid = g.floor(p - half_spread)
        ask = g.ceil(p + half_spread)
        out[m.ticker] = two_sided_book(
            m, bid if 0 < bid < ONE else None, ask if 0 < ask < ONE else None
        )
    return out


def fresh_inputs(
    markets: tuple[MarketSpec, ...],
    fair: EventFairValue | None,
    books: Mapping[str, BinaryBook | None],
    ts_ns: int,
    **kw: Any,
) -> QuoteInputs:
    """A snapshot whose feeds are all current at `ts_ns`, an hour before the reference."""
    base: dict[str, Any] = {
        "book_ts_ns": {m.ticker: ts_ns for m in markets},
        "index_ts_ns": ts_ns,
        "reference_ts_ns": ts_ns + 3_600_000_000_000,
    }
    base.update(kw)
    return QuoteInputs(ts_ns, markets[0].event_ticker, markets, fair, books, **base)
