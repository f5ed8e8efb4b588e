"""Venue-neutral order requests and acknowledgements: what the order manager asks a venue.

The venue adapters (venues/*/venue.py) convert these to and from their wire types; nothing
here names a venue. Everything is on the YES leg (`Side.BID` buys YES, `Side.ASK` sells it),
prices are `Price`, sizes `Qty`, money `Micros`. Orders are addressed by the venue's
`order_id`; our `client_order_id` is fresh per order and never reused (the venue keeps it
burned forever).
"""

from __future__ import annotations

from dataclasses import dataclass

from pmbot.core.money import Micros, Price, Qty
from pmbot.core.orders import Side

__all__ = [
    "AmendOrder",
    "CancelAck",
    "CancelOrder",
    "CreateOrder",
    "DecreaseOrder",
    "OrderAck",
    "TimeInForce",
]


class TimeInForce:
    """Time-in-force names (plain strings so adapters can map them without an enum import)."""

    GTC = "good_till_canceled"
    IOC = "immediate_or_cancel"
    FOK = "fill_or_kill"


@dataclass(frozen=True, slots=True)
class CreateOrder:
    client_order_id: str
    ticker: str
    side: Side
    price: Price
    qty: Qty
    post_only: bool = True
    time_in_force: str = TimeInForce.GTC
    order_group_id: str | None = None
    reduce_only: bool = False
    expiration_ts_s: int | None = None


@dataclass(frozen=True, slots=True)
class CancelOrder:
    order_id: str
    ticker: str
    client_order_id: str | None = None


@dataclass(frozen=True, slots=True)
class AmendOrder:
    """Change price and/or size of a resting order; keeps the venue order_id.

    `count` is the venue's new TOTAL: already filled + desired resting (Kalshi semantics).
    A price change or a size increase loses queue priority. `client_order_id` is ours (for
    logs; adopted orders carry a synthetic one): adapters address the order by `order_id`
    and need not send it.
    """

    order_id: str
    client_order_id: str
    ticker: str
    side: Side
    price: Price
    count: Qty


@dataclass(frozen=True, slots=True)
class DecreaseOrder:
    """Cut the resting size to `reduce_to`; keeps queue priority.

    `reduce_by` (when given, the venue is asked for that instead: what rests less what we
    keep, as we know it): unlike `reduce_to` it makes the venue's new total exact, our
    filled count at sending plus `reduce_to`, whatever filled meanwhile unseen (with
    `reduce_to`, a fill we had not heard of is indistinguishable from the cut). Not
    idempotent: never resent when the outcome is unknown.
    """

    order_id: str
    ticker: str
    reduce_to: Qty
    client_order_id: str | None = None
    reduce_by: Qty | None = None


@dataclass(frozen=True, slots=True)
class OrderAck:
    """A venue's answer to create / amend / decrease.

    `filled` and `remaining` are the order's totals after the action when the venue says so
    (None when it did not); `avg_fill_price` / `avg_fee` are per contract, only when it
    traded as part of the action.
    """

    order_id: str
    client_order_id: str | None
    ts_ns: int
    filled: Qty | None = None
    remaining: Qty | None = None
    # per contract in Micros (1e-6 $): a mean of several prices is finer than the price grid
    avg_fill_price: Micros | None = None
    avg_fee: Micros | None = None


@dataclass(frozen=True, slots=True)
class CancelAck:
    """A venue's answer to a cancel. `reduced_by`: what rested and was cancelled (None
    when the venue does not say): the rest of the order's total had filled."""

    order_id: str
    reduced_by: Qty | None
    ts_ns: int
    client_order_id: str | None = None
