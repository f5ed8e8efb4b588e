"""Price a whole event (a ladder of range/threshold markets) from one index distribution.

The index at the reference time is `S_T = S * exp(r)` with `r = -s**2/2 + s*z`, where `s` is
the log-return standard deviation to the reference time and `z` a unit-variance shape
(normal or Student-t). Every market's P(YES) is a difference of ONE CDF vector evaluated at
the distinct strikes of the event, so bucket probabilities sum to exactly 1 and threshold
probabilities are monotone in the strike; pricing each bucket on its own can break both.

Strike semantics come from `MarketSpec.strike_type`/`floor_strike`/`cap_strike`, never from
the ticker. The reference value is published on a `tick` grid (0.01 for the S&P 500), so
each market's YES set is a half-open interval `[lo, hi)` of grid values: `v <= 6874.9999`
and `v < 6875` are the same set, and adjacent buckets share one edge. The continuous model
then prices `[lo, hi)`; which side a boundary point falls on has probability zero.

Index delta of a market, dP/dS per index point: `(f(x_lo) - f(x_hi)) / (S*s)` with `f` the
density of z and `x_k = (ln(k/S) + s**2/2)/s`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from scipy import special

from pmbot.core.fairvalue import EventFairValue
from pmbot.core.market import FeeSchedule, MarketSpec, StrikeType
from pmbot.core.money import PriceGrid

__all__ = [
    "EvenT",
    "LadderPricer",
    "Shape",
    "kalshi_style_ladder",
    "market_interval",
]

FloatArray = npt.NDArray[np.float64]

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_S_MIN = 1e-12  # below this log-return stdev the distribution is a point mass at S


class EvenT(NamedTuple):
    """Constants of `Shape.cdf_pdf`'s closed form for a t with even ν = 2m (see there).

    Horner order: the sum is `a_top`, then `acc = acc*u + coef` for each of `a_rest` =
    (a_{m-2}, ..., a_0); `half_w` is 0.5/sqrt(K) with K = ν·scale² and `c` the density
    constant over the scale.
    """

    m: int
    k2: float
    a_top: float
    a_rest: tuple[float, ...]
    half_w: float
    c: float


@dataclass(frozen=True, slots=True)
class Shape:
    """The standardised distribution of the log return: `z = r_centered / s`.

    kind "normal" or "t". For "t", `nu` is the degrees of freedom and `scale` the factor
    applied to a standard t variate: `z = scale * T_nu`. `Shape.student_t(nu)` matches the
    variance (scale = sqrt((nu-2)/nu), so `s` stays the standard deviation);
    `match="median"` matches the quartiles (median |z|) of a unit normal instead, which
    gives wider tails for the same `s`.
    """

    kind: str = "normal"
    nu: float = math.inf
    scale: float = 1.0

    @staticmethod
    def normal() -> Shape:
        return Shape("normal", math.inf, 1.0)

    @staticmethod
    def student_t(nu: float = 4.0, match: str = "variance") -> Shape:
        if match == "variance":
            if nu <= 2:
                raise ValueError("variance matching needs nu > 2")
            scale = math.sqrt((nu - 2.0) / nu)
        elif match == "median":
            scale = float(special.ndtri(0.75) / special.stdtrit(nu, 0.75))
        else:
            raise ValueError(f"unknown match {match!r}")
        return Shape("t", float(nu), scale)

    @property
    def name(self) -> str:
        if self.kind == "normal":
            return "normal"
        return f"t{self.nu:g}(scale={self.scale:.4f})"

    def cdf(self, x: FloatArray) -> FloatArray:
        """CDF of z at x (vectorised)."""
        return self.cdf_pdf(x)[0]

    def pdf(self, x: FloatArray) -> FloatArray:
        """Density of z at x (vectorised)."""
        return self.cdf_pdf(x)[1]

    def even_t(self) -> EvenT | None:
        """The closed-form constants when z is a scaled t with even integer ν <= 30, else None."""
        return _even_t(self.kind, self.nu, self.scale)

    def cdf_pdf(self, x: FloatArray) -> tuple[FloatArray, FloatArray]:
        """(CDF, density) of z at x, sharing the work; closed forms for even integer ν.

        For even ν with w = t/sqrt(ν+t²) and u = 1-w² = ν/(ν+t²):
        F(t) = 1/2 + (w/2)·Σ_{j<ν/2} a_j u^j with a_0 = 1, a_j = a_{j-1}(2j-1)/(2j), and
        f(t) = c·u^((ν+1)/2); this avoids scipy's incomplete beta on the hot path.
        `LadderPricer.fair_value` repeats this arithmetic on floats (bit-identical).
        """
        if self.kind == "normal":
            cdf = np.asarray(special.ndtr(x), dtype=np.float64)
            return cdf, np.asarray(np.exp(-0.5 * x * x) * _INV_SQRT_2PI, dtype=np.float64)
        nu = self.nu
        et = self.even_t()
        if et is not None:
            # with t = x/scale and K = nu*scale^2: u = nu/(nu+t^2) = K/(K+x^2), w = x/sqrt(K+x^2)
            m, k2 = et.m, et.k2
            u = x * x
            u += k2
            np.reciprocal(u, out=u)
            u *= k2  # u = K/(K+x^2)
            sq = np.sqrt(u)  # sqrt(u) = sqrt(K)/sqrt(K+x^2)
            acc = u * et.a_top if m > 1 else np.ones_like(u)
            for coef in et.a_rest[:-1]:
                acc += coef
                acc *= u
            if m > 1:
                acc += 1.0  # a_0
            acc *= sq
            acc *= x
            acc *= et.half_w  # (w/2)*sum, with w = x*sqrt(u)/sqrt(K)
            acc += 0.5
            # clip rounding in the far tails (|err| ~ 1e-16); np.clip's wrapper costs more than
            # the arithmetic at ladder sizes; max/min give the same values (NaN too: acc is
            # x + 0.5, never -0.0, the one input where clip and max(., 0) differ)
            np.minimum(np.maximum(acc, 0.0, out=acc), 1.0, out=acc)
            pdf = u * et.c
            for _ in range(m - 1):
                pdf *= u
            pdf *= sq
            return acc, pdf
        c = self._pdf_const()
        t = x / self.scale
        cdf = np.asarray(special.stdtr(nu, t), dtype=np.float64)
        pdf = c * (1.0 + t * t / nu) ** (-(nu + 1) / 2)
        return cdf, np.asarray(pdf, dtype=np.float64)

    def _pdf_const(self) -> float:
        nu = self.nu
        c = math.exp(math.lgamma((nu + 1) / 2) - math.lgamma(nu / 2)) / math.sqrt(nu * math.pi)
        return c / self.scale


@functools.cache
def _even_t(kind: str, nu: float, scale: float) -> EvenT | None:
    # cached: `Shape.cdf_pdf` asks on every call
    if kind == "normal" or not (nu <= 30 and nu == int(nu) and int(nu) % 2 == 0):
        return None  # (nu <= 30 first: int() of inf or NaN would raise)
    m = int(nu) // 2
    a = [1.0]
    for j in range(1, m):
        a.append(a[-1] * (2 * j - 1) / (2 * j))
    k2 = nu * scale * scale
    c = Shape(kind, nu, scale)._pdf_const()
    return EvenT(m, k2, a[-1], tuple(reversed(a[:-1])), 0.5 / math.sqrt(k2), c)


def market_interval(spec: MarketSpec, tick: float | None = 0.01) -> tuple[float, float]:
    """The market's YES set as a half-open interval [lo, hi) of the reference value.

    With `tick` (the resolution of the published value) each inclusive/exclusive bound is
    moved onto the grid so adjacent buckets share exactly one edge; with `tick=None` the
    bounds are used as they are.
    """
    st, lo, hi = spec.strike_type, spec.floor_strike, spec.cap_strike

    def need(v: float | None, what: str) -> float:
        if v is None:
            raise ValueError(f"{spec.ticker}: strike_type {st.value} needs {what}")
        return float(v)

    def up(v: float, inclusive: bool) -> float:
        # smallest grid value in the set {x >= v} (inclusive) or {x > v}
        if tick is None:
            return v
        n = v / tick
        k = math.ceil(n - 1e-6) if inclusive else math.floor(n + 1e-6) + 1
        return round(k * tick, 10)

    if st is StrikeType.BETWEEN:
        return up(need(lo, "floor_strike"), True), up(need(hi, "cap_strike"), False)
    if st is StrikeType.GREATER:
        return up(need(lo, "floor_strike"), False), math.inf
    if st is StrikeType.GREATER_OR_EQUAL:
        return up(need(lo, "floor_strike"), True), math.inf
    if st is StrikeType.LESS:
        return -math.inf, up(need(hi, "cap_strike"), True)
    return -math.inf, up(need(hi, "cap_strike"), False)  # LESS_OR_EQUAL


def _check_inputs(level: float, s: float) -> None:
    if not (level > 0.0 and level < math.inf and s >= 0.0 and s < math.inf):
        raise ValueError(f"bad index level {level} or stdev {s}")


class LadderPricer:
    """Prices one event's markets from (S, s); build once per event, reprice per tick.

    Precomputes the distinct finite edges, their logs and, per market, the indices of its
    two edges in the padded CDF vector `[0, F(e_0), ..., F(e_n-1), 1]`.
    """

    def __init__(
        self,
        event_ticker: str,
        specs: Sequence[MarketSpec],
        shape: Shape | None = None,
        tick: float | None = 0.01,
    ) -> None:
        if not specs:
            raise ValueError("an event needs at least one market")
        self.event_ticker = event_ticker
        self.shape = shape or Shape.normal()
        self.tickers = tuple(s.ticker for s in specs)
        intervals = [market_interval(s, tick) for s in specs]
        for t, (lo, hi) in zip(self.tickers, intervals, strict=True):
            if not lo < hi:
                raise ValueError(f"{t}: empty YES interval [{lo}, {hi})")
        finite = sorted({v for iv in intervals for v in iv if math.isfinite(v)})
        if finite and finite[0] <= 0:
            raise ValueError("strikes must be positive")
        self.edges: FloatArray = np.array(finite, dtype=np.float64)
        self._log_edges: FloatArray = np.log(self.edges)
        pos = {v: i + 1 for i, v in enumerate(finite)}
        n = len(finite)
        self._lo_idx = np.array([0 if lo == -math.inf else pos[lo] for lo, _ in intervals])
        self._hi_idx = np.array([n + 1 if hi == math.inf else pos[hi] for _, hi in intervals])
        self._cdf = np.empty(n + 2, dtype=np.float64)
        self._cdf[0], self._cdf[-1] = 0.0, 1.0
        self._pdf = np.zeros(n + 2, dtype=np.float64)
        self._edges_tuple = tuple(finite)
        # for the float path of `fair_value` (closed-form shapes)
        self._even_t = self.shape.even_t()
        self._log_edges_list: list[float] = self._log_edges.tolist()
        self._markets = tuple(
            zip(self.tickers, self._lo_idx.tolist(), self._hi_idx.tolist(), strict=True)
        )

    def _x(self, level: float, s: float) -> FloatArray:
        x = self._log_edges + (0.5 * s * s - math.log(level))
        x *= 1.0 / s
        return x

    def cdf(self, level: float, s: float) -> FloatArray:
        """P(S_T < e) at every edge (point mass at `level` when s is ~0)."""
        if level <= 0 or not math.isfinite(level):
            raise ValueError(f"bad index level {level}")
        if s < _S_MIN:
            return np.asarray(self.edges > level, dtype=np.float64)
        return self.shape.cdf(self._x(level, s))

    def price(self, level: float, s: float) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(cell_probs, fair, delta): cells over the edges, P(YES) and dP/dS per market."""
        _check_inputs(level, s)
        c = self._cdf
        if s < _S_MIN:
            c[1:-1] = self.cdf(level, s)
            self._pdf[1:-1] = 0.0
        else:
            cdf, pdf = self.shape.cdf_pdf(self._x(level, s))
            c[1:-1] = cdf
            self._pdf[1:-1] = pdf * (1.0 / (level * s))
        cells = c[1:] - c[:-1]  # np.diff, without its wrapper
        fair = c[self._hi_idx] - c[self._lo_idx]
        delta = self._pdf[self._lo_idx] - self._pdf[self._hi_idx]
        return cells, fair, delta

    def fair_value(self, ts_ns: int, level: float, s: float) -> EventFairValue:
        """The strategy's view of the event; `s` is the log-return stdev to the reference time."""
        if self._even_t is not None and s >= _S_MIN:
            cells, fair, delta = self._price_floats(self._even_t, level, s)
        else:
            cells_a, fair_a, delta_a = self.price(level, s)
            cells = tuple(cells_a.tolist())
            fair = dict(zip(self.tickers, fair_a.tolist(), strict=True))
            delta = dict(zip(self.tickers, delta_a.tolist(), strict=True))
        sigma_pts = level * math.sqrt(math.expm1(s * s)) if s > 0 else 0.0
        return EventFairValue(
            event_ticker=self.event_ticker,
            ts_ns=ts_ns,
            index_level=level,
            edges=self._edges_tuple,
            cell_probs=cells,
            fair=fair,
            delta=delta,
            sigma=sigma_pts,
        )

    def _price_floats(
        self, et: EvenT, level: float, s: float
    ) -> tuple[tuple[float, ...], dict[str, float], dict[str, float]]:
        """`price` on Python floats for a closed-form shape, one pass over the edges.

        The same IEEE operations in the same order as `_x`, `Shape.cdf_pdf` and `price`
        (+, -, *, / and sqrt are correctly rounded in both), so the same values; written
        straight into the contract's tuple and dicts. At ladder sizes numpy's per-call
        dispatch, temporaries and tolist/zip cost more than the arithmetic, most of all with
        cold caches, where each ufunc call drags its code and data back in.
        """
        _check_inputs(level, s)
        _, k2, a_top, a_rest, half_w, c = et
        shift = 0.5 * s * s - math.log(level)
        inv_s = 1.0 / s
        dscale = 1.0 / (level * s)
        sqrt = math.sqrt
        cdf = [0.0]  # padded as in `price`: [0, F(e_0), ..., F(e_n-1), 1]
        pdf = [0.0]  # [0, f(e_0)/(S*s), ..., 0]
        cells: list[float] = []
        prev = 0.0
        for le in self._log_edges_list:
            x = (le + shift) * inv_s
            u = 1.0 / (x * x + k2) * k2
            sq = sqrt(u)
            acc = a_top
            p = u * c
            for coef in a_rest:  # m-1 Horner steps, and the density's m-1 powers of u
                acc = acc * u + coef
                p *= u
            acc = acc * sq * x * half_w + 0.5
            if acc < 0.0:  # the vector form's clip; NaN passes, as there
                acc = 0.0
            elif acc > 1.0:
                acc = 1.0
            cdf.append(acc)
            cells.append(acc - prev)
            prev = acc
            pdf.append(p * sq * dscale)
        cdf.append(1.0)
        pdf.append(0.0)
        cells.append(1.0 - prev)
        fair: dict[str, float] = {}
        delta: dict[str, float] = {}
        for t, lo, hi in self._markets:
            fair[t] = cdf[hi] - cdf[lo]
            delta[t] = pdf[lo] - pdf[hi]
        return tuple(cells), fair, delta


