"""`pmbot calibrate`: score the fair-value model on real S&P 500 / VIX history (arch data).

Daily ladders like Kalshi's (25-point buckets scaled to the level: 0.42 % rounded to 5
points, 24 buckets and two tails, aligned to multiples of the width), forecast at the open
for the close. Yahoo's ^GSPC open is stale on many days (it equals the previous close), so
those days are dropped (notes §1.3, §5). Every model is scored on the same events:

* recommended: VIX(prev close) × k, k refitted before each event over the previous 250
  events (RMS of realised/implied), Student-t ν=6 variance-matched; half days get their
  share of a session's variance from the NYSE calendar;
* vix_k_normal, vix_k_t4: the same k with other shapes, for comparison;
* climatology: the trailing 500 open-to-close returns (add-half smoothed cells);
* raw_vix: VIX with k = 1, normal.

The arch package (a dev dependency) ships the data: arch.data.sp500 and arch.data.vix.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any

import numpy as np

from pmbot.errors import ConfigError
from pmbot.pricing.calendar import TradingCalendar
from pmbot.pricing.calibration import (
    Score,
    climatology_forecast,
    kalshi_like_edges,
    parametric_forecast,
    realised_cells,
    score_events,
)
from pmbot.pricing.ladder import Shape
from pmbot.pricing.volatility import rolling_k, vix_session_sigma

HELP = "score the fair-value model against real S&P 500 closes (arch data) and baselines"

RECOMMENDED_NU = 6.0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="JSON lines: one object per model")
    p.add_argument("--start", default="2014-01-06", help="first event date (default 2014-01-06)")
    p.add_argument("--end", default="2018-12-31", help="last event date")
    p.add_argument("--k-window", type=int, default=250, help="events in the rolling k fit")
    p.add_argument("--clim-window", type=int, default=500, help="returns in the climatology")
    p.add_argument(
        "--nu", type=float, default=RECOMMENDED_NU, help="t degrees of freedom (recommended model)"
    )


def load_arch_data() -> Any:
    """Open/close and previous VIX close per non-stale S&P day, as one DataFrame."""
    try:
        from arch.data import sp500, vix
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ConfigError("calibrate", "needs the `arch` package (pip install -e '.[dev]')") from e
    spx = sp500.load()
    v = vix.load()
    df = spx[["Open", "Close"]].join(v)
    df["vix_prev"] = df["vix"].ffill().shift(1)  # known at today's open
    stale = (df["Open"] - df["Close"].shift(1)).abs() < 0.01
    df = df[~stale].iloc[1:].copy()
    df["r"] = np.log(df["Close"] / df["Open"])
    return df


def session_weights(dates: Any) -> np.ndarray:
    """Each date's share of a full session's variance (early closes < 1) from XNYS."""
    start, end = str(dates.min().date()), str(dates.max().date())
    cal = TradingCalendar.nyse(start, end)
    day = {int(o // 86_400_000_000_000): w for o, w in zip(cal.opens, cal.weights, strict=True)}
    days = (dates.values.astype("datetime64[D]").astype(np.int64)).tolist()
    return np.array([day.get(d, 1.0) for d in days])


def evaluate(
    df: Any,
    start: str,
    end: str,
    k_window: int = 250,
    clim_window: int = 500,
    nu: float = RECOMMENDED_NU,
) -> list[Score]:
    """Score every model on the events in [start, end] that have a fitted k."""
    has_vix = df["vix_prev"].notna().to_numpy()
    d = df[has_vix]
    w = session_weights(d.index)
    s_raw = vix_session_sigma(d["vix_prev"].to_numpy()) * np.sqrt(w)
    k = rolling_k(d["r"].to_numpy(), s_raw, window=k_window, min_obs=20)
    in_range = np.asarray((d.index >= start) & (d.index <= end)) & np.isfinite(k)
    # climatology needs `clim_window` past returns from the full (pre-VIX) history
    pos_all = np.searchsorted(df.index.values, d.index.values)
    in_range &= pos_all >= clim_window
    if not in_range.any():
        raise ConfigError("calibrate", f"no events between {start} and {end}")
    ev = d[in_range]
    s_raw, k = s_raw[in_range], k[in_range]
    o, c = ev["Open"].to_numpy(), ev["Close"].to_numpy()
    edges = kalshi_like_edges(o)
    cell = realised_cells(edges, c)
    near = realised_cells(edges, o)
    le, lo = np.log(edges / o[:, None]), np.log(c / o)

    out = []

    def add(name: str, cdf: Any, pit: Any) -> None:
        out.append(score_events(name, cdf, cell, pit, near))

    add("recommended", *parametric_forecast(Shape.student_t(nu).cdf, k * s_raw, le, lo))
    add("vix_k_normal", *parametric_forecast(Shape.normal().cdf, k * s_raw, le, lo))
    add("vix_k_t4", *parametric_forecast(Shape.student_t(4).cdf, k * s_raw, le, lo))
    r_all = df["r"].to_numpy()
    idx = pos_all[in_range]
    past = np.stack([r_all[i - clim_window : i] for i in idx])
    add("climatology", *climatology_forecast(past, le, lo))
    add("raw_vix", *parametric_forecast(Shape.normal().cdf, s_raw, le, lo))
    # the events scored, not the range asked for (which may run past the data)
    first, last = str(ev.index.min().date()), str(ev.index.max().date())
    return [dataclasses.replace(s, first=first, last=last) for s in out]


def _check_args(args: argparse.Namespace) -> None:
    """One config-error line for a bad flag, not a traceback deep in pandas."""
    from datetime import date

    for name in ("start", "end"):
        try:
            date.fromisoformat(getattr(args, name))
        except ValueError:
            raise ConfigError(f"--{name}", "a date, YYYY-MM-DD") from None
    if args.start > args.end:
        raise ConfigError("--end", "must not be before --start")
    if args.k_window < 1 or args.clim_window < 1:
        raise ConfigError("--k-window" if args.k_window < 1 else "--clim-window", "must be >= 1")
    if not args.nu > 2:
        raise ConfigError("--nu", "must be > 2 (the variance is matched)")


def main(args: argparse.Namespace) -> int:
    _check_args(args)
    df = load_arch_data()
    scores = evaluate(df, args.start, args.end, args.k_window, args.clim_window, args.nu)
    if args.json:
        for s in scores:
            print(json.dumps(s.as_dict()))
        return 0
    s0 = scores[0]
    print(f"open->close daily ladders, {s0.n_events} events {s0.first}..{s0.last}")
    print(f"{'model':<14} {'log_loss':>9} {'brier':>8} {'pit_tail':>9} {'pit_iqr':>8}")
    for s in scores:
        print(
            f"{s.model:<14} {s.log_loss:9.4f} {s.brier:8.4f} {s.pit_tail_share:9.3f} {s.pit_iqr_share:8.3f}"
        )
    print(
        f"recommended: VIX x rolling k ({args.k_window} events), "
        f"Student-t nu={args.nu:g} variance-matched"
    )
    return 0
