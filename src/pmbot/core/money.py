"""Exact units and price grids.

Every amount is an integer in a fixed unit; floats never carry money:

* `Price`  : 1e-4 dollars (Kalshi's 4-dp dollar strings; "0.5200" -> 5200). 1.0000 = 10_000.
* `Qty`    : 1e-2 contracts (Kalshi's 2-dp count strings; "10.00" -> 1000).
* `Micros` : 1e-6 dollars (fees and cash; "0.017500" -> 17500). Price x Qty is exactly Micros.

Parsers are strict (ASCII digits, one optional '.', optional leading '-', no exponent,
no more decimals than the unit holds unless they are zeros) and raise `UnitError`.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from pmbot.errors import UnitError

__all__ = [
    "COUNT_DP",
    "MONEY_DP",
    "ONE",
    "PRICE_DP",
    "Micros",
    "Price",
    "PriceGrid",
    "PriceRange",
    "Qty",
    "fmt_count",
    "fmt_fixed",
    "fmt_money",
    "fmt_price",
    "parse_count",
    "parse_fixed",
    "parse_money",
    "parse_price",
    "to_decimal",
]

Price = int
Qty = int
Micros = int

PRICE_DP = 4
COUNT_DP = 2
MONEY_DP = 6
ONE: Price = 10_000  # $1.0000 in Price units

_POW10: list[int] = [10**i for i in range(19)]


def parse_fixed(s: str, dp: int) -> int:
    """Parse a decimal string into an integer of 10**-dp units, losslessly or not at all."""
    if type(s) is not str:
        raise UnitError(f"expected a decimal string, got {type(s).__name__}: {s!r}")
    ip, dot, fp = s.partition(".")
    neg = ip.startswith("-")
    if neg:
        ip = ip[1:]
    if not (ip.isascii() and ip.isdigit()):
        raise UnitError(f"malformed fixed-point value {s!r}")
    if dot:
        if not (fp.isascii() and fp.isdigit()):
            raise UnitError(f"malformed fixed-point value {s!r}")
        n = len(fp)
        if n > dp:
            extra = fp[dp:]
            if extra.strip("0"):
                raise UnitError(f"{s!r} has more than {dp} decimals")
            fp = fp[:dp]
            n = dp
        v = int(ip) * _POW10[dp] + int(fp) * _POW10[dp - n]
    else:
        v = int(ip) * _POW10[dp]
    return -v if neg else v


def fmt_fixed(v: int, dp: int) -> str:
    """Format an integer of 10**-dp units with exactly `dp` decimals."""
    sign = "-" if v < 0 else ""
    q, r = divmod(abs(v), _POW10[dp])
    return f"{sign}{q}.{r:0{dp}d}" if dp else f"{sign}{q}"


def parse_price(s: str) -> Price:
    """ "0.5200" -> 5200 (1e-4 dollars)."""
    return parse_fixed(s, PRICE_DP)


def parse_count(s: str) -> Qty:
    """ "10.00" -> 1000 (1e-2 contracts)."""
    return parse_fixed(s, COUNT_DP)


def parse_money(s: str) -> Micros:
    """ "0.017500" -> 17500 (1e-6 dollars)."""
    return parse_fixed(s, MONEY_DP)


def fmt_price(p: Price) -> str:
    """5200 -> "0.5200"."""
    return fmt_fixed(p, PRICE_DP)


def fmt_count(q: Qty) -> str:
    """1000 -> "10.00"."""
    return fmt_fixed(q, COUNT_DP)


def fmt_money(m: Micros, dp: int = MONEY_DP) -> str:
    """17500 -> "0.017500"; with dp=4, rounds toward zero to 4 decimals ("0.0175")."""
    if dp == MONEY_DP:
        return fmt_fixed(m, MONEY_DP)
    scale = _POW10[MONEY_DP - dp]
    q = abs(m) // scale
    return fmt_fixed(-q if m < 0 else q, dp)


def to_decimal(v: int, dp: int) -> Decimal:
    """Integer units -> Decimal, for display and for edges that want Decimal."""
    return Decimal(v).scaleb(-dp)


@dataclass(frozen=True, slots=True)
class PriceRange:
    """One segment of a market's price grid: prices start, start+step, ... up to end."""

    start: Price
    end: Price
    step: Price


class PriceGrid:
    """A market's valid prices (from `price_ranges`) and the price <-> tick-index map.

    Tick 0 is the lowest valid price. $0 and $1 are never valid order prices but a grid
    may list them as range ends; `valid_order_price` excludes them.
    """

    __slots__ = ("_index", "prices", "ranges")

    def __init__(self, ranges: Sequence[PriceRange]) -> None:
        if not ranges:
            raise UnitError("a price grid needs at least one range")
        prices: set[int] = set()
        for r in ranges:
            if r.step <= 0 or r.end < r.start or r.start < 0 or r.end > ONE:
                raise UnitError(f"bad price range {r}")
            prices.update(range(r.start, r.end + 1, r.step))
        self.ranges = tuple(ranges)
        self.prices: tuple[Price, ...] = tuple(sorted(prices))
        self._index = {p: i for i, p in enumerate(self.prices)}

    @classmethod
    def from_wire(cls, ranges: Iterable[tuple[str, str, str]]) -> PriceGrid:
        """Build from (start, end, step) dollar strings as the venue sends them."""
        return cls(
            [PriceRange(parse_price(a), parse_price(b), parse_price(c)) for a, b, c in ranges]
        )

    @classmethod
    def linear_cent(cls) -> PriceGrid:
        return cls([PriceRange(0, ONE, 100)])

    def __len__(self) -> int:
        return len(self.prices)

    def __repr__(self) -> str:
        return f"PriceGrid({len(self.prices)} prices, {self.prices[0]}..{self.prices[-1]})"

    def tick(self, price: Price) -> int:
        """Price -> tick index; raises UnitError when the price is off the grid."""
        try:
            return self._index[price]
        except KeyError:
            raise UnitError(f"price {fmt_price(price)} is not on the grid") from None

    def on_grid(self, price: Price) -> bool:
        return price in self._index

    def valid_order_price(self, price: Price) -> bool:
        return 0 < price < ONE and price in self._index

    def price(self, tick: int) -> Price:
        return self.prices[tick]

    def floor(self, price: Price) -> Price:
        """Highest grid price <= price (the lowest grid price if below the grid)."""
        i = bisect_right(self.prices, price) - 1
        return self.prices[max(i, 0)]

    def ceil(self, price: Price) -> Price:
        """Lowest grid price >= price (the highest grid price if above the grid)."""
        i = bisect_right(self.prices, price - 1)
        return self.prices[min(i, len(self.prices) - 1)]

    def min_order_price(self) -> Price:
        return next(p for p in self.prices if p > 0)

    def max_order_price(self) -> Price:
        return next(p for p in reversed(self.prices) if p < ONE)

    def symmetric(self) -> bool:
        """True when every grid price p has 1 - p on the grid too (YES/NO legs share it)."""
        return all((ONE - p) in self._index for p in self.prices)
