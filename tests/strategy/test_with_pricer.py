"""The strategy on the real ladder pricer's output: cells, fair values and quotes agree."""

from __future__ import annotations

import math

import pytest

from pmbot.pricing.ladder import LadderPricer, kalshi_style_ladder
from pmbot.risk.gate import RiskGate
from pmbot.risk.guards import RiskState
from pmbot.risk.limits import RiskLimits
from pmbot.strategy.engine import QuoteEngine
from pmbot.strategy.inventory import win_cells
from pmbot.strategy.params import QuoteParams
from pmbot.strategy.quoter import MarketMaker
from pmbot.strategy.synthetic import books_around, fresh_inputs


@pytest.mark.parametrize("level", [6000.0, 6012.37, 6100.0])
def test_win_cells_reproduce_the_pricers_fair_values(level):
    specs = kalshi_style_ladder("KXINX-26NOV24H1600", 5900.0, 25.0, 8)
    fv = LadderPricer("KXINX-26NOV24H1600", specs).fair_value(0, level, 0.004)
    cells = win_cells(specs, fv)
    for m, w in zip(specs, cells, strict=True):
        assert w, m.ticker
        assert math.isclose(sum(fv.cell_probs[o] for o in w), fv.fair[m.ticker], abs_tol=1e-12)
    # buckets are disjoint and, with the tails, cover every cell exactly once
    assert sorted(o for w in cells for o in w) == list(range(len(fv.cell_probs)))


def test_engine_quotes_a_kalshi_style_ladder():
    specs = tuple(kalshi_style_ladder("KXINX-26NOV24H1600", 5900.0, 25.0, 8))
    fv = LadderPricer("KXINX-26NOV24H1600", specs).fair_value(0, 6010.0, 0.004)
    books = books_around(specs, fv, 300)
    eng = QuoteEngine(MarketMaker(QuoteParams()), RiskGate(RiskLimits()))
    d = eng.step(fresh_inputs(specs, fv, books, 10**12))
    assert d.risk.state is RiskState.ACTIVE and d.quotes
    for q in d.quotes:
        p = fv.fair[q.ticker] * 10_000
        assert (q.price < p) if q.side == "bid" else (q.price > p)
