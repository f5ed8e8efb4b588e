"""Horizon factor k, live realised variance on the variance clock, implied/realised blend."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from pmbot.pricing.volatility import (
    LiveRealisedVariance,
    blend_session_variance,
    fit_k,
    rolling_k,
    vix_session_sigma,
)


def test_vix_session_sigma() -> None:
    assert float(vix_session_sigma(16.0)) == pytest.approx(0.16 / math.sqrt(252))
    assert float(vix_session_sigma(16.0, 0.7)) == pytest.approx(0.7 * 0.16 / math.sqrt(252))


def test_rolling_k_skips_a_missing_return_instead_of_spreading_it() -> None:
    r = np.array([0.02, np.nan, 0.02, 0.02, 0.02, 0.02])
    s = np.full(6, 0.01)
    k = rolling_k(r, s, window=2, min_obs=1)
    assert k[2] == pytest.approx(2.0)  # its window holds the NaN: the one finite return counts
    assert k[4] == pytest.approx(2.0) and k[5] == pytest.approx(2.0)  # windows past it: clean


def test_fit_k_recovers_the_ratio() -> None:
    rng = np.random.default_rng(1)
    implied = np.full(20_000, 0.01)
    r = rng.normal(0, 0.007, size=20_000)
    assert fit_k(r, implied) == pytest.approx(0.7, rel=0.02)


def test_rolling_k_uses_only_the_past() -> None:
    r = np.array([0.01, 0.01, 0.02, 0.02, 0.03])
    s = np.full(5, 0.01)
    k = rolling_k(r, s, window=2, min_obs=1)
    assert math.isnan(k[0])
    assert k[1] == pytest.approx(1.0)  # from r[0] only
    assert k[3] == pytest.approx(math.sqrt((1 + 4) / 2))  # r[1], r[2]
    assert k[4] == pytest.approx(2.0)  # r[2], r[3]
    assert np.isnan(rolling_k(r, s, window=2, min_obs=3)).all()
    assert np.nanmax(rolling_k(r, s, window=2, min_obs=1, cap=1.5)) == 1.5


def test_live_realised_variance_recovers_rate() -> None:
    rng = random.Random(3)
    lv = LiveRealisedVariance(half_life=0.5)
    level, v = 6800.0, 0.0
    sigma_day = 0.008
    for _ in range(2000):
        dv = 1 / 2000
        v += dv
        level *= math.exp(rng.gauss(0, sigma_day * math.sqrt(dv)))
        lv.update(level, v)
    assert lv.session_rate() == pytest.approx(sigma_day**2, rel=0.1)
    assert lv.ewma_rate == pytest.approx(sigma_day**2, rel=0.35)
    lv.new_session()
    assert math.isnan(lv.session_rate())
    lv.update(6800.0, 1.5)  # an overnight gap is skipped
    lv.update(6900.0, 1.9)
    assert math.isnan(lv.session_rate())
    lv.update(float("nan"), 2.0)  # bad ticks ignored


def test_blend() -> None:
    assert blend_session_variance(1e-4, 0.0, 0.0) == 1e-4
    # half the session done with realised at 4e-5 (rate 8e-5) -> 50/50
    assert blend_session_variance(1e-4, 4e-5, 0.5) == pytest.approx(0.5 * 1e-4 + 0.5 * 8e-5)
    late = blend_session_variance(1e-4, 8e-5, 1.0)
    assert late == pytest.approx(1e-4 / 3 + 2 * 8e-5 / 3)
