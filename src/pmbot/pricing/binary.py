"""Fair value of a standalone binary market with no index model (e.g. a Polymarket question).

The strategy and the risk gate price an *event* on a partition of an outcome line
(core/fairvalue.py). A single binary market is the smallest such event: one market whose
YES wins above 0.5 on a two-cell line, `edges = (0.5,)`, `cell_probs = (1 - p, p)`.
Then inventory, worst-case loss and reservation prices all reduce to the one market.

The probability `p` comes from one of two sources:
* "external": a number the operator (or another model) supplies;
* "microprice": the size-weighted mid of the book's top levels *without our own orders*
  (quoting around a price that contains our own size would chase itself). A one-sided
  or empty book gives None: no fair value, so the gate halts that market (never a
  default price).
"""

from __future__ import annotations

from collections.abc import Mapping

from pmbot.core.book import BinaryBook, Level
from pmbot.core.fairvalue import EventFairValue
from pmbot.core.market import FeeSchedule, MarketSpec, StrikeType
from pmbot.core.money import ONE, Price, PriceGrid, Qty

__all__ = ["SOURCES", "binary_fair", "binary_spec", "fair_probability", "microprice_ex"]

SOURCES = ("microprice", "external")
_LINE = 0.5  # the outcome line: cell 0 = NO wins, cell 1 = YES wins


def binary_spec(
    ticker: str,
    grid: PriceGrid,
    close_ts_ns: int,
    *,
    title: str = "",
    fees: FeeSchedule | None = None,
    series: str = "binary",
) -> MarketSpec:
    """A one-market event (its own event ticker) whose YES pays in the upper cell.

    `fees` defaults to a schedule that charges makers nothing (Polymarket makers pay no
    fee); `grid` is the market's order tick grid.
    """
    return MarketSpec(
        ticker,
        ticker,
        series,
        StrikeType.GREATER,
        _LINE,
        None,
        grid,
        fees if fees is not None else FeeSchedule(),
        close_ts_ns,
        title,
    )


def binary_fair(ticker: str, p: float, ts_ns: int) -> EventFairValue:
    """The event fair value of one binary market at probability `p` (0 < p < 1)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"probability {p} outside (0, 1)")
    return EventFairValue(
        event_ticker=ticker,
        ts_ns=ts_ns,
        index_level=p,
        edges=(_LINE,),
        cell_probs=(1.0 - p, p),
        fair={ticker: p},
        delta={ticker: 0.0},
    )


def _best_ex(levels: list[Level], own: Mapping[Price, Qty]) -> Level | None:
    for px, q in levels:
        left = q - own.get(px, 0)
        if left > 0:
            return px, left
    return None


def microprice_ex(
    book: BinaryBook,
    own_bids: Mapping[Price, Qty] | None = None,
    own_asks: Mapping[Price, Qty] | None = None,
) -> float | None:
    """Micro-price (probability) of the book net of our own resting sizes.

    `own_bids` / `own_asks` map YES prices to our resting size there (an ask at a is a
    NO bid at 1 - a in the book). None when either side is empty after removing ours.
    """
    bids = _best_ex(book.depth(True), own_bids or {})
    no_own = {ONE - p: q for p, q in (own_asks or {}).items()}
    nos = _best_ex(book.depth(False), no_own)
    if bids is None or nos is None:
        return None
    bid, bq = bids
    ask, aq = ONE - nos[0], nos[1]
    if bid >= ask:
        return None  # crossed: a match in flight, no trustworthy price
    return (bid * aq + ask * bq) / ((aq + bq) * ONE)


def fair_probability(
    source: str,
    book: BinaryBook | None,
    *,
    external: float | None = None,
    own_bids: Mapping[Price, Qty] | None = None,
    own_asks: Mapping[Price, Qty] | None = None,
) -> float | None:
    """The fair P(YES) from the configured source; None when it cannot be known."""
    if source == "external":
        return external if external is not None and 0.0 < external < 1.0 else None
    if source == "microprice":
        return None if book is None else microprice_ex(book, own_bids, own_asks)
    raise ValueError(f"unknown fair value source {source!r}")
