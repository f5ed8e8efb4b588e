"""What a run writes down: fills, markout marks, periodic samples, settlements, counters.

Plain lists of tuples while running (cheap appends), turned into numpy arrays by `metrics`.
Money is integer Micros; fair values and mids are floats (probabilities).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Journal"]


@dataclass(slots=True)
class Journal:
    tickers: tuple[str, ...]
    events: tuple[str, ...]
    horizons_s: tuple[int, ...]
    # (ts, mkt, sign, price, qty, fee, taker, fair, mid, queue_wait_ns)
    fills: list[tuple[int, int, int, int, int, int, int, float, float, int]] = field(
        default_factory=list
    )
    # per fill, per horizon: (fair, mid) at t + h (payoff 0/1 once settled)
    marks: list[list[tuple[float, float]]] = field(default_factory=list)
    # (ts, pnl_fair, pnl_mid, fees, cash) Micros
    samples: list[tuple[int, int, int, int, int]] = field(default_factory=list)
    inventory: list[tuple[int, ...]] = field(default_factory=list)  # per sample, per market
    # extremes between samples too (updated at every fill, settlement and sample): the
    # largest fall of the fair-marked PnL from its running peak (Micros), the largest |q| per
    # market and of the sum of |q| over markets
    max_drawdown: int = 0
    max_abs_inventory: list[int] = field(default_factory=list)
    max_abs_total: int = 0
    # per sample, per market: (fair, public bid, public ask, our bid, our ask) prices as floats
    quotes: list[tuple[tuple[float, float, float, float, float], ...]] = field(default_factory=list)
    # (event, value, ts) and per market (mkt, qty_at_close, fair_before, payoff)
    settlements: list[tuple[str, float, int]] = field(default_factory=list)
    settled: list[tuple[int, int, float, int]] = field(default_factory=list)
    placed: int = 0
    placed_qty: int = 0
    cancels: int = 0
    amends: int = 0
    decreases: int = 0
    rejects: int = 0
    rate_limited: int = 0  # write calls that had to wait for rate-limit tokens
    decisions: int = 0
    events_processed: int = 0
    quote_seconds: float = 0.0  # sum over samples of (seconds two-sided quoting), per market avg
    final_cash: int = 0
    final_fees: int = 0
