"""Payoff vectors, worst-case loss and CARA reservation prices on small ladders."""

from __future__ import annotations

import math

import pytest

from pmbot.core.market import FeeSchedule, MarketSpec, StrikeType
from pmbot.core.money import ONE, PriceGrid
from pmbot.strategy.inventory import (
    certainty_equivalent,
    payoff_dollars,
    payoff_micros,
    reservation_ask,
    reservation_bid,
    tilted_probs,
    win_cells,
    worst_case_loss,
)
from pmbot.strategy.synthetic import ladder_fair, ladder_markets

MS = ladder_markets(5, 6000.0, 25.0)  # T<5962.5, B5962.5, B5987.5, B6012.5, T>6037.5
FV = ladder_fair(MS, 6000.0, 30.0)


def test_win_cells_partition_the_ladder():
    cells = win_cells(MS, FV)
    assert cells == [(0,), (1,), (2,), (3,), (4,)]
    assert math.isclose(sum(FV.fair.values()), 1.0)


def test_payoff_no_position_pays_where_yes_loses():
    cells = win_cells(MS, FV)
    # +3 YES of bucket 2, -2 (2 NO) of bucket 3
    pay = payoff_micros(5, cells, [0, 0, 300, -200, 0])
    assert pay == [2 * 10**6, 2 * 10**6, 5 * 10**6, 0, 2 * 10**6]
    assert worst_case_loss(pay, 1_500_000) == 1_500_000


def test_worst_case_loss_matches_brute_force_over_index_values():
    """Exact per-cell worst case equals a scan of index values through the strike semantics."""
    ms = ladder_markets(6, 6000.0, 25.0)
    fv = ladder_fair(ms, 6010.0, 40.0)
    cells = win_cells(ms, fv)
    positions = [700, -300, 1200, 0, -450, 250]
    cost = 9_876_543
    fast = worst_case_loss(payoff_micros(len(fv.cell_probs), cells, positions), cost)
    worst = None
    v = 5850.0
    while v <= 6150.0:
        pay = 0
        for m, q in zip(ms, positions, strict=True):
            win = m.yes_wins(v)
            if q > 0 and win:
                pay += q * ONE
            elif q < 0 and not win:
                pay += -q * ONE
        loss = cost - pay
        worst = loss if worst is None else max(worst, loss)
        v += 0.005
    assert fast == worst


def _ce_gain(probs, pay, cells, j, x, gamma):
    moved = [q + (x if o in cells[j] else 0.0) for o, q in enumerate(pay)]
    return certainty_equivalent(probs, moved, gamma) - certainty_equivalent(probs, pay, gamma)


@pytest.mark.parametrize("qty", [100, 1000, 5000])
def test_reservation_closed_form_equals_brute_force_ce(qty):
    cells = win_cells(MS, FV)
    probs = FV.cell_probs
    gamma = 0.01
    pos = [0, 400, 2500, -1000, 0]
    pay = payoff_dollars(5, cells, pos)
    rho = tilted_probs(probs, pay, cells, gamma)
    x = qty / 100
    for j in range(5):
        assert math.isclose(
            reservation_bid(rho[j], gamma, qty),
            _ce_gain(probs, pay, cells, j, x, gamma) / x,
            rel_tol=1e-9,
            abs_tol=1e-12,
        )
        assert math.isclose(
            reservation_ask(rho[j], gamma, qty),
            -_ce_gain(probs, pay, cells, j, -x, gamma) / x,
            rel_tol=1e-9,
            abs_tol=1e-12,
        )


def test_flat_book_reservation_brackets_fair_and_uniform_holding_has_no_skew():
    cells = win_cells(MS, FV)
    probs = FV.cell_probs
    gamma = 0.002
    rho0 = tilted_probs(probs, [0.0] * 5, cells, gamma)
    assert rho0 == pytest.approx([FV.fair[m.ticker] for m in MS])
    for r in rho0:
        assert reservation_bid(r, gamma, 1000) < r < reservation_ask(r, gamma, 1000)
    # the same amount in every bucket is riskless: no tilt at all
    rho_u = tilted_probs(probs, payoff_dollars(5, cells, [5000] * 5), cells, gamma)
    assert rho_u == pytest.approx(rho0, abs=1e-12)


