"""Market terms the pure layers share: strikes, fee schedules, and the fee formulas.

Quadratic fees (Kalshi, protocol doc §7): taker fee = roundup(m x 0.07 x C x P x (1-P)) to $0.0001 per
fill; makers pay m x 0.0175 x C x P x (1-P) only on `quadratic_with_maker_fees` series
(0.5 x taker on `quadratic_with_combo_maker_fees`), nothing on plain `quadratic`. `m` is the
series fee_multiplier (event overrides win). Polymarket fees live in their venue package.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

from pmbot.core.money import ONE, Micros, Price, PriceGrid, Qty

__all__ = [
    "FeeSchedule",
    "FeeType",
    "MarketSpec",
    "StrikeType",
    "quadratic_fee",
    "strike_wins",
]


class FeeType(StrEnum):
    QUADRATIC = "quadratic"
    QUADRATIC_WITH_MAKER_FEES = "quadratic_with_maker_fees"
    QUADRATIC_WITH_COMBO_MAKER_FEES = "quadratic_with_combo_maker_fees"
    FLAT = "flat"


_ZERO = Fraction(0)
_QUARTER = Fraction(1, 4)
_HALF = Fraction(1, 2)


class StrikeType(StrEnum):
    BETWEEN = "between"
    GREATER = "greater"
    GREATER_OR_EQUAL = "greater_or_equal"
    LESS = "less"
    LESS_OR_EQUAL = "less_or_equal"


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """A series' fee rule: type and multiplier (exact, e.g. Fraction(1, 2))."""

    fee_type: FeeType = FeeType.QUADRATIC
    multiplier: Fraction = Fraction(1)

    def maker_share(self) -> Fraction:
        """Maker fee as a share of the taker coefficient."""
        if self.fee_type is FeeType.QUADRATIC_WITH_MAKER_FEES:
            return _QUARTER
        if self.fee_type is FeeType.QUADRATIC_WITH_COMBO_MAKER_FEES:
            return _HALF
        return _ZERO  # shared immutable constants: quoting asks this per market per tick

    def fee(self, count: Qty, price: Price, *, maker: bool) -> Micros:
        return quadratic_fee(count, price, self, maker=maker)


_TAKER = Fraction(7, 100)
_ROUND = 100  # fees round up to $0.0001 = 100 micros


def quadratic_fee(count: Qty, price: Price, schedule: FeeSchedule, *, maker: bool) -> Micros:
    """Fee of one fill in micros, rounded up to $0.0001 as Kalshi does per fill.

    count in 1e-2 contracts, price in 1e-4 dollars. 1 contract at 0.52 taker, m=1 -> 17500.
    """
    if count <= 0:
        return 0
    coef = _TAKER * schedule.multiplier
    if maker:
        coef *= schedule.maker_share()
        if not coef:
            return 0
    # C*P*(1-P) in units of 1e-2 * 1e-4 * 1e-4 = 1e-10 dollars; micros = 1e-6 -> /1e4
    raw = coef * count * price * (ONE - price) / 10_000
    q, r = divmod(raw.numerator, raw.denominator * _ROUND)
    return (q + (1 if r else 0)) * _ROUND


@dataclass(frozen=True, slots=True)
class MarketSpec:
    """What pricing and quoting need to know about one binary market."""

    ticker: str
    event_ticker: str
    series_ticker: str
    strike_type: StrikeType
    floor_strike: float | None
    cap_strike: float | None
    grid: PriceGrid
    fees: FeeSchedule
    close_ts_ns: int
    title: str = ""

    def yes_wins(self, value: float) -> bool:
        """Whether YES pays at this reference value (Kalshi strike semantics)."""
        return strike_wins(self.strike_type, self.floor_strike, self.cap_strike, value)


def strike_wins(st: StrikeType, lo: float | None, hi: float | None, value: float) -> bool:
    """YES pays: between floor <= v <= cap; greater v > floor; greater_or_equal v >= floor;
    less v < cap; less_or_equal v <= cap (any consistent number type: float or fixed-point int)."""
    if st is StrikeType.BETWEEN:
        assert lo is not None and hi is not None
        return lo <= value <= hi
    if st is StrikeType.GREATER:
        assert lo is not None
        return value > lo
    if st is StrikeType.GREATER_OR_EQUAL:
        assert lo is not None
        return value >= lo
    if st is StrikeType.LESS:
        assert hi is not None
        return value < hi
    assert hi is not None
    return value <= hi
