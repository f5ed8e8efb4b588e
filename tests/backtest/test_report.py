"""Number formatting of the summary table and the HTML report."""

from __future__ import annotations

import pytest

from pmbot.backtest.report import _fmt


def test_values_that_round_to_zero_print_without_a_sign() -> None:
    assert _fmt(-0.0) == "0.0000"
    assert _fmt(-0.00004) == "0.0000"
    assert _fmt(-0.00005001) == "-0.0001"
    assert _fmt(-1234.004) == "-1,234.00"
    assert _fmt(None) == "-"
    assert _fmt(7) == "7"


def test_markouts_are_reported_per_market_as_documented() -> None:
    """Regression (review): docs/BACKTEST.md promised markouts per market; the per-bucket
    rows had none. Each traded bucket's markouts are those of its own fills."""
    from pmbot.backtest.metrics import summarize
    from pmbot.backtest.quoting import strategy_quoter
    from pmbot.backtest.runner import RunConfig, Runner
    from pmbot.backtest.sources import SynthConfig, synthetic_day

    tape = synthetic_day(SynthConfig(seed=5, start_s=600, end_s=1_800))
    j = Runner(tape, strategy_quoter("pmbot"), RunConfig()).run()
    s = summarize(j)
    rows = {t: r for t, r in s["per_bucket"].items() if r["fills"]}
    assert len(rows) >= 2
    for t, r in rows.items():
        assert set(r["markouts_fair"]) == set(s["markouts_cents"]["fair"]) - {"settle"}
        m = j.tickers.index(t)
        mine = [f for f in j.fills if f[1] == m]  # (ts, mkt, sign, price, qty, fee, taker, fair..)
        at0 = sum(f[2] * (f[7] * 10_000 - f[3]) / 100 * f[4] for f in mine) / sum(
            f[4] for f in mine
        )
        assert r["markouts_fair"]["0s"] == pytest.approx(at0, abs=1e-4)
