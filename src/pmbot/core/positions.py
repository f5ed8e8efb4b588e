"""Positions and PnL from fills, in YES terms.

A position is signed: +YES contracts, -NO contracts. Cost is tracked in YES-price terms
(a short YES at p is economically a long NO at 1 - p), so PnL is exact and netting is
automatic: opposite fills close before they open. Money is integer Micros.
"""

from __future__ import annotations

from dataclasses import dataclass

from pmbot.core.money import ONE, Micros, Price, Qty

__all__ = ["Position"]


@dataclass(slots=True)
class Position:
    ticker: str
    qty: Qty = 0  # signed, 1e-2 contracts
    cost: Micros = 0  # YES-terms cost of the open position (signed like qty)
    realized: Micros = 0  # realized PnL before fees
    fees: Micros = 0
    volume: Qty = 0

    def apply_fill(self, sign: int, price: Price, qty: Qty, fee: Micros) -> None:
        """Apply a fill of `qty` at YES price `price`; sign +1 bought YES, -1 sold YES."""
        self.fees += fee
        self.volume += qty
        d = sign * qty
        if self.qty == 0 or (self.qty > 0) == (d > 0):
            self.qty += d
            self.cost += d * price
            return
        closing = min(abs(d), abs(self.qty))
        # average cost per contract of the open side, exact as a fraction
        if closing == abs(self.qty):
            closed_cost = self.cost  # all of it: no rounding residue left behind
        else:  # pro rata, rounded toward zero; the residue stays with the open part
            mag = abs(self.cost) * closing // abs(self.qty)
            closed_cost = mag if self.cost >= 0 else -mag
        if self.qty > 0:  # selling YES we held
            self.realized += price * closing - closed_cost
            self.cost -= closed_cost
            self.qty -= closing
        else:  # buying back YES we were short
            self.realized += -closed_cost - price * closing
            self.cost -= closed_cost
            self.qty += closing
        rest = abs(d) - closing
        if rest:
            self.qty += sign * rest
            self.cost += sign * rest * price

    def mark(self, price: Price) -> Micros:
        """Unrealized PnL at a YES price (mark to fair value or mid)."""
        return self.qty * price - self.cost

    def settle(self, yes_won: bool) -> Micros:
        """Close at $1/$0; returns the PnL of the settlement (added to realized)."""
        value = ONE if yes_won else 0
        pnl = self.qty * value - self.cost
        self.realized += pnl
        self.qty = 0
        self.cost = 0
        return pnl

    @property
    def net_pnl(self) -> Micros:
        return self.realized - self.fees
