"""The strategy's input snapshot and output types: plain frozen values, no live state.

The shell builds one `QuoteInputs` per event from TradingState whenever something relevant
changed (index tick, book update, fill, order ack, timer) and hands it to the strategy and
then the risk gate. Everything time-dependent is a `ts_ns` int; nothing here reads a clock.

Sign conventions: a position is signed YES contracts (`Qty`, +YES / -NO); quotes are on the
YES leg (`bid` buys YES, `ask` sells YES, i.e. buys NO at 1 - price), as the venue's single-book API.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from pmbot.core.book import BinaryBook
from pmbot.core.fairvalue import EventFairValue
from pmbot.core.market import MarketSpec
from pmbot.core.money import Micros, Price, Qty

__all__ = ["DesiredQuote", "Proposal", "QuoteInputs", "RestingOrder", "Side"]

Side = Literal["bid", "ask"]


@dataclass(frozen=True, slots=True)
class RestingOrder:
    """One of our live orders as the order manager last knew it."""

    side: Side
    price: Price
    remaining: Qty
    placed_ts_ns: int  # when it was placed or last amended (its price/size last changed)
    order_id: str = ""


@dataclass(frozen=True, slots=True)
class DesiredQuote:
    """One order the strategy wants resting: the planner diffs these against live orders."""

    ticker: str
    side: Side
    price: Price
    qty: Qty
    post_only: bool = True


@dataclass(frozen=True, slots=True)
class QuoteInputs:
    """Everything the strategy and the risk gate may look at for one event, at one instant.

    * `fair`: the pricer's output, None when there is none (never a default price).
    * `books[t]`: None when the market has no book yet. `book_ts_ns[t]`: the last time the
      book was known current (snapshot, delta, or a heartbeat on its subscription).
      `resyncing`: tickers whose book is being rebuilt after a sequence gap.
    * `index_ts_ns`: time of the last index tick (None before the first one).
    * `reference_ts_ns`: the settlement reference time (e.g. the 16:00 ET close).
    * `event_cost`: net cash put into the event (buys minus sells, fees included), a NO
      position counted at what its NO cost: the sum over the event's markets of
      `inventory.cash_cost(pos.qty, pos.cost - pos.realized + pos.fees)`.
    * `event_capital`: capital in the event's open positions, what `max_event_cost` bounds:
      the sum of `cash_cost(pos.qty, pos.cost)` (realised gains do not make room for more).
    * `account_exposure`: capital in open positions across the account, e.g. the sum of
      `cash_cost(pos.qty, pos.cost)` over every market with a position.
    * `positions`, `event_cost`, `event_capital` and `account_exposure` count as held the
      fills the venue has reported whose fill events have not arrived yet (at the order's
      price): an order that shrank or ended on such a report must not free its room.
    * `daily_pnl`: realised plus marked P&L since the start of the trading day (loss < 0).
    * `last_fill_ns[(ticker, side)]`: when one of our orders on that side last filled.
    * `markets` must list every market of the event in which we hold a position (the risk
      is measured on the whole event; the gate halts on a position it cannot place), and
      `fair` must price them all. `quotable` restricts which of them get quotes (market
      selection near the money); None means all.
    * `trading_active`: the exchange trades; `inactive`: markets not open for trading
      (paused, closed, settled).
    """

    ts_ns: int
    event_ticker: str
    markets: tuple[MarketSpec, ...]
    fair: EventFairValue | None
    books: Mapping[str, BinaryBook | None]
    positions: Mapping[str, Qty] = field(default_factory=dict)
    resting: Mapping[str, tuple[RestingOrder, ...]] = field(default_factory=dict)
    book_ts_ns: Mapping[str, int] = field(default_factory=dict)
    resyncing: frozenset[str] = frozenset()
    index_ts_ns: int | None = None
    trading_active: bool = True
    reference_ts_ns: int = 0
    event_cost: Micros = 0
    event_capital: Micros = 0
    account_exposure: Micros = 0
    daily_pnl: Micros = 0
    last_fill_ns: Mapping[tuple[str, str], int] = field(default_factory=dict)
    quotable: frozenset[str] | None = None
    inactive: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Proposal:
    """A strategy's raw wish: quotes before the risk gate, and when to be woken again.

    `wake_at_ns` asks the shell to call the strategy again at that time even if nothing
    changes (the end of a debounce window); None means only on the next state change.
    """

    quotes: tuple[DesiredQuote, ...]
    wake_at_ns: int | None = None
    notes: Mapping[str, str] = field(default_factory=dict)  # ticker -> why it is not quoted