def test_skew_size_matches_the_linear_rule_for_one_bucket():
    """100 contracts long at p = 0.5, gamma = 0.002: skew ~ gamma * q * p (1 - p) = 5 cents."""
    ms = ladder_markets(3, 6000.0, 50.0)
    fv = ladder_fair(ms, 6000.0, 1e9)  # flat: the bucket's probability is set below
    probs = (0.25, 0.5, 0.25)
    cells = win_cells(ms, fv)
    gamma = 0.002
    pay = payoff_dollars(3, cells, [0, 10_000, 0])
    rho = tilted_probs(probs, pay, cells, gamma)
    skew = rho[1] - 0.5
    assert skew == pytest.approx(-0.05, abs=0.0015)
    # and linear in the position to first order
    pay2 = payoff_dollars(3, cells, [0, 2_000, 0])
    rho2 = tilted_probs(probs, pay2, cells, gamma)
    assert rho2[1] - 0.5 == pytest.approx(-0.01, abs=1e-4)


def test_long_bucket_cheapens_itself_and_enriches_its_neighbours_and_cover():
    """A threshold market that contains the long bucket is cheapened too; others rise."""
    grid, fees = PriceGrid.linear_cent(), FeeSchedule()
    extra = MarketSpec(
        "EVT-ABOVE5987.5", "EVT", "SER", StrikeType.GREATER, 5987.5, None, grid, fees, 0
    )
    ms = (*MS, extra)
    fv = ladder_fair(ms, 6000.0, 30.0)
    cells = win_cells(ms, fv)
    assert cells[5] == (2, 3, 4)
    gamma = 0.002
    rho0 = tilted_probs(fv.cell_probs, [0.0] * 5, cells, gamma)
    pos = [0, 0, 0, 5000, 0, 0]  # 50 contracts long bucket B6012.5 (cell 3)
    rho = tilted_probs(fv.cell_probs, payoff_dollars(5, cells, pos), cells, gamma)
    assert rho[3] < rho0[3]  # itself
    assert rho[5] < rho0[5]  # the threshold that pays in the same cell
    for j in (0, 1, 2, 4):  # every other bucket hedges it
        assert rho[j] > rho0[j]
    # the exact tilt: an untouched cell's weight is its probability over the partition sum
    z = sum(
        p * math.exp(-gamma * q)
        for p, q in zip(fv.cell_probs, payoff_dollars(5, cells, pos), strict=True)
    )
    assert rho[2] == pytest.approx(fv.cell_probs[2] / z)


def test_cash_cost_of_yes_terms_positions_gives_the_settlement_loss():
    """Worst-case loss from net cash equals the worst total P&L of core Positions."""
    from pmbot.core.positions import Position
    from pmbot.strategy.inventory import cash_cost

    cells = win_cells(MS, FV)
    fills = [(1, 3000, 700), (-1, 4500, 300), (1, 2000, 500), (-1, 1000, 900), (1, 500, 100)]
    ps = []
    for m, (sign, price, qty) in zip(MS, fills, strict=True):
        p = Position(m.ticker)
        p.apply_fill(sign, price, qty, 1700)
        p.apply_fill(-sign, price + 200, qty // 3, 300)  # partly closed at a gain
        ps.append(p)
    cost = sum(cash_cost(p.qty, p.cost - p.realized + p.fees) for p in ps)
    fast = worst_case_loss(payoff_micros(5, cells, [p.qty for p in ps]), cost)
    worst = max(
        -sum(
            p.realized - p.fees + p.qty * (ONE if o in w else 0) - p.cost
            for p, w in zip(ps, cells, strict=True)
        )
        for o in range(5)
    )
    assert fast == worst
