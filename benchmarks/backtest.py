"""A full simulated S&P day through the backtester, strategy in the loop, vs a naive pandas loop.

Input: `backtest.sources.synthetic_day` (index every second 09:30-16:00, a 30-book KXINX-like
ladder with crowd makers, churn, noise and informed takers). Figures, one process, one core:

* backtest.day_s / backtest.events_per_s: the whole day with pmbot's strategy, risk gate and
  planner in the loop (the live code), the queue model and markouts;
* backtest.day_s_index_wakeups_only: the same, the strategy woken by index prints and fills
  only (not by best-price changes of its books);
* backtest.core_events_per_s: the same day with a strategy that never quotes (the replay
  loop alone: books, shadow checks, index ticks, decisions scheduled);
* baselines: a naive pandas loop (`DataFrame.itertuples`-free `iterrows`, dict books, the
  same strategy on every index print, fills only when a print crosses our price) on the
  first `--naive-hours` of the same tape (its strategy calls: index prints only, no planner,
  no queue model, so it does less work per event than the runner); for the core figure the
  same naive loop with the never-quoting strategy (pricing every index print, as the core).
Generation time is printed but not counted.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import logging

from _bench import Reporter, parse_args
from pmbot.backtest.quoting import Quote, QuoteView, ScriptedQuoter, strategy_quoter
from pmbot.backtest.runner import RunConfig, Runner
from pmbot.backtest.sources import SynthConfig, sim_day, synthetic_day
from pmbot.backtest.tape import Tape
from pmbot.core.book import BinaryBook


def naive_loop(tape: Tape, quoter: ScriptedQuoter | object) -> int:
    """The obvious implementation: a DataFrame, iterrows, recompute everything per row."""
    import pandas as pd

    from pmbot.backtest.fair import FairModel

    df = pd.DataFrame({"ts": tape.ts, "kind": tape.kind, "mkt": tape.mkt, "side": tape.side,
                       "price": tape.price, "qty": tape.qty})  # fmt: skip
    mk = tape.markets
    books = [BinaryBook(m.grid, m.ticker) for m in mk]
    fm = FairModel(mk)
    ev = mk[0].event_ticker
    mine: dict[tuple[str, str], Quote] = {}
    pos: dict[str, int] = {}
    fills = 0
    for _, row in df.iterrows():
        k = int(row["kind"])
        if k == 3:
            books[int(row["mkt"])].apply_delta(
                bool(row["side"]), int(row["price"]), int(row["qty"])
            )
        elif k == 2:
            t = mk[int(row["mkt"])].ticker
            side = "ask" if row["side"] else "bid"
            q = mine.get((t, side))
            if q is not None and (
                q.price <= row["price"] if side == "ask" else q.price >= row["price"]
            ):
                n = min(q.qty, int(row["qty"]))
                pos[t] = pos.get(t, 0) + (n if side == "bid" else -n)
                fills += 1
        elif k == 0:
            fm.on_index(int(row["ts"]), row["qty"] / 10_000)
            fair = fm.fair(ev, int(row["ts"]), row["qty"] / 10_000)
            view = QuoteView(int(row["ts"]), ev, tuple(mk), fair, {m.ticker: b for m, b in zip(mk, books, strict=True)},
                             dict(pos), {}, int(row["ts"]), fm.ref_ns[ev])  # fmt: skip
            quotes, _ = quoter.quote(view)  # type: ignore[attr-defined]
            mine = {(q.ticker, q.side): q for q in quotes}
    return fills


def main() -> None:
    args = parse_args(__doc__ or "", lambda p: (
        p.add_argument("--hours", type=float, default=6.5, help="session length to simulate"),
        p.add_argument("--naive-hours", type=float, default=0.25),
        p.add_argument("--source", choices=("synthetic", "sim"), default="synthetic",
                       help="synthetic statistical flow, or the simulator's own Flow"),
    ))  # fmt: skip
    logging.getLogger("pmbot.risk").setLevel(logging.ERROR)
    r = Reporter(args.json)
    t = time.perf_counter()
    if args.source == "sim":
        day = sim_day(1, end_s=int(args.hours * 3600))
    else:
        day = synthetic_day(SynthConfig(seed=1, end_s=int(args.hours * 3600)))
    gen = time.perf_counter() - t
    n = len(day)
    if not args.json:
        print(
            f"tape: {n:,} events {day.counts()}, 30 books, generated in {gen:.1f} s (not counted)"
        )

    t = time.perf_counter()
    j = Runner(day, strategy_quoter("pmbot"), RunConfig()).run()
    full = time.perf_counter() - t
    t = time.perf_counter()
    j_idx = Runner(day, strategy_quoter("pmbot"), RunConfig(requote_on_book=False)).run()
    idx_only = time.perf_counter() - t
    t = time.perf_counter()
    Runner(day, ScriptedQuoter(lambda v: []), RunConfig()).run()
    core = time.perf_counter() - t

    cut = int(day.ts[0]) + int(args.naive_hours * 3600e9)
    part = day.slice_time(int(day.ts[0]), cut)
    t = time.perf_counter()
    Runner(part, strategy_quoter("pmbot"), RunConfig()).run()
    ours_part = time.perf_counter() - t
    t = time.perf_counter()
    naive_loop(part, strategy_quoter("pmbot"))
    naive = time.perf_counter() - t
    t = time.perf_counter()
    naive_loop(part, ScriptedQuoter(lambda v: []))
    naive_core = time.perf_counter() - t

    r.figure("backtest.day_s", full, "s", "naive_pandas_rows_extrapolated", naive * n / len(part))
    r.figure("backtest.day_s_index_wakeups_only", idx_only, "s", "naive_pandas_rows_extrapolated",
             naive * n / len(part))  # fmt: skip
    r.figure("backtest.events_per_s", n / full, "events/s", "naive_pandas_rows", len(part) / naive,
             higher_is_better=True)  # fmt: skip
    r.figure("backtest.slice_events_per_s", len(part) / ours_part, "events/s", "naive_pandas_rows",
             len(part) / naive, higher_is_better=True)  # fmt: skip
    r.figure("backtest.core_events_per_s", n / core, "events/s", "naive_pandas_rows_no_quotes",
             len(part) / naive_core, higher_is_better=True)  # fmt: skip
    if not args.json:
        print(
            f"day: {j.decisions:,} strategy decisions ({full / max(j.decisions, 1) * 1e6:,.0f} us each "
            f"incl. replay), {len(j.fills):,} fills; index-only wake-ups: {j_idx.decisions:,} "
            f"decisions; core loop {core:.2f} s"
        )


if __name__ == "__main__":
    main()
