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

from collections.abc import Mapping
from dataclasses import dataclass

from pmbot.core.money import ONE, Price, PriceGrid, PriceRange, Qty, parse_fixed, parse_price
from pmbot.core.orders import OrderStatus, Side
from pmbot.errors import ProtocolViolation, UnitError
from pmbot.venues.polymarket.wire import PolyLevel

__all__ = [
    "TICK_ROUNDING",
    "MarketInfo",
    "grid_for",
    "level_qty",
    "limit_amounts",
    "market_amounts",
    "order_side",
    "order_status",
    "parse_micro",
    "parse_px",
    "parse_qty",
    "round_to_tick",
    "taker_fee",
    "tick_units",
    "token_levels",
]

Level = tuple[Price, Qty]
_BUY_SIDE = 0  # side 0 = BUY in the signed order


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


def level_qty(s: str) -> Qty:
    """A book level's size as Qty: floored, but a level under 0.01 share still counts as
    0.01 (the venue's best bid/ask include it; floored to 0 it vanished and every later
    price_change disagreed with the venue's bests)."""
    e6 = parse_micro(s)
    return e6 // 10_000 or (1 if e6 > 0 else 0)


def token_levels(
    is_yes: bool, bids: list[PolyLevel], asks: list[PolyLevel]
) -> tuple[list[Level], list[Level]]:
    """A token's book -> (YES-leg bids, NO-leg bids) for BinaryBook.apply_snapshot."""
    own = [(parse_px(lv.price), level_qty(lv.size)) for lv in bids]
    other = [(ONE - parse_px(lv.price), level_qty(lv.size)) for lv in asks]
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


# ---- order amounts (doc §3.2) -------------------------------------------------------------------------------
# tick (string as the venue sends it) -> (price_dp, size_dp, amount_dp); doc §3.2
TICK_ROUNDING: Mapping[str, tuple[int, int, int]] = {
    "0.1": (1, 2, 3),
    "0.01": (2, 2, 4),
    "0.005": (3, 2, 5),
    "0.0025": (4, 2, 6),
    "0.001": (3, 2, 5),
    "0.0001": (4, 2, 6),
}


def tick_units(tick: str) -> Price:
    """ "0.01" -> 100 (Price units); only the venue's tick sizes are accepted."""
    if tick not in TICK_ROUNDING:
        raise UnitError(f"unknown tick size {tick!r}")  # typed: a venue value, not a bug
    _, _, fp = tick.partition(".")
    return int(fp.ljust(4, "0"))


def round_to_tick(price: Price, tick: str, mode: str = "nearest") -> Price:
    """A price moved onto the tick grid inside [tick, 1 - tick]: "down" (bids), "up" (asks)
    or "nearest" (half up). The SDK rounds to the tick's decimals instead, which for the
    0.005 and 0.0025 ticks can leave a price off the grid (0.523 on a 0.005 tick)."""
    t = tick_units(tick)
    r = price % t
    if r:
        if mode == "down" or (mode == "nearest" and 2 * r < t):
            price -= r
        else:
            price += t - r
    return min(max(price, t), ONE - t)


def limit_amounts(side: int, price: Price, size: Qty, tick: str) -> tuple[int, int]:
    """(makerAmount, takerAmount) in 1e-6 units for a limit order; exact, no rounding.

    The price must sit on the tick and inside [tick, 1 - tick]; the size is already
    2 decimals (a Qty), which is the venue's size precision for every tick.
    """
    t = tick_units(tick)
    if price % t or not t <= price <= 10_000 - t:
        raise ValueError(f"price {price} is off the {tick} tick grid")
    if size <= 0:
        raise ValueError("size must be positive")
    notional = price * size  # 1e-4 * 1e-2 = 1e-6 units
    shares = size * 10_000
    return (notional, shares) if side == _BUY_SIDE else (shares, notional)


def market_amounts(side: int, amount_e6: int, price: Price, tick: str) -> tuple[int, int]:
    """(makerAmount, takerAmount) for FOK/FAK: BUY spends `amount_e6` pUSD, SELL sells shares.

    The amount is cut to 2 decimals; the worst price is cut down to the tick; a buy's
    share amount is cut down to 4 decimals, the server's stated maximum for market buys
    (the SDK can exceed it on 0.001 ticks, doc §3.2).
    """
    t = tick_units(tick)
    price -= price % t
    if price <= 0:
        raise ValueError("price below one tick")
    amt = amount_e6 - amount_e6 % 10_000
    if side == _BUY_SIDE:
        shares = amt * 10_000 // price
        return amt, shares - shares % 100
    notional = amt * price // 10_000
    _, _, adp = TICK_ROUNDING[tick]
    q = 10 ** (6 - adp)
    return amt, notional - notional % q
