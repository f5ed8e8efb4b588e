"""Number formatting of the summary table and the HTML report."""

from __future__ import annotations

from pmbot.backtest.report import _fmt


def test_values_that_round_to_zero_print_without_a_sign() -> None:
    assert _fmt(-0.0) == "0.0000"
    assert _fmt(-0.00004) == "0.0000"
    assert _fmt(-0.00005001) == "-0.0001"
    assert _fmt(-1234.004) == "-1,234.00"
    assert _fmt(None) == "-"
    assert _fmt(7) == "7"
