"""Tapes without a recording: the simulator's exchange, or a fast seeded statistical day.

* `capture_sim(exchange, index, step, start, end)` runs the simulator's exchange (with its
  background flow, `sim.flow.Flow.step`, or any step function) and records exactly what its
  WebSocket would publish, book deltas and trades, plus an index print every second: the
  "live on the simulator" side of the backtest/simulator agreement.
* `synthetic_day(seed, ...)` builds a KXINX-like day directly (the benchmark's input):
  the simulator's own seeded index path (`sim.index.SyntheticIndex`), a 25-point ladder
  priced by `pricing.ladder`, and per market a crowd maker quoting around the true fair
  value (refreshed every few seconds, so it goes stale), size churn at the top levels,
  noise takers at the touch and informed takers who pick off stale quotes. Deterministic
  for a seed; every delta is consistent (no level goes negative).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np

from pmbot.backtest.tape import DELTA, INDEX, TRADE, Tape, rows_to_tape
from pmbot.core.market import MarketSpec, StrikeType
from pmbot.core.money import ONE, PriceGrid
from pmbot.pricing.ladder import LadderPricer, kalshi_style_ladder
from pmbot.sim.index import SCALE, SESSION_S, IndexPath, SyntheticIndex, session_bounds_ns

__all__ = ["SynthConfig", "capture_sim", "sim_day", "sim_market_spec", "synthetic_day"]

_S = 1_000_000_000


def sim_market_spec(m: object, fees: object) -> MarketSpec:
    """A simulator market (strikes in 1e-4 points) as the core's MarketSpec."""
    fl, cap = getattr(m, "floor_strike"), getattr(m, "cap_strike")  # noqa: B009
    return MarketSpec(
        ticker=m.ticker, event_ticker=m.event_ticker, series_ticker=m.series_ticker,  # type: ignore[attr-defined]
        strike_type=m.strike_type, floor_strike=None if fl is None else fl / SCALE,  # type: ignore[attr-defined]
        cap_strike=None if cap is None else cap / SCALE, grid=PriceGrid.linear_cent(),
        fees=fees, close_ts_ns=m.close_ns, title=m.title,  # type: ignore[arg-type, attr-defined]
    )  # fmt: skip


def capture_sim(exchange: object, index: IndexPath, step: Callable[[int, float], None],
                start_ns: int, end_ns: int, dt_s: float = 1.0) -> Tape:  # fmt: skip
    """Drive `exchange.tick` and `step(ts, dt)` every `dt_s` and record the public stream."""
    from pmbot.sim.markets import SERIES

    x = exchange
    specs = [sim_market_spec(m, SERIES[m.series_ticker].fees) for m in x.markets.values()]  # type: ignore[attr-defined]
    mi = {s.ticker: i for i, s in enumerate(specs)}
    rows: list[tuple[int, int, int, int, int, int]] = []
    t = start_ns
    dt = round(dt_s * _S)
    while t <= end_ns:
        x.tick(t, index.level_at)  # type: ignore[attr-defined]
        rows.append((t, INDEX, -1, 0, 0, index.level_at(t)))
        step(t, dt_s)
        for kind, payload in x.drain():  # type: ignore[attr-defined]
            if kind == "delta" and payload.ticker in mi:
                rows.append((payload.ts_ns, DELTA, mi[payload.ticker], int(payload.side == "yes"),
                             payload.price, payload.delta))  # fmt: skip
            elif kind == "trade" and payload.ticker in mi:
                rows.append((payload.ts_ns, TRADE, mi[payload.ticker], int(payload.taker.is_bid),
                             payload.price, payload.count))  # fmt: skip
        t += dt
    settle = {}
    for m in x.markets.values():  # type: ignore[attr-defined]
        if m.expiration_value is not None:
            settle[m.event_ticker] = m.expiration_value / SCALE
    return rows_to_tape(rows, specs, settle, "sim")