def kalshi_style_ladder(
    event_ticker: str,
    first_floor: float,
    width: float,
    n_buckets: int,
    close_ts_ns: int = 0,
    fees: FeeSchedule | None = None,
) -> list[MarketSpec]:
    """Specs of a KXINX-like ladder: a `less` tail, `n_buckets` `between` buckets, a top tail.

    Buckets read "L to L+width-0.0001" (between, inclusive bounds), the bottom tail "below
    first_floor" (less) and the top tail "X or above" (greater than X-0.0001), as the series
    publishes them. For tests, benchmarks and calibration; live specs come from the venue.
    """
    grid = PriceGrid.linear_cent()
    fee = fees or FeeSchedule()

    def spec(suffix: str, st: StrikeType, lo: float | None, hi: float | None) -> MarketSpec:
        return MarketSpec(
            ticker=f"{event_ticker}-{suffix}",
            event_ticker=event_ticker,
            series_ticker=event_ticker.split("-")[0],
            strike_type=st,
            floor_strike=lo,
            cap_strike=hi,
            grid=grid,
            fees=fee,
            close_ts_ns=close_ts_ns,
        )

    top = first_floor + n_buckets * width
    out = [spec(f"T{first_floor - 0.0001:.4f}", StrikeType.LESS, None, first_floor)]
    for i in range(n_buckets):
        lo = first_floor + i * width
        out.append(
            spec(f"B{int(lo + width / 2)}", StrikeType.BETWEEN, lo, round(lo + width - 0.0001, 4))
        )
    out.append(spec(f"T{top - 0.0001:.4f}", StrikeType.GREATER, round(top - 0.0001, 4), None))
    return out
