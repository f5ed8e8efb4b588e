"""`pmbot run --compare`: pmbot's strategy vs the baseline on the simulator, same seed.

Each strategy gets a fresh embedded simulator built from the same SimConfig (seed, start,
speed, background flow with informed traders), so both face the same index path and the same
seeded flow; the runs are not bit-identical because the simulator runs on (scaled) real time
and the bots' own orders change what the flow meets.

`LiveJournal` plugs into the app's recorder slot and writes the backtester's `Journal`
(fills with fair value and mid at the fill, marks at t + 1 s / 10 s / 60 s, PnL samples,
inventory), so the numbers come from the same `backtest.metrics.summarize` the backtester
uses: PnL per contract, spread capture (vs fair and vs mid), markouts in cents per contract.
Marks are the bot's own fair value (the model on the live index) and the public mid,
sampled every `sample_s` simulated seconds; a fill whose horizon runs past the end of the
run has no mark at that horizon (it is left out of that markout, not guessed).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pmbot.backtest.journal import Journal
from pmbot.core import events as ev
from pmbot.core.money import ONE

__all__ = ["CompareResult", "LiveJournal", "compare", "print_comparison"]

HORIZONS_S = (1, 10, 60)
_S = 1_000_000_000


class LiveJournal:
    """Collects a live run into a backtest Journal (recorder slot: attach/on_event/aclose)."""

    def __init__(self, sample_s: float = 0.5, horizons_s: tuple[int, ...] = HORIZONS_S) -> None:
        self.sample_ns = int(sample_s * _S)
        self.horizons_s = horizons_s
        self.app: Any = None
        self._fills: list[tuple[int, str, int, int, int, int, int, float, float]] = []
        self._seen: set[tuple[str, str]] = set()
        # per ticker: sample times and (fair, mid) at those times
        self._ts: list[int] = []
        self._marks: list[dict[str, tuple[float, float]]] = []
        self._samples: list[tuple[int, int, int, int, int]] = []
        self._inv: list[dict[str, int]] = []
        self._last = -(10**30)
        self.journal: Journal | None = None

    async def attach(self, app: Any) -> None:
        self.app = app

    def on_event(self, e: object) -> None:
        app = self.app
        if app is None:
            return
        now = app.clock.now_ns()
        if isinstance(e, ev.Fill) and (e.trade_id, e.order_id) not in self._seen:
            self._seen.add((e.trade_id, e.order_id))
            fair, mid = self._mark(e.ticker)
            sign = e.side.sign
            self._fills.append(
                (now, e.ticker, sign, e.price, e.qty, e.fee, int(e.is_taker), fair, mid)
            )
        if now - self._last >= self.sample_ns:
            self._last = now
            self._sample(now)

    def _mark(self, ticker: str) -> tuple[float, float]:
        app = self.app
        f = None if app.fair is None else app.fair.fair.get(ticker)
        b = app.state.books.get(ticker)
        m = None if b is None or not app.state.book_fresh.get(ticker) else b.mid()
        return (math.nan if f is None else float(f), math.nan if m is None else float(m))

    def _sample(self, now: int) -> None:
        app = self.app
        st = app.state
        marks = {t: self._mark(t) for t in st.books}
        self._ts.append(now)
        self._marks.append(marks)
        fair_pnl = app.acct.net_pnl(st, app.fair)
        mid_pnl = 0
        for t, p in st.positions.items():
            mid_pnl += p.realized
            if p.qty:
                m = marks.get(t, (math.nan, math.nan))[1]
                if not math.isfinite(m):
                    m = marks.get(t, (math.nan, math.nan))[0]
                if math.isfinite(m):
                    mid_pnl += p.mark(round(m * ONE))
        fees = st.fees_paid()
        self._samples.append((now, fair_pnl, mid_pnl - fees, fees, 0))
        self._inv.append({t: p.qty for t, p in st.positions.items() if p.qty})

    async def aclose(self) -> None:
        if self.app is not None:
            self._sample(self.app.clock.now_ns())
            self._add_backfilled()
            self.journal = self._build()

    def _add_backfilled(self) -> None:
        """Fills reconciliation backfilled (never on the stream): marked from the samples."""
        led = getattr(self.app, "ledger", None)
        if led is None:
            return
        try:
            fills = led.fills()
        except Exception:  # the ledger may already be closed
            return
        for f in fills:
            if (f.trade_id, f.order_id) in self._seen:
                continue
            self._seen.add((f.trade_id, f.order_id))
            k = max(0, bisect.bisect_left(self._ts, f.ts_ns) - 1)
            fair, mid = (
                self._marks[k].get(f.ticker, (math.nan, math.nan))
                if self._marks
                else (math.nan,) * 2
            )
            row = (
                f.ts_ns,
                f.ticker,
                f.side.sign,
                f.price,
                f.qty,
                f.fee,
                int(f.is_taker),
                fair,
                mid,
            )
            self._fills.append(row)
        self._fills.sort(key=lambda r: r[0])

    def _build(self) -> Journal:
        tickers = tuple(sorted({f[1] for f in self._fills} | {t for i in self._inv for t in i}))
        mi = {t: i for i, t in enumerate(tickers)}
        events = tuple(sorted({t.rsplit("-", 1)[0] for t in tickers}))
        j = Journal(tickers, events, self.horizons_s)
        for ts, t, sign, price, qty, fee, taker, fair, mid in self._fills:
            j.fills.append((ts, mi[t], sign, price, qty, fee, taker, fair, mid, 0))
            row = []
            for h in self.horizons_s:
                k = bisect.bisect_left(self._ts, ts + h * _S)
                if k < len(self._ts) and self._ts[k] - (ts + h * _S) <= 5 * self.sample_ns:
                    row.append(self._marks[k].get(t, (math.nan, math.nan)))
                else:
                    row.append((math.nan, math.nan))
            j.marks.append(row)
        j.samples = list(self._samples)
        j.inventory = [tuple(i.get(t, 0) for t in tickers) for i in self._inv]
        om = getattr(self.app, "om", None)
        led = getattr(self.app, "ledger", None)
        if led is not None:
            try:
                n, q = led.db.execute(
                    "SELECT COUNT(*), COALESCE(SUM(initial),0) FROM orders"
                ).fetchone()
                j.placed, j.placed_qty = int(n), int(q)
            except Exception:  # the ledger may already be closed
                pass
        if om is not None:
            w = om.stats.writes
            j.cancels = int(w.get("cancel", 0) + w.get("batch_cancel", 0))
            j.amends = int(w.get("amend", 0))
            j.decreases = int(w.get("decrease", 0))
            j.rejects = int(sum(om.stats.rejects.values()))
            j.decisions = int(om.stats.syncs)
        return j


@dataclass
class CompareResult:
    name: str
    summary: dict[str, Any]  # backtest.metrics.summarize of the live journal
    run: dict[str, Any]  # the bot's own end-of-run summary


async def compare(
    settings: Any,
    *,
    duration_s: float,
    speed: float,
    seed: int,
    start_ns: int | None,
    workdir: str | Path,
    strategies: tuple[str, ...] = ("pmbot", "baseline"),
) -> list[CompareResult]:
    """Run each strategy on a fresh simulator with the same seed/start; return the summaries."""
    import msgspec

    from pmbot.app import BotApp, RunOptions
    from pmbot.backtest.metrics import summarize
    from pmbot.settings import Secrets, Settings
    from pmbot.sim.flow import FlowConfig
    from pmbot.sim.kalshi_server import KalshiSim, SimConfig

    out = []
    for name in strategies:
        d = msgspec.to_builtins(settings)
        d["strategy"]["kind"] = name
        d["ledger"]["path"] = str(Path(workdir) / f"{name}.sqlite3")
        d["bot"]["dashboard"] = False
        s = msgspec.convert(d, Settings)
        sim = KalshiSim(SimConfig(seed=seed, speed=speed, start_ns=start_ns, flow=FlowConfig()))
        await sim.start()
        lj = LiveJournal()
        try:
            res = await BotApp(
                s,
                Secrets({}),
                RunOptions(duration_s=duration_s, dashboard=False, install_signal_handlers=False),
                sim=sim,
                recorder=lj,
            ).run()
        finally:
            await sim.stop()
        assert lj.journal is not None
        summ = summarize(lj.journal, name)
        contracts = summ.get("contracts_filled") or 0.0
        total = summ["pnl"]["total"] or 0.0
        summ["pnl_per_contract_cents"] = round(100 * total / contracts, 4) if contracts else None
        spread = summ["pnl"]["spread_capture_fair"] or 0.0
        summ["spread_capture_per_contract_cents"] = (
            round(100 * spread / contracts, 4) if contracts else None
        )
        out.append(CompareResult(name, summ, res.summary))
    return out


ROWS = (
    ("fills", "fills"),
    ("contracts filled", "contracts_filled"),
    ("PnL total $ (fair mark)", "pnl.total"),
    ("PnL per contract ¢", "pnl_per_contract_cents"),
    ("spread capture $ (vs fair)", "pnl.spread_capture_fair"),
    ("spread capture per contract ¢", "spread_capture_per_contract_cents"),
    ("spread capture $ (vs mid)", "pnl.spread_capture_mid"),
    ("inventory PnL $", "pnl.inventory_fair"),
    ("fees $", "pnl.fees"),
    ("markout 0s ¢/contract", "markouts_cents.fair.0s"),
    ("markout 1s ¢/contract", "markouts_cents.fair.1s"),
    ("markout 10s ¢/contract", "markouts_cents.fair.10s"),
    ("markout 60s ¢/contract", "markouts_cents.fair.60s"),
    ("markout 0s ¢ (mid)", "markouts_cents.mid.0s"),
    ("markout 1s ¢ (mid)", "markouts_cents.mid.1s"),
    ("markout 10s ¢ (mid)", "markouts_cents.mid.10s"),
    ("markout 60s ¢ (mid)", "markouts_cents.mid.60s"),
    ("max |inventory| contracts", "inventory.max_abs_total"),
)


def _get(d: Any, path: str) -> Any:
    for k in path.split("."):
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def comparison_dict(results: list[CompareResult]) -> dict[str, Any]:
    return {
        r.name: {label: _get(r.summary, path) for label, path in ROWS} | {"summary": r.summary}
        for r in results
    }


def print_comparison(results: list[CompareResult]) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title="pmbot vs baseline on the simulator (informed flow, same seed)")
    t.add_column("metric")
    for r in results:
        t.add_column(r.name, justify="right")
    for label, path in ROWS:
        vals = [_get(r.summary, path) for r in results]
        t.add_row(label, *["-" if v is None else f"{v:,.4f}" if isinstance(v, float) else str(v)
                           for v in vals])  # fmt: skip
    Console().print(t)
