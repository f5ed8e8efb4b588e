"""Reprice a full 30-market KXINX-like ladder per index tick: µs per ladder.

Baseline (same run): the per-bucket approach, one scipy.stats cdf/pdf call per market edge.
Figures: ladder probabilities+deltas (normal, t4, t6), the full EventFairValue (t6, the
recommended shape), each with its
baseline.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from scipy import stats

from _bench import Reporter, median_ns_per_op, parse_args
from pmbot.pricing.ladder import LadderPricer, Shape, kalshi_style_ladder, market_interval

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

        # sanity: both agree
        ref = scipy_per_bucket(specs, 6840.0, s, dist)
        _, fair, delta = lp.price(6840.0, s)
        assert max(abs(a[0] - b) for a, b in zip(ref, fair, strict=True)) < 1e-12
        assert max(abs(a[1] - b) for a, b in zip(ref, delta, strict=True)) < 1e-12
        base = median_ns_per_op(slow, 1, repeat=max(3, args.repeat // 2), min_time=0.1) / 1e3
        val = median_ns_per_op(fast, 1, repeat=args.repeat) / 1e3
        rep.figure(
            f"ladder30_{name}_probs_deltas",
            val,
            "us/ladder",
            f"scipy.stats per bucket ({name})",
            base,
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


if __name__ == "__main__":
    main()
