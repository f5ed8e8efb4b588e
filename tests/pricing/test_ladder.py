"""Ladder pricing against closed forms, sums, monotonicity and edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from pmbot.core.market import FeeSchedule, MarketSpec, StrikeType
from pmbot.core.money import PriceGrid
from pmbot.pricing.ladder import LadderPricer, Shape, kalshi_style_ladder, market_interval

E = "KXINX-26NOV24H1600"


def spec(t: str, st_: StrikeType, lo: float | None, hi: float | None) -> MarketSpec:
    return MarketSpec(t, E, "KXINX", st_, lo, hi, PriceGrid.linear_cent(), FeeSchedule(), 0)


def d2(S: float, K: float, s: float) -> float:
    return (math.log(S / K) - s * s / 2) / s


@pytest.mark.parametrize("shape", [Shape.normal(), Shape.student_t(4), Shape.student_t(6)])
def test_ladder_sums_to_one_and_matches_cells(shape: Shape) -> None:
    specs = kalshi_style_ladder(E, 6500, 25, 28)
    lp = LadderPricer(E, specs, shape)
    cells, fair, delta = lp.price(6840.0, 0.007)
    assert len(specs) == 30 and len(lp.edges) == 29
    assert cells.sum() == pytest.approx(1.0, abs=1e-12)
    # ladder markets ARE the cells here: bottom tail, 28 buckets, top tail
    assert np.allclose(fair, cells, atol=1e-15)
    assert sum(fair) == pytest.approx(1.0, abs=1e-12)
    assert delta.sum() == pytest.approx(0.0, abs=1e-12)
    assert (cells >= 0).all()


def test_normal_digital_matches_black_scholes() -> None:
    S, s = 6840.0, 0.008
    strikes = [6700.0, 6800.0, 6840.0, 6900.0]
    specs = [spec(f"T{k}", StrikeType.GREATER_OR_EQUAL, k, None) for k in strikes]
    lp = LadderPricer(E, specs, Shape.normal(), tick=None)
    _, fair, delta = lp.price(S, s)
    for k, p, d in zip(strikes, fair, delta, strict=True):
        assert p == pytest.approx(stats.norm.cdf(d2(S, k, s)), abs=1e-13)
        assert d == pytest.approx(stats.norm.pdf(d2(S, k, s)) / (S * s), rel=1e-10)
    # numerical delta
    h = 0.01
    up, dn = lp.price(S + h, s)[1], lp.price(S - h, s)[1]
    assert np.allclose((up - dn) / (2 * h), delta, rtol=1e-5)


def test_at_the_strike_is_just_below_half() -> None:
    lp = LadderPricer(E, [spec("T", StrikeType.GREATER, 6840.0, None)], Shape.normal(), tick=None)
    s = 0.01
    p = lp.price(6840.0, s)[1][0]
    assert p == pytest.approx(stats.norm.cdf(-s / 2), abs=1e-14)
    assert p < 0.5


def test_bucket_is_difference_of_digitals_and_t_limit() -> None:
    S, s, L, U = 6840.0, 0.006, 6825.0, 6850.0
    b = spec("B", StrikeType.BETWEEN, L, U)
    for shape, dist in [
        (Shape.normal(), stats.norm()),
        (Shape.student_t(4), stats.t(4, scale=math.sqrt(0.5))),
        (Shape.student_t(7.5), stats.t(7.5, scale=math.sqrt(5.5 / 7.5))),
    ]:
        p = LadderPricer(E, [b], shape, tick=None).price(S, s)[1][0]
        want = dist.cdf((math.log(U / S) + s * s / 2) / s) - dist.cdf(
            (math.log(L / S) + s * s / 2) / s
        )
        assert p == pytest.approx(want, abs=1e-12)
    # t with huge nu converges to the normal
    pn = LadderPricer(E, [b], Shape.normal(), tick=None).price(S, s)[1][0]
    pt = LadderPricer(E, [b], Shape.student_t(1e6), tick=None).price(S, s)[1][0]
    assert pt == pytest.approx(pn, abs=1e-6)


def test_variance_matched_t_has_unit_variance_and_median_match() -> None:
    for nu in (3.0, 4.0, 6.0):
        sh = Shape.student_t(nu)
        assert stats.t(nu, scale=sh.scale).var() == pytest.approx(1.0)
    sh = Shape.student_t(4, match="median")
    assert float(sh.cdf(np.array([stats.norm.ppf(0.75)]))[0]) == pytest.approx(0.75)


def test_zero_time_left_is_a_point_mass() -> None:
    specs = kalshi_style_ladder(E, 6800, 25, 4)
    lp = LadderPricer(E, specs, Shape.student_t(4))
    _, fair, delta = lp.price(6837.5, 0.0)
    f = dict(zip(lp.tickers, fair, strict=True))
    assert f[f"{E}-B6837"] == 1.0 and sum(fair) == 1.0
    assert not delta.any()
    # exactly on an edge: the bucket whose floor it is wins (6825 <= v <= 6849.9999)
    fair2 = lp.price(6825.0, 0.0)[1]
    assert dict(zip(lp.tickers, fair2, strict=True))[f"{E}-B6837"] == 1.0
    # a cap just below the next floor loses at that floor
    assert dict(zip(lp.tickers, fair2, strict=True))[f"{E}-B6812"] == 0.0


def test_far_wings_are_tiny_but_consistent() -> None:
    specs = kalshi_style_ladder(E, 6500, 25, 28)
    lp = LadderPricer(E, specs, Shape.normal())
    cells, fair, _ = lp.price(6000.0, 0.005)  # level far below the ladder
    assert fair[0] == pytest.approx(1.0, abs=1e-12)
    assert (fair[1:] < 1e-12).all() and (fair >= 0).all()
    assert cells.sum() == pytest.approx(1.0, abs=1e-15)
    cells, fair, _ = lp.price(9000.0, 0.005)
    assert fair[-1] == pytest.approx(1.0, abs=1e-12)


def test_strike_semantics_from_spec_fields_not_ticker() -> None:
    g = spec("KXINX-X-B9999", StrikeType.GREATER, 6844.9999, None)
    assert market_interval(g) == (6845.0, math.inf)
    assert market_interval(spec("a", StrikeType.GREATER_OR_EQUAL, 6845.0, None)) == (
        6845.0,
        math.inf,
    )
    assert market_interval(spec("a", StrikeType.GREATER, 6845.0, None)) == (6845.01, math.inf)
    assert market_interval(spec("a", StrikeType.LESS, None, 6475.0)) == (-math.inf, 6475.0)
    assert market_interval(spec("a", StrikeType.LESS_OR_EQUAL, None, 6474.9999)) == (
        -math.inf,
        6475.0,
    )
    assert market_interval(spec("a", StrikeType.LESS_OR_EQUAL, None, 6475.0)) == (
        -math.inf,
        6475.01,
    )
    assert market_interval(spec("a", StrikeType.BETWEEN, 6850.0, 6874.9999)) == (6850.0, 6875.0)
    with pytest.raises(ValueError):
        market_interval(spec("a", StrikeType.BETWEEN, 6850.0, None))


def test_threshold_and_bucket_events_share_one_partition() -> None:
    specs = [
        spec("above6850", StrikeType.GREATER, 6849.9999, None),
        spec("below6800", StrikeType.LESS, None, 6800.0),
        spec("b", StrikeType.BETWEEN, 6800.0, 6849.9999),
    ]
    fv = LadderPricer(E, specs, Shape.student_t(4)).fair_value(1, 6830.0, 0.004)
    assert fv.edges == (6800.0, 6850.0)
    assert sum(fv.cell_probs) == pytest.approx(1.0)
    assert fv.fair["above6850"] + fv.fair["below6800"] + fv.fair["b"] == pytest.approx(1.0)
    assert fv.fair["b"] == pytest.approx(fv.cell_probs[1])
    assert fv.delta["above6850"] > 0 > fv.delta["below6800"]
    assert fv.sigma == pytest.approx(6830 * 0.004, rel=1e-3)


@settings(max_examples=60, deadline=None)
@given(
    level=st.floats(5000, 8000),
    s=st.floats(1e-5, 0.05),
    nu=st.sampled_from([0.0, 3.0, 4.0, 6.0, 30.0]),
)
def test_thresholds_monotone_and_probabilities_valid(level: float, s: float, nu: float) -> None:
    shape = Shape.normal() if nu == 0 else Shape.student_t(nu)
    strikes = np.arange(6000.0, 7000.0, 25.0)
    specs = [spec(f"T{k}", StrikeType.GREATER, k, None) for k in strikes]
    _, fair, delta = LadderPricer(E, specs, shape).price(level, s)
    assert (np.diff(fair) <= 1e-15).all()  # P(v > K) falls with K
    assert ((fair >= 0) & (fair <= 1)).all()
    assert (delta >= 0).all()
    cells = LadderPricer(E, kalshi_style_ladder(E, 6000, 25, 40), shape).price(level, s)[0]
    assert cells.sum() == pytest.approx(1.0, abs=1e-12) and (cells >= -1e-15).all()


def test_rejects_bad_inputs() -> None:
    with pytest.raises(ValueError):
        LadderPricer(E, [])
    with pytest.raises(ValueError):
        LadderPricer(E, [spec("x", StrikeType.BETWEEN, 6900.0, 6800.0)])
    lp = LadderPricer(E, kalshi_style_ladder(E, 6800, 25, 2))
    with pytest.raises(ValueError):
        lp.price(float("nan"), 0.01)


def test_partition_agrees_with_strategy_payoff_cells() -> None:
    """The strategy maps markets to cells with MarketSpec.yes_wins at cell points: the
    fair of every market must be the sum of the cell probabilities where it wins."""
    from pmbot.strategy.inventory import win_cells

    specs = kalshi_style_ladder(E, 6500, 25, 28)
    specs += [
        spec("above6700", StrikeType.GREATER, 6699.9999, None),
        spec("below6650", StrikeType.LESS, None, 6650.0),
    ]
    fv = LadderPricer(E, specs, Shape.student_t(6)).fair_value(0, 6690.0, 0.006)
    for m, cells in zip(specs, win_cells(specs, fv), strict=True):
        assert sum(fv.cell_probs[i] for i in cells) == pytest.approx(fv.fair[m.ticker], abs=1e-12)


@pytest.mark.parametrize(
    "shape",
    [Shape.normal(), Shape("t", 2.0, 1.0), Shape.student_t(3.0), Shape.student_t(6, "median")]
    + [Shape.student_t(nu) for nu in (4.0, 6.0, 8.0, 30.0)],
)
@pytest.mark.parametrize("s", [0.0, 1e-13, 1e-12, 1e-6, 0.004, 0.3, 5.0])
def test_fair_value_is_exactly_price(shape: Shape, s: float) -> None:
    """`fair_value` (floats for closed-form shapes) gives `price`'s numbers, bit for bit."""
    specs = [
        *kalshi_style_ladder(E, 6500, 25, 29),
        spec("above6850", StrikeType.GREATER, 6849.9999, None),
        spec("below6800", StrikeType.LESS, None, 6800.0),
    ]
    lp = LadderPricer(E, specs, shape)
    for level in (1.0, 6321.7, 6500.0, 6842.13, 7400.0, 1e9):
        fv = lp.fair_value(7, level, s)
        cells, fair, delta = lp.price(level, s)
        assert fv.cell_probs == tuple(cells.tolist())
        assert list(fv.fair.items()) == list(zip(lp.tickers, fair.tolist(), strict=True))
        assert list(fv.delta.items()) == list(zip(lp.tickers, delta.tolist(), strict=True))
    with pytest.raises(ValueError):
        lp.fair_value(7, float("inf"), 0.01)
    with pytest.raises(ValueError):
        lp.fair_value(7, 6800.0, float("nan"))
