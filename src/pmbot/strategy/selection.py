"""Market selection: which event to quote now, and which of its markets.

The event is the one with the next reference time (close) still ahead by more than the
pull threshold; its markets are those whose strike interval comes within `band` index
points of the index level, nearest first, at most `max_markets`. Pure: time and the index
level are arguments.
"""

from __future__ import annotations

from collections.abc import Iterable

from pmbot.core.market import MarketSpec, StrikeType

__all__ = ["distance_to_strike", "select_event", "select_markets"]


def distance_to_strike(m: MarketSpec, level: float) -> float:
    """Index points from `level` to the market: 0 inside a bucket, else to its nearest edge.

    Thresholds and tails measure to their one strike, so deep in-the-money thresholds
    (priced near 1, nothing to make) do not crowd out the ones near the money.
    """
    lo, hi = m.floor_strike, m.cap_strike
    if m.strike_type is not StrikeType.BETWEEN:
        # thresholds and tails: what matters is how far the one strike is from the level
        k = lo if m.strike_type in (StrikeType.GREATER, StrikeType.GREATER_OR_EQUAL) else hi
        return abs(level - k) if k is not None else float("inf")
    if lo is not None and level < lo:
        return lo - level
    if hi is not None and level > hi:
        return level - hi
    return 0.0


def select_event(
    markets: Iterable[MarketSpec], now_ns: int, min_time_left_ns: int = 0
) -> str | None:
    """The event ticker with the earliest close still more than `min_time_left_ns` away."""
    best: tuple[int, str] | None = None
    for m in markets:
        if m.close_ts_ns - now_ns > min_time_left_ns and (
            best is None or (m.close_ts_ns, m.event_ticker) < best
        ):
            best = (m.close_ts_ns, m.event_ticker)
    return None if best is None else best[1]


def select_markets(
    markets: Iterable[MarketSpec], event_ticker: str, level: float, band: float, max_markets: int
) -> list[MarketSpec]:
    """Markets of the event within `band` points of `level`, nearest first."""
    cands = [
        (distance_to_strike(m, level), m.ticker, m)
        for m in markets
        if m.event_ticker == event_ticker
    ]
    cands = [c for c in cands if c[0] <= band]
    cands.sort(key=lambda c: (c[0], c[1]))
    return [m for _, _, m in cands[:max_markets]]
