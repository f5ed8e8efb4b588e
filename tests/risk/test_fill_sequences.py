"""Limits hold over time: an adversary fills our quotes in full, step after step."""

from __future__ import annotations

import random

from pmbot.core.money import ONE
from pmbot.core.positions import Position
from pmbot.risk.gate import RiskGate
from pmbot.risk.guards import RiskState
from pmbot.risk.limits import RiskLimits
from pmbot.strategy.engine import QuoteEngine
from pmbot.strategy.inventory import cash_cost, payoff_micros, win_cells, worst_case_loss
from pmbot.strategy.params import QuoteParams
from pmbot.strategy.quoter import MarketMaker
from pmbot.strategy.synthetic import books_around, fresh_inputs, ladder_fair, ladder_markets

S = 1_000_000_000


def _loss_after(qt, ms, cells, qty, cost):
    """Worst-case loss of the event after a full fill of `qt` (the greedy adversary's aim)."""
    q = dict(qty)
    sign = 1 if qt.side == "bid" else -1
    q[qt.ticker] += sign * qt.qty
    new_cost = cost + (qt.qty * qt.price if sign > 0 else -qt.qty * qt.price)
    # NO legs: the cash cost moves with the short part
    before = sum(-v * ONE for v in qty.values() if v < 0)
    after = sum(-v * ONE for v in q.values() if v < 0)
    new_cost += after - before
    pay = payoff_micros(len(cells), cells, [q[m.ticker] for m in ms])
    return worst_case_loss(pay, new_cost)


def test_adversarial_fills_never_break_the_limits():
    rng = random.Random(7)
    ms = ladder_markets(9, 6000.0, 25.0)
    limits = RiskLimits(
        max_position=3_000,
        max_event_loss=15 * 10**6,
        max_event_cost=25 * 10**6,
        max_account_exposure=10**12,
        max_daily_loss=10**12,
    )
    eng = QuoteEngine(
        MarketMaker(QuoteParams(size=1000, debounce_ns=0, fill_pause_ns=0), limits),
        RiskGate(limits),
    )
    qty = {m.ticker: 0 for m in ms}
    cash = {m.ticker: 0 for m in ms}  # net YES-terms cash paid
    held = {m.ticker: Position(m.ticker) for m in ms}  # open positions at their cost
    fills = 0
    states = set()
    peak = 0
    for step in range(300):
        level = 6000.0 + rng.uniform(-40.0, 40.0)
        fv = ladder_fair(ms, level, 45.0)
        cost = sum(cash_cost(qty[t], cash[t]) for t in qty)
        inp = fresh_inputs(
            ms,
            fv,
            books_around(ms, fv, 600),
            10**12 + step * S,
            positions=dict(qty),
            event_cost=cost,
            event_capital=sum(cash_cost(p.qty, p.cost) for p in held.values()),
        )
        d = eng.step(inp)
        states.add(d.risk.state)
        cells = win_cells(ms, fv)
        loss = worst_case_loss(payoff_micros(len(fv.cell_probs), cells, list(qty.values())), cost)
        assert loss <= limits.max_event_loss
        peak = max(peak, loss)
        assert sum(cash_cost(p.qty, p.cost) for p in held.values()) <= limits.max_event_cost
        assert all(abs(q) <= limits.max_position for q in qty.values())
        if not d.quotes:
            continue
        # the adversary fills the quote that hurts most in the worst cell, or a random one
        pick = d.quotes[rng.randrange(len(d.quotes))]
        if rng.random() < 0.8:
            pick = max(d.quotes, key=lambda qt: _loss_after(qt, ms, cells, qty, cost))
        sign = 1 if pick.side == "bid" else -1
        t = pick.ticker
        qty[t] += sign * pick.qty
        cash[t] += sign * pick.qty * pick.price
        held[t].apply_fill(sign, pick.price, pick.qty, 0)
        fills += 1
    assert fills > 100
    assert peak > 0.8 * limits.max_event_loss  # the greedy adversary did push on the limit
    assert RiskState.HALTED not in states
