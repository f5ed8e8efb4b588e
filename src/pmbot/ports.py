"""Ports: the Protocols the shell's orchestration needs from the outside world.

`VenuePort` is everything the order manager asks of a venue. Adapters implement it
(venues/kalshi/venue.py on the real API or the simulator; tests use an in-memory venue);
the order manager never sees a wire type.

Error contract (errors.py), by class, never by message:
  * `OrderRejected(code=...)`: the venue refused the action; nothing changed. Codes the order
    manager understands: "post_only_cross", "insufficient_balance", "order_already_exists",
    "market_closed"; anything else is logged and the order requoted later.
  * `RateLimited`: refused before processing (429 or our own bucket); nothing changed.
  * `NotFound`: the order is not resting (canceled, executed or unknown: identical on Kalshi).
  * `VenueUnavailable`: timeout / 5xx / network: the outcome is UNKNOWN.
  * `AuthError`: fatal.
Batch calls return one entry per request, in request order: the ack, or the error for that
item (partial success is normal). A whole-batch failure raises instead.

Capabilities: an adapter may set `supports_amend = False` (Polymarket has neither amend nor
decrease); the order manager then plans every price or size change as cancel + create and
never calls `amend` / `decrease`. Absent means True.

There is deliberately no single-order GET: after a cancel it can still say "resting" for
hundreds of ms and a 404 does not say why, so state is always settled through
`list_orders` (status filters) and `get_fills`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from pmbot.core.events import Fill, OrderUpdate, PositionSnapshot
from pmbot.core.money import Micros, Qty
from pmbot.core.orders import OrderStatus
from pmbot.core.requests import (
    AmendOrder,
    CancelAck,
    CancelOrder,
    CreateOrder,
    DecreaseOrder,
    OrderAck,
)
from pmbot.errors import VenueError

__all__ = ["VenuePort"]


class VenuePort(Protocol):
    """Async order and account operations on one venue account (one subaccount)."""

    @property
    def max_batch_create(self) -> int:
        """Largest batch create the venue (and our write budget) accepts in one call."""
        ...

    @property
    def max_batch_cancel(self) -> int: ...

    async def create_order(self, req: CreateOrder) -> OrderAck: ...

    async def batch_create(self, reqs: Sequence[CreateOrder]) -> list[OrderAck | VenueError]: ...

    async def cancel(self, req: CancelOrder) -> CancelAck: ...

    async def batch_cancel(self, reqs: Sequence[CancelOrder]) -> list[CancelAck | VenueError]: ...

    async def amend(self, req: AmendOrder) -> OrderAck: ...

    async def decrease(self, req: DecreaseOrder) -> OrderAck: ...

    async def list_orders(
        self,
        *,
        status: OrderStatus | None = None,
        ticker: str | None = None,
        event_ticker: str | None = None,
        min_ts_ns: int | None = None,
    ) -> list[OrderUpdate]:
        """All pages of the orders list; `status` is RESTING, CANCELED or EXECUTED (or None)."""
        ...

    async def get_fills(
        self, *, since_ns: int | None = None, ticker: str | None = None
    ) -> list[Fill]:
        """All pages of our fills at or after `since_ns` (oldest first)."""
        ...

    async def get_positions(self) -> list[PositionSnapshot]: ...

    async def get_settlements(self, tickers: Sequence[str]) -> dict[str, bool]:
        """Which of `tickers` the venue has settled for us: ticker -> the YES side won.
        (A settled market's position leaves the positions list.)"""
        ...

    async def get_balance(self) -> Micros: ...

    async def create_order_group(self, contracts_limit: Qty) -> str:
        """Create an exchange-side order group (kill switch); returns its id."""
        ...

    async def trigger_order_group(self, group_id: str) -> None:
        """Cancel every order in the group and block new ones until reset."""
        ...

    async def delete_order_group(self, group_id: str) -> None: ...

    async def reuse_order_group(self, group_id: str, contracts_limit: Qty) -> None:
        """Take over an earlier run's group: re-enable it (reset) with this limit. Raises
        `NotFound` when the venue no longer has it."""
        ...
