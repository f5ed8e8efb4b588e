"""Polymarket wire values -> pmbot domain values (pure, exact).

A market is one condition id with a YES and a NO token; the bot's ticker for it is the
condition id and its book is one BinaryBook (YES bids + NO bids). A token's `bids` are bids
on its own leg; its `asks` at price a are bids on the other leg at 1 - a.

Sizes: the venue's base unit is 1e-6 shares and fills caused by market orders can carry up
to 4 (in principle 6) decimals, finer than `Qty` (1e-2). Fill quantities are therefore kept
exact in micro-shares (`qty_e6`) beside a floored `Qty`; book levels are floored to `Qty`
(sizes on the wire are absolute, so flooring never accumulates error).
"""

from __future__ import annotations

from dataclasses import dataclass

from pmbot.core.money import ONE, Price, PriceGrid, PriceRange, Qty, parse_fixed, parse_price
from pmbot.core.orders import OrderStatus, Side
from pmbot.errors import ProtocolViolation, UnitError
from pmbot.venues.polymarket.wire import PolyLevel

__all__ = [
    "MarketInfo",
    "grid_for",
    "order_side",
    "order_status",
    "parse_micro",
    "parse_px",
    "parse_qty",
    "taker_fee",
    "token_levels",
]

Level = tuple[Price, Qty]


@dataclass(frozen=True, slots=True)
class MarketInfo:
    """What the connector needs about one binary market."""

    condition_id: str
    yes_token: str
    no_token: str
    tick: str = "0.01"
    neg_risk: bool = False
    min_size: str = "5"
    fee_rate_bps: int = 0

    def leg(self, token: str) -> bool:
        """True for the YES token, False for NO; ProtocolViolation for a stranger."""
        if token == self.yes_token:
            return True
        if token == self.no_token:
            return False
        raise ProtocolViolation(f"token {token} is not in market {self.condition_id}")


def parse_px(s: str) -> Price:
    try:
        return parse_price(s)
    except UnitError as e:
        raise ProtocolViolation(f"bad price: {e}") from None


def parse_micro(s: str) -> int:
    """ "33.3333" -> 33_333_300 (1e-6 units); exact or ProtocolViolation."""
    ip, _, fp = s.partition(".")
    if (
        ip.isascii()
        and ip.isdigit()
        and len(fp) <= 6
        and (not fp or (fp.isascii() and fp.isdigit()))
    ):
        return int(ip) * 1_000_000 + (int(fp) * 10 ** (6 - len(fp)) if fp else 0)  # the hot path
    try:
        return parse_fixed(s, 6)
    except UnitError as e:
        raise ProtocolViolation(f"bad size: {e}") from None


def parse_qty(s: str) -> Qty:
    """A share amount floored to Qty (1e-2)."""
    return parse_micro(s) // 10_000


_GRIDS: dict[int, PriceGrid] = {}


def grid_for(tick_units: int) -> PriceGrid:
    """The book grid for a tick: never coarser than 0.001, because a 0.01 market switches
    to 0.001 near the extremes (tick_size_change) and old levels must still fit."""
    step = 1 if 10 % tick_units else min(tick_units, 10)
    g = _GRIDS.get(step)
    if g is None:
        g = _GRIDS[step] = PriceGrid([PriceRange(0, ONE, step)])
    return g


def token_levels(
    is_yes: bool, bids: list[PolyLevel], asks: list[PolyLevel]
) -> tuple[list[Level], list[Level]]:
    """A token's book -> (YES-leg bids, NO-leg bids) for BinaryBook.apply_snapshot."""
    own = [(parse_px(lv.price), parse_qty(lv.size)) for lv in bids]
    other = [(ONE - parse_px(lv.price), parse_qty(lv.size)) for lv in asks]
    return (own, other) if is_yes else (other, own)


def order_side(is_yes: bool, side: str, price: Price) -> tuple[Side, Price]:
    """(YES-leg side, YES price) of an order on either token: buying NO at q is asking YES at 1 - q."""
    buy = side == "BUY"
    if side not in ("BUY", "SELL"):
        raise ProtocolViolation(f"bad side {side!r}")
    if is_yes:
        return (Side.BID if buy else Side.ASK), price
    return (Side.ASK if buy else Side.BID), ONE - price


_STATUS = {
    "LIVE": OrderStatus.RESTING,
    "UNMATCHED": OrderStatus.RESTING,
    "DELAYED": OrderStatus.PENDING,
    "MATCHED": OrderStatus.EXECUTED,
}


def order_status(s: str) -> OrderStatus:
    """WS plain values, REST ORDER_STATUS_* and lowercase post replies, normalised (doc §7.12)."""
    u = s.upper().removeprefix("ORDER_STATUS_")
    if u in _STATUS:
        return _STATUS[u]
    if u.startswith("CANCELED") or u == "INVALID":
        return OrderStatus.CANCELED
    raise ProtocolViolation(f"unknown order status {s!r}")


def taker_fee(qty_e6: int, price: Price, rate_bps: int) -> int:
    """Micros: shares x rate x p x (1 - p), rounded down to 5 decimals (makers pay nothing)."""
    f = qty_e6 * rate_bps * price * (ONE - price) // (10_000 * ONE * ONE)
    return f - f % 10
