"""Turn a run's journal into the numbers a market maker is judged by (pricing-notes §4).

PnL split, on the model's fair value m (and on the book mid as a second view):

* spread capture (edge)  = Σ_fills s·(m(t_f) − P)·n
* settlement jump        = Σ_markets q(close)·(payoff − m(close−))
* inventory (intraday)   = gross − edge − settlement jump   (= Σ q·Δm before the close)
* fees                   = the Kalshi fee of every fill, exactly
* total                  = gross − fees, gross = cash + open positions marked to m at the end

Markouts MO(h) = qty-weighted mean of s·(m(t_f + h) − P) in cents per contract, for
h = 0 (the edge), 1 s, 10 s, 60 s, 5 min, by passive/aggressive, moneyness (fair at the fill),
hour of day (ET) and market. Money leaves here in dollars (float, rounded to 1e-6).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np

from pmbot.backtest.journal import Journal
from pmbot.core.money import ONE
from pmbot.sim.index import ET

__all__ = ["MONEYNESS_BINS", "max_drawdown", "summarize"]

_USD = 1e-6  # Micros -> $
MONEYNESS_BINS = ((0.0, 0.1), (0.1, 0.3), (0.3, 0.7), (0.7, 0.9), (0.9, 1.0))


def _r(x: float, nd: int = 6) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), nd)


def max_drawdown(series: Sequence[float]) -> float:
    peak, dd = -math.inf, 0.0
    for v in series:
        peak = max(peak, v)
        dd = max(dd, peak - v)
    return dd


def _mo(sign: np.ndarray, price: np.ndarray, qty: np.ndarray, mark: np.ndarray) -> float | None:
    ok = np.isfinite(mark)
    w = qty[ok].astype(np.float64)
    if not len(w) or w.sum() <= 0:
        return None
    v = sign[ok] * (mark[ok] * ONE - price[ok]) / 100.0  # cents per contract
    return _r(float((v * w).sum() / w.sum()), 4)


def _markouts(f: dict[str, np.ndarray], marks: np.ndarray, sel: np.ndarray, horizons: Sequence[int],
              col: int, payoff: np.ndarray | None = None) -> dict[str, float | None]:  # fmt: skip
    out: dict[str, float | None] = {}
    s, p, q = f["sign"][sel], f["price"][sel], f["qty"][sel]
    out["0s"] = _mo(s, p, q, f["fair" if col == 0 else "mid"][sel])
    for h, hs in enumerate(horizons):
        out[f"{hs}s"] = _mo(s, p, q, marks[sel, h, col]) if len(marks) else None
    if payoff is not None:  # at settlement: the payoff of fills in markets that settled
        out["settle"] = _mo(s, p, q, payoff[sel])
    return out


def summarize(j: Journal, name: str = "") -> dict[str, Any]:
    """One JSON-ready dict per run (deterministic: sorted keys, rounded floats)."""
    n_f = len(j.fills)
    cols = ("ts", "mkt", "sign", "price", "qty", "fee", "taker", "fair", "mid", "wait")
    arr = np.array(j.fills, dtype=np.float64).reshape(n_f, len(cols))
    f = {c: arr[:, i] for i, c in enumerate(cols)}
    marks = np.array(j.marks, dtype=np.float64).reshape(n_f, len(j.horizons_s), 2)
    fair_f = np.where(np.isfinite(f["fair"]), f["fair"], np.nan)
    mid_f = np.where(np.isfinite(f["mid"]), f["mid"], fair_f)
    edge_fair = float(np.nansum(f["sign"] * (fair_f * ONE - f["price"]) * f["qty"]))
    edge_mid = float(np.nansum(f["sign"] * (mid_f * ONE - f["price"]) * f["qty"]))
    jump = sum(q * (pay - before * ONE) for _, q, before, pay in j.settled if math.isfinite(before))
    last = j.samples[-1] if j.samples else (0, 0, 0, 0, 0)
    gross_fair = last[1] + last[3]  # pnl_fair + fees
    gross_mid = last[2] + last[3]
    fees = last[3]
    pnl = {
        "total": _r((gross_fair - fees) * _USD), "total_mid_mark": _r((gross_mid - fees) * _USD),
        "spread_capture_fair": _r(edge_fair * _USD), "spread_capture_mid": _r(edge_mid * _USD),
        "inventory_fair": _r((gross_fair - edge_fair - jump) * _USD),
        "inventory_mid": _r((gross_mid - edge_mid - jump) * _USD),
        "settlement": _r(jump * _USD), "fees": _r(fees * _USD),
    }  # fmt: skip
    series = [s[1] * _USD for s in j.samples]
    # the runner folds every fill and settlement in too, not only the periodic samples
    dd = max(max_drawdown(series), j.max_drawdown * _USD)
    passive = f["taker"] == 0
    allf = np.ones(n_f, dtype=bool)
    pay_of = {m: pay / ONE for m, _, _, pay in j.settled}
    payoff = np.array([pay_of.get(int(m), math.nan) for m in f["mkt"]], dtype=np.float64)
    mo = {
        "fair": _markouts(f, marks, allf, j.horizons_s, 0, payoff),
        "mid": _markouts(f, marks, allf, j.horizons_s, 1),
        "passive_fair": _markouts(f, marks, passive, j.horizons_s, 0),
        "aggressive_fair": _markouts(f, marks, ~passive, j.horizons_s, 0),
    }
    by_money = {}
    for lo, hi in MONEYNESS_BINS:
        sel = (fair_f >= lo) & (fair_f < hi if hi < 1 else fair_f <= hi)
        by_money[f"{lo:.1f}-{hi:.1f}"] = {"fills": int(sel.sum()),
                                          "markouts_fair": _markouts(f, marks, sel, j.horizons_s, 0)}  # fmt: skip
    hours = np.array([datetime.fromtimestamp(t / 1e9, ET).hour for t in f["ts"]], dtype=np.int64)
    per_hour = {}
    for h in sorted(set(hours.tolist())):
        sel = hours == h
        per_hour[f"{h:02d}"] = {
            "fills": int(sel.sum()), "contracts": _r(f["qty"][sel].sum() / 100, 2),
            "spread_capture_fair": _r(float(np.nansum((f["sign"] * (fair_f * ONE - f["price"]) * f["qty"])[sel])) * _USD),
            "markout_60s_fair": _markouts(f, marks, sel, j.horizons_s, 0).get("60s"),
        }  # fmt: skip
    inv = np.array(j.inventory, dtype=np.float64).reshape(len(j.inventory), len(j.tickers)) / 100.0
    per_bucket = {}
    peak_inv = [q / 100.0 for q in j.max_abs_inventory] or [0.0] * len(j.tickers)
    settled = {m: (q, before, pay) for m, q, before, pay in j.settled}
    for m, t in enumerate(j.tickers):
        sel = f["mkt"] == m
        ed = float(np.nansum((f["sign"] * (fair_f * ONE - f["price"]) * f["qty"])[sel]))
        row: dict[str, Any] = {
            "fills": int(sel.sum()), "contracts": _r(f["qty"][sel].sum() / 100, 2),
            "spread_capture_fair": _r(ed * _USD), "fees": _r(f["fee"][sel].sum() * _USD),
            "mean_abs_inventory": _r(float(np.abs(inv[:, m]).mean()) if len(inv) else 0.0, 3),
            "max_abs_inventory": _r(
                max(float(np.abs(inv[:, m]).max()) if len(inv) else 0.0, peak_inv[m]), 2
            ),
            "markouts_fair": _markouts(f, marks, sel, j.horizons_s, 0),
        }  # fmt: skip
        if m in settled:
            q, before, pay = settled[m]
            row["position_at_close"] = _r(q / 100, 2)
            row["settlement"] = (
                _r(q * (pay - before * ONE) * _USD) if math.isfinite(before) else None
            )
        if row["fills"] or row.get("position_at_close"):
            per_bucket[t] = row
    tot_inv = np.abs(inv).sum(axis=1) if len(inv) else np.zeros(1)
    hist, edges = np.histogram(tot_inv, bins=10)
    filled_qty = float(f["qty"].sum())
    n_actions = j.placed + j.cancels + j.amends + j.decreases
    span_s = (j.samples[-1][0] - j.samples[0][0]) / 1e9 if len(j.samples) > 1 else 0.0
    uptime = _uptime(j)
    daily = _daily(j)
    return {
        "name": name,
        "quoting": uptime,
        "daily": daily,
        "pnl": pnl,
        "max_drawdown": _r(dd),
        "markouts_cents": mo,
        "by_moneyness": by_money,
        "per_hour_et": per_hour,
        "per_bucket": per_bucket,
        "fills": n_f,
        "contracts_filled": _r(filled_qty / 100, 2),
        "fill_ratio": _r(filled_qty / j.placed_qty if j.placed_qty else 0.0, 4),
        "fills_per_hour": _r(n_f / (span_s / 3600) if span_s else 0.0, 3),
        "orders_per_fill": _r(n_actions / n_f if n_f else math.inf, 3),
        "passive_share": _r(float(passive.mean()) if n_f else 0.0, 4),
        "mean_queue_wait_s": _r(float(f["wait"].mean()) / 1e9 if n_f else 0.0, 3),
        "inventory": {
            "time_weighted_mean_abs_total": _r(float(tot_inv.mean()), 3),
            "max_abs_total": _r(max(float(tot_inv.max()), j.max_abs_total / 100.0), 2),
            "histogram_abs_total": {
                "counts": hist.tolist(),
                "edges": [_r(e, 2) for e in edges.tolist()],
            },
        },
        "actions": {
            "placed": j.placed,
            "cancels": j.cancels,
            "amends": j.amends,
            "decreases": j.decreases,
            "rejects": j.rejects,
            "decisions": j.decisions,
        },
        "settlements": [{"event": e, "value": v} for e, v, _ in j.settlements],
        "events": j.events_processed,
    }


def _uptime(j: Journal, band: tuple[float, float] = (0.05, 0.95)) -> dict[str, Any]:
    """Share of (sample, market) pairs with fair inside `band` where we quote both sides,
    and where one of our quotes is at or inside the recorded best price."""
    both = best = n = 0
    for row in j.quotes:
        for fair, pb, pa, ob, oa in row:
            if not (band[0] < fair < band[1]):
                continue
            n += 1
            if math.isfinite(ob) and math.isfinite(oa):
                both += 1
            if (math.isfinite(ob) and (not math.isfinite(pb) or ob >= pb)) or (
                math.isfinite(oa) and (not math.isfinite(pa) or oa <= pa)
            ):
                best += 1
    return {
        "in_band_market_samples": n,
        "two_sided_share": _r(both / n if n else 0.0, 4),
        "at_or_inside_best_share": _r(best / n if n else 0.0, 4),
    }


def _daily(j: Journal) -> dict[str, Any]:
    """PnL per ET trading date (marked to fair), and Sharpe when there are 2+ days."""
    last: dict[str, int] = {}
    for t, pf, *_ in j.samples:
        last[datetime.fromtimestamp(t / 1e9, ET).date().isoformat()] = pf
    days = sorted(last)
    pnl, prev = {}, 0
    for d in days:
        pnl[d] = _r((last[d] - prev) * _USD)
        prev = last[d]
    out: dict[str, Any] = {"pnl": pnl}
    v = np.array([x for x in pnl.values() if x is not None])
    if len(v) >= 2 and v.std(ddof=1) > 0:
        out["sharpe_annualised"] = _r(float(v.mean() / v.std(ddof=1) * math.sqrt(252)), 3)
        out["max_drawdown_daily_sigmas"] = _r(
            max_drawdown([s[1] * _USD for s in j.samples]) / float(v.std(ddof=1)), 3
        )
    return out
