"""Limit arithmetic: exact worst-case loss with adversarial fills, cost, positions, lots."""

from __future__ import annotations

from itertools import product

from pmbot.core.money import ONE
from pmbot.risk.gate import RiskGate
from pmbot.risk.limits import (
    RiskLimits,
    cap_positions,
    reduce_only,
    trim_cost,
    trim_event_loss,
    trim_to_lot,
)
from pmbot.strategy.inputs import DesiredQuote
from pmbot.strategy.inventory import payoff_micros, win_cells
from pmbot.strategy.synthetic import books_around, fresh_inputs, ladder_fair, ladder_markets

MS = ladder_markets(4, 6000.0, 25.0)  # T<5975, B5975, B6000, T>6025
FV = ladder_fair(MS, 6000.0, 30.0)
CELLS = win_cells(MS, FV)


def brute_worst_loss(positions, cost, quotes, fill_mask):
    """Max over index values of the loss after the fills in `fill_mask` (strike semantics)."""
    worst = None
    v = 5900.0
    while v <= 6100.0:
        pay = -cost
        for m, q in zip(MS, positions, strict=True):
            w = m.yes_wins(v)
            pay += q * ONE if (q > 0 and w) else (-q * ONE if (q < 0 and not w) else 0)
        for d, f in zip(quotes, fill_mask, strict=True):
            if not f:
                continue
            m = next(m for m in MS if m.ticker == d.ticker)
            w = m.yes_wins(v)
            pay += (
                d.qty * ((ONE if w else 0) - d.price)
                if d.side == "bid"
                else d.qty * (d.price - (ONE if w else 0))
            )
        worst = -pay if worst is None else max(worst, -pay)
        v += 0.25
    return worst


def test_trimmed_quotes_fit_the_worst_case_loss_cap_for_every_fill_subset():
    positions = [0, 800, -500, 0]
    cost = 3_000_000
    quotes = [
        DesiredQuote(MS[0].ticker, "bid", 2000, 1500),
        DesiredQuote(MS[1].ticker, "ask", 3500, 1000),
        DesiredQuote(MS[2].ticker, "bid", 3000, 2500),
        DesiredQuote(MS[3].ticker, "ask", 2500, 700),
        DesiredQuote(MS[3].ticker, "bid", 1800, 900),
    ]
    pay = payoff_micros(len(FV.cell_probs), CELLS, positions)
    loss = [cost - p for p in pay]
    idx = {m.ticker: i for i, m in enumerate(MS)}
    qc = [CELLS[idx[d.ticker]] for d in quotes]
    base = brute_worst_loss(positions, cost, [], [])
    assert base == max(loss)
    untrimmed = max(
        brute_worst_loss(positions, cost, quotes, mask)
        for mask in product((0, 1), repeat=len(quotes))
    )
    cap = (base + untrimmed) // 2
    assert untrimmed > cap > base
    out = trim_event_loss(quotes, qc, loss, cap)
    assert any(o.qty < q.qty for o, q in zip(out, quotes, strict=True))
    worst = max(
        brute_worst_loss(positions, cost, out, mask) for mask in product((0, 1), repeat=len(out))
    )
    assert worst <= cap
    # nothing to trim when the cap is generous
    assert trim_event_loss(quotes, qc, loss, untrimmed) == quotes


def test_over_budget_cells_allow_no_harmful_quote_but_keep_helpful_ones():
    positions = [0, 5000, 0, 0]  # long 50 of B5987.5: lose the cost elsewhere
    cost = 40 * 10**6
    pay = payoff_micros(len(FV.cell_probs), CELLS, positions)
    loss = [cost - p for p in pay]
    quotes = [
        DesiredQuote(MS[1].ticker, "ask", 4000, 1000),  # sells the long: helps where it loses
        DesiredQuote(MS[2].ticker, "bid", 3000, 1000),  # harms in cells where it loses
    ]
    out = trim_event_loss(quotes, [CELLS[1], CELLS[2]], loss, 30 * 10**6)
    assert out[0].qty == 1000 and out[1].qty == 0


