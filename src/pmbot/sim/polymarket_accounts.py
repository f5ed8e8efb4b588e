"""Simulated Polymarket balances: pUSD and outcome tokens per funder, reservation, fees.

Pure. Amounts are micro-units (1e-6 pUSD, 1e-6 shares). A fill moves funds when its trade
is mined (MINED), as the chain does: the balances the API reports (`cash_of`, `shares_of`)
lag a match until then. Between MATCHED and MINED the fill is pending: its debits already
count against what the address may still order (`available`), its credits do not (doc §7:
tokens bought cannot be sold before settlement). A FAILED trade drops its pending fills, so
nothing moved and the ledger can be checked to be where it was.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from pmbot.core.money import ONE, Price
from pmbot.sim.polymarket_engine import EngineOrder

__all__ = ["Accounts", "Transfer", "notional", "taker_fee"]


def notional(shares: int, price: Price) -> int:
    """pUSD micro-units for `shares` micro-shares at `price` (1e-4 $), rounded down."""
    return shares * price // ONE


def taker_fee(shares: int, price: Price, rate_bps: int) -> int:
    """fee = shares * rate * p * (1 - p), rounded down to 5 decimals (doc §5)."""
    f = shares * rate_bps * price * (ONE - price) // (10_000 * ONE * ONE)
    return f - f % 10


@dataclass(slots=True)
class Transfer:
    """One party's side of a fill: + receives, - pays."""

    address: str
    token: str
    cash: int
    shares: int


@dataclass(slots=True)
class Accounts:
    """Balances by (address): pUSD, and shares by token; new funders start funded."""

    start_cash: int = 1_000_000 * 1_000_000
    start_shares: int = 0
    cash: dict[str, int] = field(default_factory=dict)
    shares: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    pending: dict[str, list[Transfer]] = field(default_factory=lambda: defaultdict(list))

    def _touch(self, addr: str) -> str:
        a = addr.lower()
        if a not in self.cash:
            self.cash[a] = self.start_cash
        return a

    def cash_of(self, addr: str) -> int:
        return self.cash[self._touch(addr)]

    def shares_of(self, addr: str, token: str) -> int:
        a = self._touch(addr)
        return self.shares[a].get(token, self.start_shares)

    def fund(self, addr: str, cash: int = 0, token: str | None = None, shares: int = 0) -> None:
        a = self._touch(addr)
        self.cash[a] += cash
        if token is not None:
            self.shares[a][token] = self.shares_of(a, token) + shares

    def available(self, addr: str, token: str, is_buy: bool, live: list[EngineOrder]) -> int:
        """Free pUSD (buy) or free shares of `token` (sell) after open orders' reservations."""
        a = addr.lower()
        owed = self.pending.get(a, ())
        if is_buy:
            held = sum(
                notional(o.remaining, o.price)
                for o in live
                if o.maker_address.lower() == a and o.side == "BUY"
            )
            return self.cash_of(a) + sum(min(0, t.cash) for t in owed) - held
        held = sum(
            o.remaining
            for o in live
            if o.maker_address.lower() == a and o.side == "SELL" and o.token_id == token
        )
        given = sum(min(0, t.shares) for t in owed if t.token == token)
        return self.shares_of(a, token) + given - held

    def fill(self, o: EngineOrder, shares: int, price: Price, fee: int = 0) -> Transfer:
        """One side of a fill, pending until its trade is mined (`settle`) or fails (`drop`)."""
        a = self._touch(o.maker_address)
        cost = notional(shares, price)
        t = (
            Transfer(a, o.token_id, -cost - fee, shares)
            if o.side == "BUY"
            else Transfer(a, o.token_id, cost - fee, -shares)
        )
        self.pending[a].append(t)
        return t

    def settle(self, t: Transfer) -> None:
        """The trade was mined: the pending fill moves the balances."""
        self.drop(t)
        self.apply(t)

    def drop(self, t: Transfer) -> None:
        """The fill is no longer pending (mined, or its trade FAILED: nothing moved)."""
        owed = self.pending[t.address]
        for i, x in enumerate(owed):
            if x is t:
                del owed[i]
                return

    def apply(self, t: Transfer, sign: int = 1) -> None:
        self.cash[t.address] += sign * t.cash
        self.shares[t.address][t.token] = self.shares_of(t.address, t.token) + sign * t.shares
