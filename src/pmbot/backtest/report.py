"""Reports: a rich summary table, a JSON summary, and one self-contained HTML file.

The HTML draws its plots as inline SVG written here (no matplotlib): one file that opens
anywhere, no new dependency, and the same bytes for the same run (no fonts or timestamps
baked in by a plotting library), which keeps reports diffable and testable.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from typing import Any

from pmbot.backtest.journal import Journal

__all__ = ["html_report", "ranked_table", "summary_table", "to_json"]

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


def to_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, indent=1, allow_nan=False, default=str)


def _get(d: dict[str, Any], path: str) -> Any:
    for k in path.split("."):
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


ROWS = (
    ("PnL total $", "pnl.total"), ("  spread capture (fair) $", "pnl.spread_capture_fair"),
    ("  inventory (fair) $", "pnl.inventory_fair"), ("  settlement jump $", "pnl.settlement"),
    ("  fees $", "pnl.fees"), ("PnL marked to mid $", "pnl.total_mid_mark"),
    ("  spread capture (mid) $", "pnl.spread_capture_mid"), ("max drawdown $", "max_drawdown"),
    ("fills", "fills"), ("contracts", "contracts_filled"), ("fill ratio", "fill_ratio"),
    ("passive share", "passive_share"), ("orders per fill", "orders_per_fill"),
    ("markout 0s ¢", "markouts_cents.fair.0s"), ("markout 1s ¢", "markouts_cents.fair.1s"),
    ("markout 10s ¢", "markouts_cents.fair.10s"), ("markout 60s ¢", "markouts_cents.fair.60s"),
    ("markout 5min ¢", "markouts_cents.fair.300s"), ("markout at settlement ¢", "markouts_cents.fair.settle"),
    ("mean |inventory| (contracts)", "inventory.time_weighted_mean_abs_total"),
    ("max |inventory|", "inventory.max_abs_total"),
    ("two-sided uptime (in band)", "quoting.two_sided_share"),
    ("at/inside best (in band)", "quoting.at_or_inside_best_share"),
    ("daily Sharpe (2+ days)", "daily.sharpe_annualised"), ("decisions", "actions.decisions"),
)  # fmt: skip


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        d = 4 if abs(v) < 100 else 2
        return f"{round(v, d) + 0.0:,.{d}f}"  # + 0.0: no "-0.0000" for a value that rounds to 0
    return str(v)


def summary_table(summaries: Sequence[dict[str, Any]]) -> Any:
    """A rich Table with one column per strategy."""
    from rich.table import Table

    t = Table(title="backtest summary")
    t.add_column("metric")
    for s in summaries:
        t.add_column(str(s.get("name", "")), justify="right")
    for label, path in ROWS:
        t.add_row(label, *[_fmt(_get(s, path)) for s in summaries])
    return t


def ranked_table(rows: Sequence[dict[str, Any]], rank_by: str, top: int = 20) -> Any:
    from rich.table import Table

    t = Table(title=f"sweep ranked by {rank_by}")
    keys = sorted({k for r in rows for k in r["params"]})
    t.add_column("#", justify="right")
    for k in keys:
        t.add_column(k, justify="right")
    for col in (rank_by, "pnl.fees", "fills", "markouts_cents.fair.60s", "max_drawdown"):
        t.add_column(col, justify="right")
    for i, r in enumerate(rows[:top], 1):
        s = r["summary"]
        t.add_row(str(i), *[_fmt(r["params"].get(k)) for k in keys],
                  *[_fmt(_get(s, c)) for c in (rank_by, "pnl.fees", "fills", "markouts_cents.fair.60s", "max_drawdown")])  # fmt: skip
    return t


# ---- SVG ----------------------------------------------------------------------------------
def _svg(series: Sequence[tuple[str, Sequence[float], Sequence[float], str, bool]], title: str,
         ylabel: str, xlabels: Sequence[str] | None = None, w: int = 760, h: int = 260) -> str:  # fmt: skip
    pts = [
        (x, y)
        for _, xs, ys, _, _ in series
        for x, y in zip(xs, ys, strict=True)
        if math.isfinite(y)
    ]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">',
           f'<text x="{w // 2}" y="14" text-anchor="middle" font-size="13">{html.escape(title)}</text>']  # fmt: skip
    if not pts:
        out.append(f'<text x="{w // 2}" y="{h // 2}" text-anchor="middle">no data</text></svg>')
        return "".join(out)
    x0, x1 = min(p[0] for p in pts), max(p[0] for p in pts)
    y0, y1 = min(p[1] for p in pts), max(p[1] for p in pts)
    if x1 == x0:
        x1 = x0 + 1
    if y1 == y0:
        y0, y1 = y0 - 1, y1 + 1
    L, R, T, B = 60, 10, 24, 30

    def sx(x: float) -> float:
        return L + (x - x0) / (x1 - x0) * (w - L - R)

    def sy(y: float) -> float:
        return h - B - (y - y0) / (y1 - y0) * (h - T - B)

    out.append(
        f'<rect x="{L}" y="{T}" width="{w - L - R}" height="{h - T - B}" fill="none" stroke="#999"/>'
    )
    for k in range(5):
        yv = y0 + (y1 - y0) * k / 4
        out.append(f'<text x="{L - 4}" y="{sy(yv) + 4:.1f}" text-anchor="end">{yv:.4g}</text>')
        out.append(
            f'<line x1="{L}" x2="{w - R}" y1="{sy(yv):.1f}" y2="{sy(yv):.1f}" stroke="#eee"/>'
        )
    if y0 < 0 < y1:
        out.append(f'<line x1="{L}" x2="{w - R}" y1="{sy(0):.1f}" y2="{sy(0):.1f}" stroke="#888"/>')
    if xlabels:
        for i, lab in enumerate(xlabels):
            out.append(
                f'<text x="{sx(i):.1f}" y="{h - 12}" text-anchor="middle">{html.escape(lab)}</text>'
            )
    out.append(
        f'<text x="12" y="{h // 2}" transform="rotate(-90 12 {h // 2})" text-anchor="middle">{html.escape(ylabel)}</text>'
    )
    for i, (label, xs, ys, color, dashed) in enumerate(series):
        seg: list[str] = []
        paths: list[str] = []
        for x, y in zip(xs, ys, strict=True):
            if math.isfinite(y):
                seg.append(f"{sx(x):.1f},{sy(y):.1f}")
            elif seg:
                paths.append(" ".join(seg))
                seg = []
        if seg:
            paths.append(" ".join(seg))
        dash = ' stroke-dasharray="4 3"' if dashed else ""
        for pth in paths:
            out.append(
                f'<polyline fill="none" stroke="{color}" stroke-width="1.3"{dash} points="{pth}"/>'
            )
        out.append(
            f'<text x="{L + 8 + 150 * i}" y="{T + 14}" fill="{color}">{html.escape(label)}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def _hours(j: Journal) -> list[float]:
    t0 = j.samples[0][0] if j.samples else 0
    return [(s[0] - t0) / 3.6e12 for s in j.samples]


def _table(title: str, rows: dict[str, dict[str, Any]], cols: Sequence[str]) -> str:
    if not rows:
        return ""
    out = [f"<h3>{html.escape(title)}</h3><table><tr><th></th>"]
    out += [f"<th>{html.escape(c)}</th>" for c in cols]
    out.append("</tr>")
    for k, r in rows.items():
        out.append(
            f"<tr><td>{html.escape(k)}</td>"
            + "".join(f"<td>{_fmt(_get(r, c))}</td>" for c in cols)
            + "</tr>"
        )
    out.append("</table>")
    return "".join(out)


def html_report(
    runs: Sequence[tuple[dict[str, Any], Journal]], title: str = "pmbot backtest"
) -> str:
    """One HTML page: summary side by side, the four plots, per-bucket and per-hour tables."""
    sums = [s for s, _ in runs]
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             "<style>body{font-family:sans-serif;margin:20px}table{border-collapse:collapse;margin:8px 0}"
             "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}td:first-child{text-align:left}</style>",
             f"</head><body><h1>{html.escape(title)}</h1><h2>Summary</h2><table><tr><th>metric</th>"]  # fmt: skip
    parts += [f"<th>{html.escape(str(s['name']))}</th>" for s in sums]
    parts.append("</tr>")
    for label, path in ROWS:
        parts.append(
            f"<tr><td>{html.escape(label)}</td>"
            + "".join(f"<td>{_fmt(_get(s, path))}</td>" for s in sums)
            + "</tr>"
        )
    parts.append("</table><h2>Plots</h2>")
    pnl, inv = [], []
    for i, (s, j) in enumerate(runs):
        c = COLORS[i % len(COLORS)]
        hrs = _hours(j)
        pnl.append((f"{s['name']} (fair)", hrs, [x[1] * 1e-6 for x in j.samples], c, False))
        pnl.append((f"{s['name']} (mid)", hrs, [x[2] * 1e-6 for x in j.samples], c, True))
        inv.append(
            (s["name"], hrs, [sum(abs(q) for q in row) / 100 for row in j.inventory], c, False)
        )
    parts.append(_svg(pnl, "PnL over time ($, marked to fair solid / mid dashed)", "$"))
    parts.append(_svg(inv, "Inventory: total |position| (contracts)", "contracts"))
    if runs:
        s, j = runs[0]
        best = max(s["per_bucket"].items(), key=lambda kv: kv[1]["fills"], default=None)
        if best is not None:
            m = j.tickers.index(best[0])
            hrs = _hours(j)
            q = [row[m] for row in j.quotes]
            names = ("fair", "market bid", "market ask", "our bid", "our ask")
            styles = ("#000", "#888", "#888", COLORS[0], COLORS[1])
            ser = [(names[k], hrs, [x[k] for x in q], styles[k], k in (1, 2)) for k in range(5)]
            parts.append(_svg(ser, f"Quotes vs fair vs market: {best[0]} ({s['name']})", "P(YES)"))
    hz = ["0s", "1s", "10s", "60s", "300s", "settle"]
    mo = [(s["name"], list(range(len(hz))), [(_get(s, f"markouts_cents.fair.{k}") if _get(s, f"markouts_cents.fair.{k}") is not None else math.nan) for k in hz],
           COLORS[i % len(COLORS)], False) for i, s in enumerate(sums)]  # fmt: skip
    parts.append(_svg(mo, "Markouts vs fair (¢ per contract)", "cents", xlabels=hz))
    for s in sums:
        parts.append(f"<h2>{html.escape(str(s['name']))}</h2>")
        parts.append(_table("Per bucket", s["per_bucket"], ["fills", "contracts", "spread_capture_fair", "fees",
                                                              "mean_abs_inventory", "position_at_close", "settlement"]))  # fmt: skip
        parts.append(
            _table(
                "Per hour (ET)",
                s["per_hour_et"],
                ["fills", "contracts", "spread_capture_fair", "markout_60s_fair"],
            )
        )
        parts.append(
            _table(
                "By moneyness (fair at fill)",
                s["by_moneyness"],
                ["fills", "markouts_fair.0s", "markouts_fair.60s", "markouts_fair.300s"],
            )
        )
    parts.append("</body></html>")
    return "\n".join(parts)
