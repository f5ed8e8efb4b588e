"""Volatility inputs: VIX scaled by a fitted horizon factor k, live realised variance, a blend.

Raw VIX is too wide for intraday S&P digitals: it carries the variance risk premium and a
30-day horizon. Realised open-to-close volatility was ≈0.70× the VIX-implied one-day
volatility in 2014-2018 (notes §6.1), so k is fitted from data (RMS of realised / implied
over a trailing window, using only returns known before each forecast), never hard-coded.
Units: `vix` in annualised percent; per-session variance in log-return² per session.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "LiveRealisedVariance",
    "blend_session_variance",
    "fit_k",
    "rolling_k",
    "vix_session_sigma",
]

FloatArray = npt.NDArray[np.float64]

TRADING_DAYS = 252.0


def vix_session_sigma(vix: float | FloatArray, k: float | FloatArray = 1.0) -> FloatArray:
    """One regular session's log-return stdev implied by VIX (percent, annualised) times k."""
    return np.asarray(np.asarray(k) * np.asarray(vix) / 100.0 / math.sqrt(TRADING_DAYS))


def fit_k(returns: FloatArray, implied_sigma: FloatArray) -> float:
    """RMS ratio of realised returns to their implied stdev: sqrt(mean((r/σ)²))."""
    z = np.asarray(returns) / np.asarray(implied_sigma)
    z = z[np.isfinite(z)]
    if len(z) == 0:
        raise ValueError("no finite observations to fit k")
    return float(np.sqrt(np.mean(z * z)))


def rolling_k(
    returns: FloatArray,
    implied_sigma: FloatArray,
    window: int = 250,
    min_obs: int = 20,
    floor: float = 0.0,
    cap: float = math.inf,
) -> FloatArray:
    """k known before each observation: fit_k over the previous `window` observations.

    Element i uses observations [i-window, i) only, NaN until `min_obs` of them exist.
    Optional floor/cap (the notes suggest 0.5 and 1.0 for live refits).
    """
    z2 = (np.asarray(returns, dtype=np.float64) / np.asarray(implied_sigma, dtype=np.float64)) ** 2
    n = len(z2)
    ok = np.isfinite(z2)  # a missing return or sigma is skipped, not spread over the rest
    cs = np.concatenate([[0.0], np.cumsum(np.where(ok, z2, 0.0))])
    cn = np.concatenate([[0], np.cumsum(ok)])
    i = np.arange(n)
    a = np.maximum(0, i - window)
    cnt = cn[i] - cn[a]
    with np.errstate(invalid="ignore", divide="ignore"):
        k = np.sqrt((cs[i] - cs[a]) / cnt)
    k[cnt < min_obs] = np.nan
    return np.asarray(np.clip(k, floor, cap), dtype=np.float64)


@dataclass
class LiveRealisedVariance:
    """Realised variance of a live index feed, measured on the session variance clock.

    Feed it (level, cumulative variance time) pairs from `TradingCalendar.cumulative`.
    It keeps today's realised variance so far (`rv_session`, reset by `new_session`) and an
    EWMA of the de-seasonalised variance rate (log-return² per variance unit) with a
    half-life of `half_life` variance units, so a burst at the open is not mistaken for a
    regime change. Returns over gaps longer than `max_gap` variance units (overnights) are
    skipped: the stale opening print would pollute them.
    """

    half_life: float = 0.25
    max_gap: float = 0.1
    rv_session: float = 0.0
    elapsed_session: float = 0.0
    ewma_rate: float = math.nan
    _last_level: float = math.nan
    _last_v: float = math.nan

    def new_session(self) -> None:
        self.rv_session = 0.0
        self.elapsed_session = 0.0
        self._last_level = math.nan
        self._last_v = math.nan

    def update(self, level: float, v: float) -> None:
        if not (level > 0 and math.isfinite(level) and math.isfinite(v)):
            return
        if math.isfinite(self._last_level) and v > self._last_v:
            dv = v - self._last_v
            if dv <= self.max_gap:
                r = math.log(level / self._last_level)
                self.rv_session += r * r
                self.elapsed_session += dv
                rate = r * r / dv
                lam = 0.5 ** (dv / self.half_life)
                self.ewma_rate = (
                    rate if math.isnan(self.ewma_rate) else lam * self.ewma_rate + (1 - lam) * rate
                )
        if not math.isfinite(self._last_v) or v >= self._last_v:
            self._last_level, self._last_v = level, v

    def session_rate(self) -> float:
        """Today's realised variance per session unit so far (NaN before any return)."""
        if self.elapsed_session <= 0:
            return math.nan
        return self.rv_session / self.elapsed_session


def blend_session_variance(
    implied_var: float, rv_so_far: float, elapsed: float, prior_strength: float = 0.5
) -> float:
    """Per-session variance: implied shrunk toward today's realised rate as the day goes on.

    σ̂² = α·implied + (1−α)·rv_so_far/elapsed with α = p/(p + elapsed); `elapsed` is the
    share of the session's variance already realised and `prior_strength` p how many
    sessions' worth of evidence the implied level counts as. With p = 0.5, α is 1 at the
    open, ½ at mid-variance and ⅓ at the close (notes §2.3, §6.3: same-day realised
    variance improved log loss by 0.06-0.12 nats at 12:00-14:00).
    """
    if elapsed <= 0 or not math.isfinite(rv_so_far):
        return implied_var
    alpha = prior_strength / (prior_strength + elapsed)
    return alpha * implied_var + (1.0 - alpha) * rv_so_far / elapsed
