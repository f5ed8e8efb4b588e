"""Reprice a full 30-market KXINX-like ladder per index tick: µs per ladder.

Baselines (same run): the per-bucket approach, one scipy.stats cdf/pdf call per market edge
(what a naive pricer does), and the careful one, one vectorised scipy.stats call over every
edge of the ladder.
Figures: ladder probabilities+deltas (normal, t4, t6: `LadderPricer.price`, numpy), the full
EventFairValue (t6, the recommended shape), each with its baseline; then the live call,
`FairValueModel.fair_value` on a 31-market ladder (a list of specs, as the app passes),
warm and cold. Cold: before each timed call the caches are flushed with other work (a
loop over 200k Python objects, a pass over a 16 MB array, json.dumps of a 20k-key dict),
as the live event loop parses frames between index ticks; median of single calls. Its
baseline is the same call on the numpy path (`price` then tolist, which normal shapes and
s ~ 0 still take; the t6 fair value took it before the float path).
"""

from __future__ import annotations

import json
import math
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from scipy import stats

from _bench import Reporter, median_ns_per_op, parse_args
from pmbot.backtest.fair import session_calendar
from pmbot.core.fairvalue import EventFairValue
from pmbot.pricing.ladder import LadderPricer, Shape, kalshi_style_ladder, market_interval
from pmbot.pricing.model import FairValueModel
from pmbot.sim.index import session_bounds_ns

EVENT = "KXINX-26NOV24H1600"


def scipy_per_bucket(
    specs: list, level: float, s: float, dist: object
) -> list[tuple[float, float]]:
    """What a naive pricer does: each market on its own, scipy.stats per edge."""
    out = []
    for m in specs:
        lo, hi = market_interval(m)
        p = 0.0
        d = 0.0
        for edge, sign in ((hi, 1.0), (lo, -1.0)):
            if math.isinf(edge):
                p += sign * (1.0 if edge > 0 else 0.0)
                continue
            x = (math.log(edge / level) + 0.5 * s * s) / s
            p += sign * float(dist.cdf(x))  # type: ignore[attr-defined]
            d -= sign * float(dist.pdf(x)) / (level * s)  # type: ignore[attr-defined]
        out.append((p, d))
    return out


def ladder_edges(specs: list) -> np.ndarray:
    """Every market's (lo, hi) interval as one array [lo..., hi...] (built once)."""
    lo = [market_interval(m)[0] for m in specs]
    return np.array(lo + [market_interval(m)[1] for m in specs])


def scipy_vectorised(edges: np.ndarray, level: float, s: float, dist: object) -> tuple:
    """A careful pricer without our kernels: one scipy.stats cdf and pdf call over every
    edge of the ladder (edges built once), differenced into cells."""
    finite = np.isfinite(edges)
    x = np.zeros_like(edges)
    x[finite] = (np.log(edges[finite] / level) + 0.5 * s * s) / s
    cdf = np.where(finite, dist.cdf(x), np.where(edges > 0, 1.0, 0.0))  # type: ignore[attr-defined]
    pdf = np.where(finite, dist.pdf(x), 0.0) / (level * s)  # type: ignore[attr-defined]
    n = len(edges) // 2
    return cdf[n:] - cdf[:n], pdf[:n] - pdf[n:]


def numpy_fair_value(lp: LadderPricer, ts_ns: int, level: float, s: float) -> EventFairValue:
    """`fair_value` through the vector path: `price`, then tolist and zip into the contract."""
    cells, fair, delta = lp.price(level, s)
    return EventFairValue(
        lp.event_ticker,
        ts_ns,
        level,
        tuple(lp.edges.tolist()),
        tuple(cells.tolist()),
        dict(zip(lp.tickers, fair.tolist(), strict=True)),
        dict(zip(lp.tickers, delta.tolist(), strict=True)),
        level * math.sqrt(math.expm1(s * s)),
    )


def cold_median_us(calls: list[Callable[[float], object]], n: int) -> list[float]:
    """Median µs of single calls `f(level)` after flushing the caches; the calls alternate."""
    objs = [(i, str(i), float(i)) for i in range(200_000)]
    big = np.ones(2_000_000)
    blob = {f"k{i}": [i, i * 0.5, "x" * (i % 17)] for i in range(20_000)}
    out: list[list[int]] = [[] for _ in calls]
    level = 6850.0
    for i in range(n):
        for j, f in enumerate(calls):
            sum(t[0] for t in objs)
            big *= 1.0000001
            json.dumps(blob)
            level += 0.25 if i % 2 else -0.2
            t0 = time.perf_counter_ns()
            f(level)
            out[j].append(time.perf_counter_ns() - t0)
    return [statistics.median(v) / 1e3 for v in out]