def sim_day(seed: int = 1, day: date = date(2026, 6, 9), start_s: int = 0, end_s: int = SESSION_S,
            series: tuple[str, ...] = ("KXINX",), level: float = 6000.0, vol: float = 0.16) -> Tape:  # fmt: skip
    """The simulator's own day: its index, markets (`build_day`) and background flow
    (`sim.flow.Flow`), recorded from `start_s` to `end_s` after the open (slow: the flow
    runs through the full exchange; a day of KXINX takes tens of seconds to generate)."""
    import random

    from pmbot.sim.exchange import Exchange
    from pmbot.sim.flow import Flow, FlowConfig
    from pmbot.sim.index import et_ns
    from pmbot.sim.markets import build_day

    idx = SyntheticIndex(seed, day, level, vol)
    open_ns, _ = session_bounds_ns(day)
    created = et_ns(day, 8, 0)
    events, markets = build_day(day, idx.level_at(created), created, seed=seed)
    keep = {e.event_ticker for e in events if e.series_ticker in series}
    x = Exchange(seed=seed)
    x.add_markets(
        [e for e in events if e.event_ticker in keep],
        [m for m in markets if m.event_ticker in keep],
    )
    flow = Flow(x, idx, FlowConfig(), random.Random(seed))
    t0 = open_ns + start_s * _S
    x.tick(t0 - _S, idx.level_at)
    tape = capture_sim(x, idx, flow.step, t0, open_ns + end_s * _S)
    tape.source = f"sim seed={seed}"
    return tape


@dataclass(frozen=True)
class SynthConfig:
    seed: int = 1
    day: date = date(2026, 6, 9)
    level: float = 6000.0
    vol: float = 0.16
    n_buckets: int = 28  # + 2 tails = 30 books
    width: float = 25.0
    start_s: int = 0  # seconds after the 09:30 open
    end_s: int = SESSION_S  # up to the 16:00 close
    half_spread: int = 200  # Price units (2 cents) from fair to the crowd maker's touch
    refresh_s: int = 4
    depth_levels: int = 3
    churn_per_s: float = 3.0  # size adds/cancels at the top levels, per market per second
    noise_per_s: float = 0.08  # noise takers per market per second
    informed_margin: int = 150  # Price units: stale quotes beyond fair by this get picked off


def synthetic_day(cfg: SynthConfig = SynthConfig()) -> Tape:
    rng = np.random.default_rng(cfg.seed)
    idx = SyntheticIndex(cfg.seed, cfg.day, cfg.level, cfg.vol)
    open_ns, close_ns = session_bounds_ns(cfg.day)
    secs = np.arange(cfg.start_s, cfg.end_s + 1)
    levels = [idx.level_at(open_ns + int(s) * _S) for s in secs]
    first = round(levels[0] / SCALE / cfg.width) * cfg.width - cfg.width * cfg.n_buckets / 2
    event = f"KXINX-{cfg.day:%y%b%d}SYN".upper()  # one event per day: days concatenate
    specs = kalshi_style_ladder(event, first, cfg.width, cfg.n_buckets, close_ns)
    pricer = LadderPricer(event, specs)
    sig_s = cfg.vol / math.sqrt(252 * SESSION_S)
    n_m, n_t = len(specs), len(secs)
    fair = np.empty((n_t, n_m))
    for k, (s, lv) in enumerate(zip(secs.tolist(), levels, strict=True)):
        rem = max(SESSION_S - s, 0)
        fair[k] = pricer.price(lv / SCALE, sig_s * math.sqrt(rem))[1]
    rows: list[tuple[int, int, int, int, int, int]] = []
    for k, s in enumerate(secs.tolist()):
        rows.append((open_ns + s * _S, INDEX, -1, 0, 0, levels[k]))
    for m in range(n_m):
        _market_flow(rows, rng, m, fair[:, m], secs, open_ns, cfg)
    return rows_to_tape(rows, specs, {}, f"synthetic seed={cfg.seed}")


