"""Orders as the bot sees them: YES-leg side, status transitions, and our live-order record.

Every order is quoted on the YES leg (Kalshi V2): BID buys YES, ASK sells YES (= buys NO at
1 - price). Status moves only forward through the table in `TRANSITIONS`; an action whose
outcome the venue did not confirm is UNKNOWN until reconciliation settles it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pmbot.core.money import Price, Qty

__all__ = ["TRANSITIONS", "LiveOrder", "OrderStatus", "Side", "can_transition"]


class Side(StrEnum):
    BID = "bid"  # buy YES
    ASK = "ask"  # sell YES / buy NO

    @property
    def sign(self) -> int:
        """+1 when a fill adds YES contracts, -1 when it adds NO (removes YES)."""
        return 1 if self is Side.BID else -1

    @property
    def opposite(self) -> Side:
        return Side.ASK if self is Side.BID else Side.BID


class OrderStatus(StrEnum):
    PENDING = "pending"  # written to the ledger, sent, not yet confirmed
    RESTING = "resting"
    CANCEL_PENDING = "cancel_pending"
    CANCELED = "canceled"
    EXECUTED = "executed"
    REJECTED = "rejected"
    UNKNOWN = "unknown"  # the venue did not confirm the outcome; reconcile

    @property
    def terminal(self) -> bool:
        return self in _TERMINAL


_TERMINAL = {OrderStatus.CANCELED, OrderStatus.EXECUTED, OrderStatus.REJECTED}

S = OrderStatus
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING: frozenset(
        {S.RESTING, S.CANCELED, S.EXECUTED, S.REJECTED, S.UNKNOWN, S.CANCEL_PENDING}
    ),
    S.RESTING: frozenset({S.RESTING, S.CANCEL_PENDING, S.CANCELED, S.EXECUTED, S.UNKNOWN}),
    S.CANCEL_PENDING: frozenset({S.RESTING, S.CANCELED, S.EXECUTED, S.UNKNOWN}),
    S.UNKNOWN: frozenset(
        {S.RESTING, S.CANCELED, S.EXECUTED, S.REJECTED, S.UNKNOWN, S.CANCEL_PENDING}
    ),
    S.CANCELED: frozenset({S.CANCELED}),
    S.EXECUTED: frozenset({S.EXECUTED}),
    S.REJECTED: frozenset({S.REJECTED}),
}


def can_transition(a: OrderStatus, b: OrderStatus) -> bool:
    return b in TRANSITIONS[a]


@dataclass(slots=True)
class LiveOrder:
    """One of our orders as TradingState tracks it (mutable: the state owns it)."""

    client_order_id: str
    ticker: str
    side: Side
    price: Price
    initial: Qty
    remaining: Qty
    status: OrderStatus
    order_id: str | None = None
    filled: Qty = 0
    created_ns: int = 0
    updated_ns: int = 0
    # the venue's filled count as last reported (order update, answers): above `filled`
    # (the fills applied) by the fills whose own events have not reached us yet
    venue_filled: Qty = 0
    # (price, resting size) of an amend sent and not answered (or whose answer was lost):
    # the venue may rest either this or the order as it was until it tells
    amending: tuple[Price, Qty] | None = None

    @property
    def owed(self) -> Qty:
        """Fills the venue reported that have not been applied yet (their events are late)."""
        return max(0, self.venue_filled - self.filled)

    @property
    def is_live(self) -> bool:
        """Could rest on the venue (or might: pending/unknown count as live for safety)."""
        return not self.status.terminal