def model_figures(rep: Reporter, repeat: int) -> None:
    """The live call: 31 markets, a list of specs, mid-session on the variance clock."""
    o, c = session_bounds_ns(date(2026, 11, 24))
    specs = kalshi_style_ladder("KXINX-26NOV24H1600", 6500.0, 25.0, 29, close_ts_ns=c)
    model = FairValueModel(session_calendar(o, c))
    ts = o + 3 * 3600 * 10**9
    for i in range(60):
        model.on_index(ts + i * 10**9, 6850.0 + (i % 3) * 0.5)
    ts += 60 * 10**9
    lp = model.pricer(EVENT, specs)
    s = model.stdev(ts, c, 16.0)

    def live(level: float) -> object:
        return model.fair_value(EVENT, specs, ts, level, 16.0)

    def vector(level: float) -> object:  # the same call on the numpy path
        return numpy_fair_value(lp, ts, level, model.stdev(ts, c, 16.0))

    assert live(6850.0) == vector(6850.0)  # the float path gives the same values
    assert lp.fair_value(ts, 6850.0, s) == numpy_fair_value(lp, ts, 6850.0, s)
    warm = [median_ns_per_op(partial(f, 6850.0), 1, repeat=repeat) / 1e3 for f in (live, vector)]
    rep.figure("model31_t6_fair_value", warm[0], "us/ladder", "numpy path", warm[1])
    cold = cold_median_us([live, vector], 40 * repeat)
    rep.figure("model31_t6_fair_value_cold", cold[0], "us/ladder", "numpy path", cold[1])


def main() -> None:
    args = parse_args(__doc__ or "")
    rep = Reporter(args.json)
    specs = kalshi_style_ladder(EVENT, 6500.0, 25.0, 28)
    assert len(specs) == 30
    levels = [6840.0 + 0.37 * i for i in range(64)]
    s = 0.006
    for name, shape, dist in [
        ("normal", Shape.normal(), stats.norm()),
        ("t4", Shape.student_t(4.0), stats.t(4.0, scale=math.sqrt(0.5))),
        ("t6", Shape.student_t(6.0), stats.t(6.0, scale=math.sqrt(4.0 / 6.0))),
    ]:
        lp = LadderPricer(EVENT, specs, shape)
        state = {"i": 0}

        def fast(lp: LadderPricer = lp, state: dict = state) -> None:
            state["i"] = (state["i"] + 1) & 63
            lp.price(levels[state["i"]], s)

        def slow(dist: object = dist, state: dict = state) -> None:
            state["i"] = (state["i"] + 1) & 63
            scipy_per_bucket(specs, levels[state["i"]], s, dist)

        edges = ladder_edges(specs)

        def vec(dist: object = dist, state: dict = state, edges: np.ndarray = edges) -> None:
            state["i"] = (state["i"] + 1) & 63
            scipy_vectorised(edges, levels[state["i"]], s, dist)

        # sanity: all three agree
        ref = scipy_per_bucket(specs, 6840.0, s, dist)
        _, fair, delta = lp.price(6840.0, s)
        vp, vd = scipy_vectorised(edges, 6840.0, s, dist)
        assert max(abs(a[0] - b) for a, b in zip(ref, fair, strict=True)) < 1e-12
        assert max(abs(a[1] - b) for a, b in zip(ref, delta, strict=True)) < 1e-12
        assert float(np.abs(vp - fair).max()) < 1e-12 and float(np.abs(vd - delta).max()) < 1e-12
        base = median_ns_per_op(slow, 1, repeat=max(3, args.repeat // 2), min_time=0.1) / 1e3
        val = median_ns_per_op(fast, 1, repeat=args.repeat) / 1e3
        rep.figure(
            f"ladder30_{name}_probs_deltas",
            val,
            "us/ladder",
            f"scipy.stats per bucket ({name})",
            base,
        )
        vbase = median_ns_per_op(vec, 1, repeat=args.repeat) / 1e3
        rep.figure(
            f"ladder30_{name}_probs_deltas_vs_vectorised",
            val,
            "us/ladder",
            f"scipy.stats, one call over all edges ({name})",
            vbase,
        )
        if name == "t6":  # the recommended model, all the way to the strategy contract
            full = (
                median_ns_per_op(lambda lp=lp: lp.fair_value(0, 6840.0, s), 1, repeat=args.repeat)
                / 1e3
            )
            rep.figure(
                "ladder30_t6_event_fair_value",
                full,
                "us/ladder",
                f"scipy.stats per bucket ({name})",
                base,
            )
    model_figures(rep, args.repeat)


if __name__ == "__main__":
    main()
