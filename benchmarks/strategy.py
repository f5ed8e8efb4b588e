"""State change -> desired quotes for a 30-market event: market maker vs the seed baseline.

Each op is one new `QuoteInputs` (the index moved, so every fair value changed) turned into
desired quotes. The inputs are prebuilt (pricing is not timed), the positions are spread
over the ladder so the CARA skew and the limit trimming do real work, and each state's live orders are the
quotes the previous state wanted (as the planner would have left them), so the hysteresis
and the gate's accounting of live orders run as in steady operation. Debounce is off, so every op requotes in full.
Figures: strategy alone (propose) and strategy + risk gate (QuoteEngine.step), in us.

`engine_step_live_shape`: the shape of the live bot's inputs on the simulator (31 markets,
the 12 nearest the index selected for quoting, the others without a book and flat), where
most of the gate's per-market work is on markets it only has to keep halted.
"""

from __future__ import annotations

import os
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))

from _bench import Reporter, median_ns_per_op, parse_args
from pmbot.risk.gate import RiskGate
from pmbot.risk.limits import RiskLimits
from pmbot.strategy.baseline import BaselineStrategy
from pmbot.strategy.engine import QuoteEngine
from pmbot.strategy.inputs import QuoteInputs, RestingOrder
from pmbot.strategy.params import QuoteParams
from pmbot.strategy.quoter import MarketMaker
from pmbot.strategy.synthetic import books_around, fresh_inputs, ladder_fair, ladder_markets

N_MARKETS = 30
N_STATES = 64
S = 1_000_000_000


def build_states(n_markets: int = N_MARKETS, selected: int | None = None) -> list[QuoteInputs]:
    """A walk of the index; our live orders in each state are what the previous one wanted.

    `selected`: only that many markets around the middle are quotable and have books (and
    positions); the others have neither (None: every market has both)."""
    ms = ladder_markets(n_markets, 6000.0, 25.0)
    books: dict[str, Any] = dict(books_around(ms, ladder_fair(ms, 6000.0, 60.0), 200))
    positions = {m.ticker: ((i * 37) % 11 - 5) * 300 for i, m in enumerate(ms)}
    quotable = None
    if selected is not None:
        lo = (n_markets - selected) // 2
        quotable = frozenset(m.ticker for m in ms[lo : lo + selected])
        books = {t: (b if t in quotable else None) for t, b in books.items()}
        positions = {t: q for t, q in positions.items() if t in quotable}
    eng = QuoteEngine(MarketMaker(QuoteParams(debounce_ns=0)), RiskGate(RiskLimits()))
    resting: dict[str, tuple[RestingOrder, ...]] = {}
    states = []
    for k in range(N_STATES):
        level = 6000.0 + 8.0 * ((k * 7) % 13 - 6) / 6  # index ticks of up to +-8 points
        ts = 100_000 * S + k * 100_000_000
        fv = ladder_fair(ms, level, 60.0, ts)
        inp = fresh_inputs(
            ms,
            fv,
            books,
            ts,
            positions=positions,
            resting=resting,
            event_cost=40 * 10**6,
            event_capital=40 * 10**6,
            quotable=quotable,
        )
        states.append(inp)
        placed: dict[str, list[RestingOrder]] = {}
        for d in eng.step(inp).quotes:
            placed.setdefault(d.ticker, []).append(RestingOrder(d.side, d.price, d.qty, ts))
        resting = {t: tuple(v) for t, v in placed.items()}
    return states


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    rep = Reporter(args.json)
    states = build_states()
    params = QuoteParams(debounce_ns=0)
    limits = RiskLimits()

    def runner(make):
        def run() -> None:
            obj = make()
            for s in states:
                obj(s)

        return run

    mm = MarketMaker(params, limits)
    base = BaselineStrategy(params)
    mm_eng = QuoteEngine(MarketMaker(params, limits), RiskGate(limits))
    base_eng = QuoteEngine(BaselineStrategy(params), RiskGate(limits))
    n = len(states)
    sample = mm_eng.step(states[0])
    assert sample.quotes, "the benchmark state must produce quotes"

    t_mm = median_ns_per_op(runner(lambda: mm.propose), n, args.repeat) / 1e3
    t_base = median_ns_per_op(runner(lambda: base.propose), n, args.repeat) / 1e3
    rep.figure("strategy.propose_30_markets", t_mm, "us", "baseline.propose_30_markets", t_base)
    t_mm_e = median_ns_per_op(runner(lambda: mm_eng.step), n, args.repeat) / 1e3
    t_base_e = median_ns_per_op(runner(lambda: base_eng.step), n, args.repeat) / 1e3
    rep.figure(
        "strategy.engine_step_30_markets", t_mm_e, "us", "baseline.engine_step_30_markets", t_base_e
    )
    if not args.json:
        print(
            f"  ({len(sample.quotes)} desired quotes per state after the gate; "
            f"{sample.risk.state.name})"
        )
    live = build_states(31, 12)
    mm_live = QuoteEngine(MarketMaker(params, limits), RiskGate(limits))
    base_live = QuoteEngine(BaselineStrategy(params), RiskGate(limits))

    def run_live(eng: QuoteEngine) -> None:
        for s in live:
            eng.step(s)

    t_live = median_ns_per_op(lambda: run_live(mm_live), len(live), args.repeat) / 1e3
    t_live_b = median_ns_per_op(lambda: run_live(base_live), len(live), args.repeat) / 1e3
    rep.figure(
        "strategy.engine_step_live_shape", t_live, "us", "baseline.engine_step_live_shape", t_live_b
    )


if __name__ == "__main__":
    main()
