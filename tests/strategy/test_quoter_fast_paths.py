"""The quoter's fast paths give exactly what the straightforward code they replaced gave.

`snap_bid`/`snap_ask` now index the grid with one bisect and skip the fee evaluation when
makers pay nothing; `tilted_probs` sums cells without a generator; `maker_share` returns
shared constants. The references below are the previous implementations, kept verbatim.
The quoter's memory across calls is checked against a fresh quoter on the same snapshots.
"""

from __future__ import annotations

import math
from fractions import Fraction

from hypothesis import example, given, settings
from hypothesis import strategies as st

from pmbot.core.market import FeeSchedule, FeeType
from pmbot.core.money import ONE, PriceGrid, PriceRange
from pmbot.strategy.inventory import tilted_probs
from pmbot.strategy.params import QuoteParams
from pmbot.strategy.quoter import MarketMaker, maker_fee_per_contract, snap_ask, snap_bid
from pmbot.strategy.synthetic import books_around, fresh_inputs, ladder_fair, ladder_markets

GRIDS = [
    PriceGrid.linear_cent(),
    PriceGrid([PriceRange(0, ONE, 10)]),
    PriceGrid([PriceRange(0, 1000, 10), PriceRange(1000, 9000, 100), PriceRange(9000, ONE, 10)]),
    PriceGrid([PriceRange(100, 9900, 100)]),
]
SCHEDULES = [
    None,
    FeeSchedule(),
    FeeSchedule(FeeType.QUADRATIC_WITH_MAKER_FEES),
    FeeSchedule(FeeType.QUADRATIC_WITH_COMBO_MAKER_FEES, Fraction(3, 2)),
]


def ref_snap_bid(grid, fees, qty, target):
    if target <= 0:
        return None
    px = grid.floor(math.floor(target))
    i = grid.tick(px)
    while i >= 0:
        px = grid.prices[i]
        if px <= 0:
            return None
        if px >= ONE:  # quotes lie strictly inside (0, 1)
            i -= 1
            continue
        if px + maker_fee_per_contract(fees, qty, px) <= target:
            return px
        i -= 1
    return None


def ref_snap_ask(grid, fees, qty, target):
    if target >= ONE:
        return None
    px = grid.ceil(math.ceil(target))
    i = grid.tick(px)
    n = len(grid.prices)
    while i < n:
        px = grid.prices[i]
        if px >= ONE:
            return None
        if px <= 0:  # quotes lie strictly inside (0, 1)
            i += 1
            continue
        if px - maker_fee_per_contract(fees, qty, px) >= target:
            return px
        i += 1
    return None


def ref_tilted_probs(probs, payoff, wins, gamma):
    if gamma > 0.0 and payoff:
        lo = min(payoff)
        w = [p * math.exp(-gamma * (q - lo)) for p, q in zip(probs, payoff, strict=True)]
    else:
        w = list(probs)
    s = sum(w)
    if s <= 0.0:
        return [0.0] * len(wins)
    return [sum(w[o] for o in cells) / s for cells in wins]


@settings(max_examples=400, deadline=None)
@given(
    g=st.sampled_from(range(len(GRIDS))),
    f=st.sampled_from(range(len(SCHEDULES))),
    qty=st.integers(-100, 5000),
    target=st.floats(-200.0, ONE + 200.0, allow_nan=False),
)
@example(g=0, f=2, qty=1, target=0.0)  # the fee eats a 1-tick ask: net 0 meets a target of 0
def test_snap_matches_the_reference(g, f, qty, target):
    grid, fees = GRIDS[g], SCHEDULES[f]
    if fees is not None and not fees.maker_share():
        fees = None  # the quoter passes None for schedules that charge makers nothing
    assert snap_bid(grid, fees, qty, target) == ref_snap_bid(grid, fees, qty, target)
    assert snap_ask(grid, fees, qty, target) == ref_snap_ask(grid, fees, qty, target)


@settings(max_examples=200, deadline=None)
@given(
    probs=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=12),
    data=st.data(),
    gamma=st.sampled_from([0.0, 0.002, 0.05]),
)
def test_tilted_probs_match_the_reference(probs, data, gamma):
    n = len(probs)
    payoff = data.draw(st.lists(st.floats(-50.0, 50.0), min_size=n, max_size=n))
    wins = data.draw(st.lists(st.lists(st.integers(0, n - 1), max_size=n).map(tuple), max_size=8))
    got = tilted_probs(probs, payoff, wins, gamma)
    want = ref_tilted_probs(probs, payoff, wins, gamma)
    assert [math.copysign(1.0, x) for x in got] == [math.copysign(1.0, x) for x in want]
    assert got == want


def test_maker_share_values_are_unchanged():
    assert FeeSchedule().maker_share() == 0
    assert FeeSchedule(FeeType.QUADRATIC_WITH_MAKER_FEES).maker_share() == Fraction(1, 4)
    assert FeeSchedule(FeeType.QUADRATIC_WITH_COMBO_MAKER_FEES).maker_share() == Fraction(1, 2)
    assert FeeSchedule(FeeType.FLAT).maker_share() == 0


def test_a_long_lived_quoter_proposes_what_a_fresh_one_does():
    """The quoter's memory (market layout, weights, quotes handed out again) never shows.

    One MarketMaker is stepped through index moves, position changes, a new tuple of the
    same markets (as the live shell builds per decision), another market list and back; each
    proposal must equal that of a fresh MarketMaker given the same snapshot.
    """

    params = QuoteParams(debounce_ns=0)
    a = ladder_markets(12, 6000.0, 25.0)
    b = ladder_markets(9, 6010.0, 20.0, event="OTHER")
    mm = MarketMaker(params)
    s = 1_000_000_000
    for k, (ms, level, shift) in enumerate(
        [
            (a, 6000.0, 0),
            (a, 6000.0, 0),
            (a, 6003.0, 0),
            (tuple(a), 6003.0, 1),
            (a, 6003.0, 1),
            (b, 6010.0, 0),
            (a, 5990.0, 2),
            (tuple(a), 5990.0, 2),
        ]
    ):
        fv = ladder_fair(ms, level, 40.0, 100 * s + k)
        books = books_around(ms, ladder_fair(ms, 6000.0, 40.0), 200)
        pos = {m.ticker: ((i + shift) % 5 - 2) * 300 for i, m in enumerate(ms)}
        inp = fresh_inputs(ms, fv, books, 100 * s + k * 10**8, positions=pos)
        got = mm.propose(inp)
        want = MarketMaker(params).propose(inp)
        assert got.quotes == want.quotes
        assert got.notes == want.notes and got.wake_at_ns == want.wake_at_ns
        assert all(d.ticker in {m.ticker for m in ms} for d in got.quotes)