def test_trim_cost_counts_only_the_opening_part():
    pos = {"A": 300, "B": -200}
    quotes = [
        DesiredQuote("A", "ask", 6000, 500),  # 3 close the long, 2 open NO at 0.40
        DesiredQuote("B", "bid", 5000, 200),  # closes the NO entirely
        DesiredQuote("A", "bid", 5000, 400),  # opens 4 YES at 0.50
    ]
    # opening capital: 2 x 0.40 + 4 x 0.50 = $2.80
    assert trim_cost(quotes, pos, used=0, cap=2_800_000) == quotes
    out = trim_cost(quotes, pos, used=1_000_000, cap=2_400_000)  # room $1.40 of $2.80
    assert [d.qty for d in out] == [400, 200, 200]


def test_position_caps_and_reduce_only_share_room_between_same_side_quotes():
    pos = {"A": 7000}
    quotes = [
        DesiredQuote("A", "bid", 5000, 2000),
        DesiredQuote("A", "bid", 4900, 2000),
        DesiredQuote("A", "ask", 5200, 9000),
        DesiredQuote("A", "ask", 5300, 9000),
    ]
    out = cap_positions(quotes, pos, 10_000)
    assert [d.qty for d in out] == [2000, 1000, 9000, 8000]
    out = reduce_only(quotes, pos)
    assert [d.qty for d in out] == [0, 0, 7000, 0]
    assert [d.qty for d in trim_to_lot([*out, DesiredQuote("A", "ask", 5400, 250)], 100)] == [
        7000,
        200,
    ]


def test_gate_never_lets_event_loss_exceed_its_cap():
    lim = RiskLimits(
        max_event_loss=5 * 10**6,
        max_position=10**6,
        max_event_cost=10**12,
        max_account_exposure=10**12,
    )
    fv = ladder_fair(MS, 6000.0, 30.0)
    inp = fresh_inputs(
        MS,
        fv,
        books_around(MS, fv, 2000),
        10**12,
        positions={MS[1].ticker: 800},
        event_cost=2_000_000,
    )
    proposed = []
    for m in MS:
        b = inp.books[m.ticker]
        assert b is not None
        bid, ask = b.yes_bid_price(), b.yes_ask_price()
        if bid is not None:
            proposed.append(DesiredQuote(m.ticker, "bid", bid + 100, 5000))
        if ask is not None:
            proposed.append(DesiredQuote(m.ticker, "ask", ask - 100, 5000))
    d = RiskGate(lim).apply(inp, proposed)
    assert d.quotes and d.trimmed
    pos = [inp.positions.get(m.ticker, 0) for m in MS]
    worst = max(
        brute_worst_loss(pos, 2_000_000, list(d.quotes), mask)
        for mask in product((0, 1), repeat=len(d.quotes))
    )
    assert worst <= lim.max_event_loss


def test_over_the_cap_a_reduction_that_lowers_the_worst_case_is_allowed():
    """Held: 10 YES of J (its win cell already over the cap) and 100 YES of K; the worst cell
    is "neither wins". Selling J's 10 at 0.15 costs in J's cell but lowers the worst case; the
    trim used to cut it to nothing (no harm allowed in any cell over the cap)."""
    m = 10**6
    loss = [int(7.6 * m), int(-82.4 * m), int(17.6 * m)]  # J wins, K wins, neither
    ask = DesiredQuote("J", "ask", 1500, 1000)
    (out,) = trim_event_loss([ask], [(0,)], loss, 5 * m)
    assert out.qty == 1000
    x = out.qty
    after = max(loss[0] + (10_000 - 1500) * x, loss[1] - 1500 * x, loss[2] - 1500 * x)
    assert after < max(loss)
