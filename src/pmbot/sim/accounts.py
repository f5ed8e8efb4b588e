"""Balances, netted positions, cost basis, realized PnL, fees and settlements in exact units.

Cash and fees are Micros (1e-6 $); positions are Qty (1e-2 contracts), positive = YES,
negative = NO. Buying YES while holding NO closes NO contracts first: each closed pair pays $1
back, so closing k NO contracts at YES price p returns (1 - p) x k. The exchange holds $1 of
collateral per open YES/NO pair, which is what the conservation invariant checks. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pmbot.core.market import FeeSchedule, quadratic_fee
from pmbot.core.money import ONE, Micros, Price, Qty
from pmbot.sim.engine import Fill, Order

__all__ = ["Account", "FillRecord", "Ledger", "Position", "SettlementRecord"]


@dataclass(slots=True)
class Position:
    ticker: str
    event_ticker: str
    qty: Qty = 0  # + YES / - NO
    cost: Micros = 0  # what the open contracts cost (>= 0)
    realized: Micros = 0
    fees: Micros = 0
    traded: Micros = 0  # total traded notional
    volume: Qty = 0
    updated_ns: int = 0


@dataclass(frozen=True, slots=True)
class FillRecord:
    """One side of a fill as the account's owner sees it."""

    trade_id: str
    order_id: str
    client_order_id: str
    ticker: str
    side: str  # bid | ask (the owner's order)
    price: Price  # YES price
    count: Qty
    is_taker: bool
    fee: Micros
    post_position: Qty
    ts_ns: int


@dataclass(frozen=True, slots=True)
class SettlementRecord:
    ticker: str
    event_ticker: str
    result: str
    yes_count: Qty
    yes_cost: Micros
    no_count: Qty
    no_cost: Micros
    revenue: Micros
    fee: Micros
    ts_ns: int


@dataclass(slots=True)
class Account:
    user: str
    cash: Micros
    positions: dict[str, Position] = field(default_factory=dict)
    fills: list[FillRecord] = field(default_factory=list)
    settlements: list[SettlementRecord] = field(default_factory=list)
    keep_history: bool = True
    updated_ns: int = 0
    reserved: Micros = 0  # worst-case cost of resting orders, kept current from book changes

    def position(self, ticker: str, event_ticker: str = "") -> Position:
        p = self.positions.get(ticker)
        if p is None:
            p = self.positions[ticker] = Position(ticker, event_ticker)
        return p


class Ledger:
    """All accounts, plus the exchange's fee income and the collateral it holds."""

    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.fee_income: Micros = 0
        self.events_of: dict[str, str] = {}  # ticker -> event_ticker
        self.fees_of: dict[str, FeeSchedule] = {}  # ticker -> schedule

    def open(self, user: str, cash: Micros, *, keep_history: bool = True) -> Account:
        a = self.accounts.get(user)
        if a is None:
            a = self.accounts[user] = Account(user, cash, keep_history=keep_history)
        return a

    def reserved_of(self, resting: list[Order]) -> Micros:
        """Cash held against resting orders, recomputed (the running total is Account.reserved)."""
        return sum(o.leg_cost_price * o.remaining for o in resting)

    def available(self, user: str) -> Micros:
        a = self.accounts[user]
        return a.cash - a.reserved

    def apply(self, f: Fill) -> tuple[FillRecord, FillRecord]:
        """Book both sides of a fill; return (taker record, maker record)."""
        sched = self.fees_of.get(f.ticker, FeeSchedule())
        out = []
        for o, taker in ((f.taker, True), (f.maker, False)):
            fee = quadratic_fee(f.count, f.price, sched, maker=not taker)
            if taker:
                o.taker_fees += fee
            else:
                o.maker_fees += fee
            out.append(self._book(o, f, fee, taker))
        return out[0], out[1]

    def _book(self, o: Order, f: Fill, fee: Micros, taker: bool) -> FillRecord:
        a = self.accounts[o.user]
        pos = a.position(f.ticker, self.events_of.get(f.ticker, ""))
        n = f.count
        # signed direction: bid adds YES (+), ask adds NO (-)
        pay = f.price if o.is_bid else ONE - f.price  # per-contract price of what is bought
        sign = 1 if o.is_bid else -1
        held_opposite = -pos.qty * sign  # contracts of the other leg held
        close = min(n, max(0, held_opposite))
        if close:
            cost_k = pos.cost * close // abs(pos.qty) if close < abs(pos.qty) else pos.cost
            proceeds = (ONE - pay) * close  # pair pays $1, minus what we pay now
            a.cash += proceeds
            pos.cost -= cost_k
            pos.realized += proceeds - cost_k
            pos.qty += sign * close
        rest = n - close
        if rest:
            a.cash -= pay * rest
            pos.cost += pay * rest
            pos.qty += sign * rest
        a.cash -= fee
        self.fee_income += fee
        pos.fees += fee
        pos.traded += pay * n
        pos.volume += n
        pos.updated_ns = f.ts_ns
        a.updated_ns = f.ts_ns
        rec = FillRecord(
            f.trade_id,
            o.order_id,
            o.client_order_id,
            f.ticker,
            o.side,
            f.price,
            n,
            taker,
            fee,
            pos.qty,
            f.ts_ns,
        )
        if a.keep_history:
            a.fills.append(rec)
        return rec

    def settle(self, ticker: str, yes_won: bool, ts_ns: int) -> list[tuple[str, SettlementRecord]]:
        """Pay $1 per winning contract, close every position on the market, write records."""
        out = []
        for a in self.accounts.values():
            pos = a.positions.get(ticker)
            if pos is None:
                continue
            q = pos.qty
            yes_n, no_n = max(q, 0), max(-q, 0)
            won = yes_n if yes_won else no_n
            revenue = ONE * won
            a.cash += revenue
            pos.realized += revenue - pos.cost
            rec = SettlementRecord(
                ticker,
                pos.event_ticker,
                "yes" if yes_won else "no",
                yes_n,
                pos.cost if q > 0 else 0,
                no_n,
                pos.cost if q < 0 else 0,
                revenue,
                0,
                ts_ns,
            )
            pos.qty = 0
            pos.cost = 0
            del a.positions[ticker]
            if a.keep_history:
                a.settlements.append(rec)
            out.append((a.user, rec))
        return out

    def collateral(self) -> Micros:
        """$1 per open YES contract (equal to open NO contracts when books balance)."""
        return ONE * sum(
            max(p.qty, 0) for a in self.accounts.values() for p in a.positions.values()
        )

    def total_cash(self) -> Micros:
        return sum(a.cash for a in self.accounts.values())