def _market_flow(rows: list[tuple[int, int, int, int, int, int]], rng: np.random.Generator, m: int,
                 fair: np.ndarray, secs: np.ndarray, open_ns: int, cfg: SynthConfig) -> None:  # fmt: skip
    """One market's book and trades, second by second (YES leg bids, NO leg bids)."""
    lo, hi = 100, ONE - 100
    yes: dict[int, int] = {}  # YES bid price -> size
    no: dict[int, int] = {}  # NO bid price (NO leg) -> size
    n_t = len(secs)
    churn = rng.poisson(cfg.churn_per_s, n_t)
    noise = rng.poisson(cfg.noise_per_s, n_t)
    offs = np.sort(rng.integers(0, _S - 2, size=(n_t, 8)), axis=1)  # generation order = time order
    u = rng.random((n_t, 16))
    sizes = rng.integers(1, 31, size=(n_t, 8)) * 100
    bid = ask = -1
    for k in range(n_t):
        t0 = open_ns + int(secs[k]) * _S
        p = float(fair[k]) * ONE
        o = offs[k]
        # crowd maker refresh: moves its touch levels when stale
        if k % cfg.refresh_s == 0 or bid < 0:
            nb = max(lo, min(hi - 100, math.floor((p - cfg.half_spread) / 100) * 100))
            na = min(hi, max(nb + 100, math.ceil((p + cfg.half_spread) / 100) * 100))
            if (nb, na) != (bid, ask):
                ts = t0 + int(o[0])
                for px in list(yes):
                    rows.append((ts, DELTA, m, 1, px, -yes.pop(px)))
                for px in list(no):
                    rows.append((ts, DELTA, m, 0, px, -no.pop(px)))
                for d in range(cfg.depth_levels):
                    if nb - 100 * d >= lo:
                        q = int(sizes[k, d])
                        yes[nb - 100 * d] = q
                        rows.append((ts, DELTA, m, 1, nb - 100 * d, q))
                    if na + 100 * d <= hi:
                        q = int(sizes[k, d + 3])
                        no[ONE - na - 100 * d] = q
                        rows.append((ts, DELTA, m, 0, ONE - na - 100 * d, q))
                bid, ask = nb, na
        # churn at the top levels
        for c in range(min(int(churn[k]), 6)):
            ts = t0 + int(o[1 + c]) if c < 6 else t0
            is_yes = u[k, c] < 0.5
            book = yes if is_yes else no
            if not book:
                continue
            top = max(book)
            px = top - 100 * int(u[k, 6 + c] * cfg.depth_levels)
            if px not in book:
                continue
            if u[k, 12] < 0.5 or book[px] <= 100:
                q = int(sizes[k, 6])
                book[px] += q
                rows.append((ts, DELTA, m, int(is_yes), px, q))
            else:
                q = min(book[px] - 100, int(sizes[k, 7]))
                book[px] -= q
                rows.append((ts, DELTA, m, int(is_yes), px, -q))
        # takers: noise at random, informed when the stale touch is beyond fair by a margin
        takes = int(noise[k])
        if yes and max(yes) > p + cfg.informed_margin:
            takes += 1
            side_sell = True
        elif no and ONE - max(no) < p - cfg.informed_margin:
            takes += 1
            side_sell = False
        else:
            side_sell = u[k, 13] < 0.5
        for c in range(min(takes, 2)):
            ts = t0 + int(o[7]) + c
            sell = side_sell if c == 0 else (u[k, 14] < 0.5)
            book = yes if sell else no
            if not book:
                continue
            px = max(book)
            q = min(book[px], int(sizes[k, c]))
            book[px] -= q
            yp = px if sell else ONE - px
            rows.append((ts, TRADE, m, 0 if sell else 1, yp, q))
            rows.append((ts, DELTA, m, 1 if sell else 0, px, -q))
            if not book[px]:
                del book[px]


_ = StrikeType  # re-exported names stay importable for converters
