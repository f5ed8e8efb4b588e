"""The live terminal dashboard: a pure render of a `DashboardView` with rich.

The app builds a view from TradingState and the risk gate a few times a second; rendering
never touches state, so the dashboard can neither block nor corrupt the trading loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from pmbot.core.money import Micros, Price, Qty, fmt_count, fmt_price

__all__ = ["DashboardView", "MarketRow", "render"]


@dataclass(slots=True)
class MarketRow:
    ticker: str
    label: str
    fair: float | None
    bid: Price | None
    ask: Price | None
    our_bid: tuple[Price, Qty] | None
    our_ask: tuple[Price, Qty] | None
    position: Qty


@dataclass(slots=True)
class DashboardView:
    now_ns: int
    venue: str
    event_ticker: str
    index_level: float | None
    index_age_s: float | None
    vol_label: str
    risk_state: str
    risk_reason: str
    guards: list[str] = field(default_factory=list)
    connections: dict[str, bool] = field(default_factory=dict)
    api_budget: str = ""
    rows: list[MarketRow] = field(default_factory=list)
    pnl: dict[str, Micros] = field(default_factory=dict)
    fills: int = 0
    volume: Qty = 0
    orders_live: int = 0
    index_label: str = "S&P 500"  # "" when the venue's markets have no underlying index


def _px(p: Price | None) -> str:
    return "-" if p is None else fmt_price(p)[1:] if p < 10_000 else fmt_price(p)


def _quote(q: tuple[Price, Qty] | None) -> str:
    return "-" if q is None else f"{_px(q[0])} x{fmt_count(q[1])}"


def _usd(m: Micros) -> str:
    return f"{m / 1e6:+,.4f}"


def _short_key(ticker: str) -> str:
    """A Kalshi ticker's last part (B6612); a 66-character Polymarket condition id as
    0x1a2b…9f3e (in full it took the table's width)."""
    key = ticker.rsplit("-", 1)[-1]
    return f"{key[:6]}…{key[-4:]}" if len(key) > 16 else key


def render(v: DashboardView) -> Group:
    ts = datetime.fromtimestamp(v.now_ns / 1e9, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    lvl = "-" if v.index_level is None else f"{v.index_level:,.2f}"
    age = "" if v.index_age_s is None else f" ({v.index_age_s:.1f}s ago)"
    color = {"ACTIVE": "green", "REDUCING": "yellow", "HALTED": "red"}.get(v.risk_state, "white")
    head = Text.assemble(
        (f"pmbot · {v.venue} · {v.event_ticker}  ", "bold"),
        (f"{ts}\n", "dim"),
        (f"{v.index_label} " if v.index_label else "", "bold"),
        (f"{lvl}{age}   " if v.index_label else "", "cyan"),
        (f"{v.vol_label}   ", ""),  # "VIX 16.2" or "vol 16.0": it names itself
        ("risk ", "bold"),
        (v.risk_state, f"bold {color}"),
        (f" {v.risk_reason}" if v.risk_reason else "", color),
    )
    conns = "  ".join(f"{k}:{'up' if up else 'DOWN'}" for k, up in sorted(v.connections.items()))
    health = Text(
        f"connections {conns or '-'}   api {v.api_budget or '-'}   live orders {v.orders_live}"
    )
    if v.guards:
        health.append("   guards: " + ", ".join(v.guards), style="yellow")

    t = Table(expand=True, pad_edge=False, box=None, header_style="bold")
    for col, just in (
        ("market", "left"),
        ("range", "left"),
        ("fair", "right"),
        ("bid", "right"),
        ("ask", "right"),
        ("our bid", "right"),
        ("our ask", "right"),
        ("pos", "right"),
    ):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for r in v.rows:
        fair = "-" if r.fair is None else f"{r.fair:.3f}"
        pos = fmt_count(r.position)
        t.add_row(
            _short_key(r.ticker),
            r.label,
            fair,
            _px(r.bid),
            _px(r.ask),
            _quote(r.our_bid),
            _quote(r.our_ask),
            Text(pos, style="green" if r.position > 0 else "red" if r.position < 0 else "dim"),
        )

    pnl = Table.grid(padding=(0, 3))
    keys = list(v.pnl)
    pnl.add_row(
        *[Text(k, style="bold") for k in keys],
        Text("fills", style="bold"),
        Text("volume", style="bold"),
    )
    pnl.add_row(*[_usd(v.pnl[k]) for k in keys], str(v.fills), fmt_count(v.volume))
    return Group(Panel(Group(head, health), title="pmbot"), t, Panel(pnl, title="PnL ($)"))
