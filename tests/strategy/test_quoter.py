"""Quoting rules of the market maker: skew, fees, grid, book, band, hysteresis, debounce."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import pytest

from pmbot.core.fairvalue import EventFairValue
from pmbot.core.market import FeeSchedule, FeeType
from pmbot.core.money import ONE, PriceGrid, PriceRange
from pmbot.risk.limits import RiskLimits
from pmbot.strategy.inputs import DesiredQuote, RestingOrder
from pmbot.strategy.params import QuoteParams
from pmbot.strategy.quoter import MarketMaker, snap_ask, snap_bid
from pmbot.strategy.synthetic import (
    books_around,
    fresh_inputs,
    ladder_fair,
    ladder_markets,
    two_sided_book,
)

S = 1_000_000_000
T0 = 1_000 * S
NO_RISK = QuoteParams(risk_aversion=0.0, edge=100, no_quote_band=0.03)


def event3(p: float, *, fees=None, grid=None):
    """Tail / bucket / tail with the bucket at probability p (tails split the rest)."""
    ms = ladder_markets(3, 6000.0, 50.0, fees=fees, grid=grid)
    t = (1.0 - p) / 2
    fv = EventFairValue(
        "EVT",
        0,
        6000.0,
        (5975.0, 6025.0),
        (t, p, t),
        {ms[0].ticker: t, ms[1].ticker: p, ms[2].ticker: t},
    )
    return ms, fv


def wide_books(ms):
    """Books far from anything we quote (1c / 99c), so they never constrain."""
    return {m.ticker: two_sided_book(m, 100, 9900) for m in ms}


def quotes_of(prop, ticker):
    return {d.side: d for d in prop.quotes if d.ticker == ticker}


def run(params, ms, fv, books=None, limits=None, **kw):
    mm = MarketMaker(params, limits)
    return mm.propose(fresh_inputs(ms, fv, books or wide_books(ms), T0, **kw))


# ---- skew ------------------------------------------------------------------------------
def test_long_inventory_lowers_bid_and_ask_short_raises_them():
    ms, fv = event3(0.5)
    prm = QuoteParams(risk_aversion=0.002, edge=100)
    flat = quotes_of(run(prm, ms, fv), ms[1].ticker)
    long_ = quotes_of(run(prm, ms, fv, positions={ms[1].ticker: 5000}), ms[1].ticker)
    short = quotes_of(run(prm, ms, fv, positions={ms[1].ticker: -5000}), ms[1].ticker)
    assert long_["bid"].price < flat["bid"].price and long_["ask"].price < flat["ask"].price
    assert short["bid"].price > flat["bid"].price and short["ask"].price > flat["ask"].price


def test_skew_size_is_about_gamma_q_p_one_minus_p():
    """50 contracts at p = 0.5, gamma 0.002: skew ~ 2.5c, so both quotes drop 2-3 ticks."""
    ms, fv = event3(0.5)
    prm = QuoteParams(risk_aversion=0.002, edge=100, size=100)
    big = RiskLimits(max_position=10**6)
    flat = quotes_of(run(prm, ms, fv, limits=big), ms[1].ticker)
    long_ = quotes_of(run(prm, ms, fv, limits=big, positions={ms[1].ticker: 5000}), ms[1].ticker)
    assert flat["bid"].price - long_["bid"].price in (200, 300)
    assert flat["ask"].price - long_["ask"].price in (200, 300)


def test_inventory_in_a_neighbour_raises_this_buckets_quotes():
    ms = ladder_markets(7, 6000.0, 25.0)
    fv = ladder_fair(ms, 6000.0, 25.0)
    prm = QuoteParams(risk_aversion=0.004, edge=100, size=100)
    books = wide_books(ms)
    mid, nb = ms[3].ticker, ms[2].ticker
    big = RiskLimits(max_position=10**6)
    flat = run(prm, ms, fv, books, big)
    long_nb = run(prm, ms, fv, books, big, positions={nb: 8000})
    f, g = quotes_of(flat, mid), quotes_of(long_nb, mid)
    assert g["bid"].price > f["bid"].price
    assert g["ask"].price > f["ask"].price
    # the neighbour itself is cheapened, by more than its neighbour is enriched
    fn, gn = quotes_of(flat, nb), quotes_of(long_nb, nb)
    assert gn["bid"].price < fn["bid"].price
    assert fn["bid"].price - gn["bid"].price > g["bid"].price - f["bid"].price


def test_equal_holdings_in_every_bucket_produce_no_skew():
    ms = ladder_markets(5, 6000.0, 25.0)
    fv = ladder_fair(ms, 6000.0, 30.0)
    prm = QuoteParams(risk_aversion=0.01, edge=100, size=100, no_quote_band=0.0)
    books = wide_books(ms)
    big = RiskLimits(max_position=10**6)
    flat = run(prm, ms, fv, books, big)
    even = run(prm, ms, fv, books, big, positions={m.ticker: 3000 for m in ms})
    assert [(d.ticker, d.side, d.price) for d in flat.quotes] == [
        (d.ticker, d.side, d.price) for d in even.quotes
    ]


def test_size_shrinks_toward_the_position_limit_on_the_opening_side_only():
    ms, fv = event3(0.5)
    mm = MarketMaker(QuoteParams(risk_aversion=0.0, size=1000), RiskLimits(max_position=10_000))
    inp = fresh_inputs(ms, fv, wide_books(ms), T0, positions={ms[1].ticker: 7500})
    q = quotes_of(mm.propose(inp), ms[1].ticker)
    assert q["bid"].qty == 300  # 25% of the room left -> 2.5 contracts, to the nearest lot
    assert q["ask"].qty == 1000


# ---- fees ------------------------------------------------------------------------------
def test_plain_quadratic_series_charges_makers_nothing_so_edge_is_the_edge():
    ms, fv = event3(0.5, fees=FeeSchedule(FeeType.QUADRATIC, Fraction(1)))
    q = quotes_of(run(NO_RISK, ms, fv), ms[1].ticker)
    assert (q["bid"].price, q["ask"].price) == (4900, 5100)


def test_maker_fee_series_widens_by_the_fee():
    fees = FeeSchedule(FeeType.QUADRATIC_WITH_MAKER_FEES, Fraction(1))
    ms, fv = event3(0.5, fees=fees)
    q = quotes_of(run(NO_RISK, ms, fv), ms[1].ticker)
    # 0.0175 x 0.49 x 0.51 = 0.44c per contract does not fit in 49c - 49c: one more tick
    assert (q["bid"].price, q["ask"].price) == (4800, 5200)
    for d in q.values():
        fee = fees.fee(d.qty, d.price, maker=True) / d.qty
        assert abs(d.price - 5000) - fee >= 100


def test_maker_fee_on_a_finer_grid_costs_less_than_a_whole_cent():
    fees = FeeSchedule(FeeType.QUADRATIC_WITH_MAKER_FEES, Fraction(1))
    deci = PriceGrid([PriceRange(0, ONE, 10)])
    ms, fv = event3(0.5, fees=fees, grid=deci)
    q = quotes_of(run(NO_RISK, ms, fv), ms[1].ticker)
    assert (q["bid"].price, q["ask"].price) == (4850, 5150)


def test_snap_helpers_respect_fee_and_grid():
    g = PriceGrid.linear_cent()
    fees = FeeSchedule()
    assert snap_bid(g, fees, 100, 4137.0) == 4100
    assert snap_ask(g, fees, 100, 4337.0) == 4400
    assert snap_bid(g, fees, 100, 4100.0) == 4100
    assert snap_bid(g, fees, 100, 50.0) is None  # below the lowest valid price
    assert snap_ask(g, fees, 100, 9950.0) is None  # would need $1.00


# ---- grid, book, range -----------------------------------------------------------------
def test_bid_floors_and_ask_ceils_on_a_tapered_grid():
    tapered = PriceGrid(
        [PriceRange(0, 1000, 10), PriceRange(1000, 9000, 100), PriceRange(9000, ONE, 10)]
    )
    ms, fv = event3(0.0637, grid=tapered)
    q = quotes_of(run(NO_RISK, ms, fv), ms[1].ticker)
    assert (q["bid"].price, q["ask"].price) == (530, 740)
    ms, fv = event3(0.4237)
    q = quotes_of(run(NO_RISK, ms, fv), ms[1].ticker)
    assert (q["bid"].price, q["ask"].price) == (4100, 4400)


def test_never_crosses_the_books_best_opposite_price():
    ms, fv = event3(0.70)
    books = wide_books(ms)
    books[ms[1].ticker] = two_sided_book(ms[1], 6000, 6200)  # the market thinks 61c
    q = quotes_of(run(NO_RISK, ms, fv, books), ms[1].ticker)
    assert q["bid"].price == 6100  # would be 69c: kept one tick under the best ask
    assert q["ask"].price == 7100
    books[ms[1].ticker] = two_sided_book(ms[1], 7800, 8000)  # the market thinks 79c
    q = quotes_of(run(NO_RISK, ms, fv, books), ms[1].ticker)
    assert q["bid"].price == 6900
    assert q["ask"].price == 7900


def test_minimum_spread_in_ticks():
    ms, fv = event3(0.5)
    prm = QuoteParams(risk_aversion=0.0, edge=0, min_spread_ticks=3)
    q = quotes_of(run(prm, ms, fv), ms[1].ticker)
    assert (q["ask"].price - q["bid"].price) // 100 >= 3


def test_no_quote_outside_zero_one_and_none_in_the_band():
    ms, fv = event3(0.985)
    prm = QuoteParams(risk_aversion=0.0, edge=100, no_quote_band=0.0)
    q = quotes_of(run(prm, ms, fv), ms[1].ticker)
    assert q["bid"].price == 9700 and "ask" not in q  # 99.5c ceils to $1: no ask
    for p in (0.02, 0.975):
        ms, fv = event3(p)
        prop = run(NO_RISK, ms, fv)
        assert not quotes_of(prop, ms[1].ticker)
        assert prop.notes[ms[1].ticker] == "no_quote_band"
    ms, fv = event3(0.96)
    assert set(quotes_of(run(NO_RISK, ms, fv), ms[1].ticker)) == {"bid", "ask"}


# ---- stability -------------------------------------------------------------------------
def _resting(bid, ask, placed=T0 - 10 * S, qty=1000):
    return (
        RestingOrder("bid", bid, qty, placed, "b1"),
        RestingOrder("ask", ask, qty, placed, "a1"),
    )


def test_hysteresis_keeps_resting_quotes_on_small_moves_and_replaces_on_large():
    ms, fv = event3(0.5)
    t = ms[1].ticker
    rest = {t: _resting(4900, 5100)}
    small = replace(fv, fair={**fv.fair, t: 0.494})  # fresh quotes would be 48/51
    q = quotes_of(run(NO_RISK, ms, small, resting=rest), t)
    assert (q["bid"].price, q["ask"].price) == (4900, 5100)
    large = replace(fv, fair={**fv.fair, t: 0.47})  # fresh quotes 46/48
    q = quotes_of(run(NO_RISK, ms, large, resting=rest), t)
    assert (q["bid"].price, q["ask"].price) == (4600, 4800)


def test_hysteresis_never_keeps_a_quote_that_lost_its_edge():
    ms, fv = event3(0.5)
    t = ms[1].ticker
    prm = replace(NO_RISK, price_tolerance_ticks=5)
    moved = replace(fv, fair={**fv.fair, t: 0.485})  # resting bid 49c > fair 48.5c
    q = quotes_of(run(prm, ms, moved, resting={t: _resting(4900, 5100)}), t)
    assert q["bid"].price == 4700
    assert q["ask"].price == 5100  # still above fair + nothing: kept


def test_size_hysteresis():
    ms, fv = event3(0.5)
    t = ms[1].ticker
    q = quotes_of(run(NO_RISK, ms, fv, resting={t: _resting(4900, 5100, qty=800)}), t)
    assert q["bid"].qty == 800
    q = quotes_of(run(NO_RISK, ms, fv, resting={t: _resting(4900, 5100, qty=300)}), t)
    assert q["bid"].qty == 1000 and q["bid"].price == 4900


def test_min_resting_time_keeps_a_young_quote_but_not_an_unsafe_one():
    ms, fv = event3(0.5)
    t = ms[1].ticker
    young = {t: _resting(4700, 5300, placed=T0 - 100_000_000)}
    q = quotes_of(run(NO_RISK, ms, fv, resting=young), t)
    assert (q["bid"].price, q["ask"].price) == (4700, 5300)
    old = {t: _resting(4700, 5300, placed=T0 - S)}
    q = quotes_of(run(NO_RISK, ms, fv, resting=old), t)
    assert (q["bid"].price, q["ask"].price) == (4900, 5100)
    unsafe = {t: _resting(5050, 5300, placed=T0 - 100_000_000)}
    q = quotes_of(run(NO_RISK, ms, fv, resting=unsafe), t)
    assert q["bid"].price == 4900


def test_debounce_holds_small_changes_and_passes_large_ones_and_fills():
    ms = ladder_markets(5, 6000.0, 25.0)
    books = books_around(ms, ladder_fair(ms, 6000.0, 30.0), half_spread=1500)
    mm = MarketMaker(QuoteParams(debounce_ns=250_000_000, debounce_bypass=0.02))
    first = mm.propose(fresh_inputs(ms, ladder_fair(ms, 6000.0, 30.0), books, T0))
    assert first.wake_at_ns is None
    # a burst of small index ticks inside the window: same quotes, wake at the window's end
    for k in range(1, 5):
        fv = ladder_fair(ms, 6000.0 + 0.4 * k, 30.0)
        p = mm.propose(fresh_inputs(ms, fv, books, T0 + k * 50_000_000))
        assert p.quotes == first.quotes
        assert p.wake_at_ns == T0 + 250_000_000
    # the wake-up: requoted at the latest fair
    after = mm.propose(fresh_inputs(ms, ladder_fair(ms, 6001.6, 30.0), books, T0 + 250_000_000))
    assert after.wake_at_ns is None
    # a large jump inside the window passes at once
    mm2 = MarketMaker(QuoteParams())
    base = mm2.propose(fresh_inputs(ms, ladder_fair(ms, 6000.0, 30.0), books, T0))
    jump = mm2.propose(fresh_inputs(ms, ladder_fair(ms, 6015.0, 30.0), books, T0 + 1))
    assert jump.quotes != base.quotes and jump.wake_at_ns is None
    # so does a fill (position change)
    fill = mm2.propose(
        fresh_inputs(
            ms, ladder_fair(ms, 6015.0, 30.0), books, T0 + 2, positions={ms[2].ticker: 1000}
        )
    )
    assert fill.quotes != jump.quotes


def test_quotes_are_post_only_and_on_the_grid():
    ms = ladder_markets(9, 6000.0, 25.0)
    fv = ladder_fair(ms, 6007.0, 35.0)
    prop = run(QuoteParams(), ms, fv, books_around(ms, fv, 200))
    assert prop.quotes
    for d in prop.quotes:
        assert isinstance(d, DesiredQuote) and d.post_only
        m = next(m for m in ms if m.ticker == d.ticker)
        assert m.grid.valid_order_price(d.price)
        assert d.qty > 0 and d.qty % 100 == 0


@pytest.mark.parametrize("bad", [{"edge": -1}, {"size": 0}, {"no_quote_band": 0.5}])
def test_params_reject_nonsense(bad):
    from pmbot.errors import ConfigError

    with pytest.raises(ConfigError):
        QuoteParams(**bad)


def test_a_filled_side_pauses_and_asks_to_be_woken():
    ms, fv = event3(0.5)
    t = ms[1].ticker
    prm = replace(NO_RISK, fill_pause_ns=2 * S)
    prop = run(prm, ms, fv, last_fill_ns={(t, "bid"): T0 - S})
    assert set(quotes_of(prop, t)) == {"ask"}
    assert prop.wake_at_ns == T0 + S
    prop = run(prm, ms, fv, last_fill_ns={(t, "bid"): T0 - 3 * S})
    assert set(quotes_of(prop, t)) == {"bid", "ask"}
    assert prop.wake_at_ns is None


def test_risk_aversion_and_edge_ramp_up_toward_the_reference_time():
    ms, fv = event3(0.5)
    t = ms[1].ticker
    prm = QuoteParams(
        risk_aversion=0.002,
        edge=100,
        close_ramp_ns=600 * S,
        close_risk_multiplier=5.0,
        close_edge_multiplier=3.0,
    )
    assert prm.close_factor(900 * S) == 0.0 and prm.close_factor(0) == 1.0
    pos = {t: 3000}
    far = quotes_of(run(prm, ms, fv, positions=pos, reference_ts_ns=T0 + 3600 * S), t)
    near = quotes_of(run(prm, ms, fv, positions=pos, reference_ts_ns=T0 + 30 * S), t)
    assert near["ask"].price - near["bid"].price > far["ask"].price - far["bid"].price
    # stronger skew: the long position pushes the mid of the quotes down further
    assert near["bid"].price + near["ask"].price < far["bid"].price + far["ask"].price


# ---- session-6 review cases -------------------------------------------------------------
def test_the_debounce_releases_a_quote_the_new_fair_value_has_reached():
    """The bypass (2c) can exceed the edge (1c): a held bid the fair value fell through is
    not sent again for the rest of the window."""
    ms, fv = event3(0.50)
    mm = MarketMaker(QuoteParams(risk_aversion=0.0, edge=100, debounce_bypass=0.02))
    first = mm.propose(fresh_inputs(ms, fv, wide_books(ms), T0))
    bid = quotes_of(first, ms[1].ticker)["bid"].price
    _, lower = event3((bid - 50) / ONE)  # 0.5c under the held bid: a move under the bypass
    p = mm.propose(fresh_inputs(ms, lower, wide_books(ms), T0 + 100_000_000))
    assert p.wake_at_ns is None  # decided anew, not held
    assert quotes_of(p, ms[1].ticker)["bid"].price < bid


def test_youth_does_not_hold_back_the_unwind():
    """Long 80 of 100: the ask wanted is lower than a young resting ask; it moves at once."""
    ms, fv = event3(0.50)
    params = QuoteParams(risk_aversion=0.004, edge=100, min_rest_ns=5 * S)
    pos = {ms[1].ticker: 8000}
    want = quotes_of(run(params, ms, fv, positions=pos), ms[1].ticker)["ask"]
    young = RestingOrder("ask", want.price + 400, want.qty, T0 - S // 5, "a1")
    got = run(params, ms, fv, positions=pos, resting={ms[1].ticker: (young,)})
    assert quotes_of(got, ms[1].ticker)["ask"].price == want.price
    # a young ask on the side that adds risk still rests (flat: no unwind)
    flat = quotes_of(run(params, ms, fv), ms[1].ticker)["ask"]
    young = RestingOrder("ask", flat.price + 100, flat.qty, T0 - S // 5, "a1")
    held = run(params, ms, fv, resting={ms[1].ticker: (young,)})
    assert quotes_of(held, ms[1].ticker)["ask"].price == flat.price + 100


def test_the_baseline_drops_a_side_off_the_grid_instead_of_clamping_it():
    from pmbot.strategy.baseline import BaselineStrategy

    ms, fv = event3(0.98)  # tails at 1 % each: inside the no-quote band
    prop = BaselineStrategy(QuoteParams(edge=100)).propose(fresh_inputs(ms, fv, wide_books(ms), T0))
    assert {d.ticker for d in prop.quotes} == set()  # 98 % is in the band too
    ms, fv = event3(0.90)
    prop = BaselineStrategy(QuoteParams(edge=100, no_quote_band=0.0)).propose(
        fresh_inputs(ms, fv, wide_books(ms), T0)
    )
    for d in prop.quotes:  # never a bid above fair or an ask below it
        p = fv.fair[d.ticker] * ONE
        assert (d.price < p) if d.side == "bid" else (d.price > p)
