"""Scoring maths, and the model against the climatology and raw VIX baselines on arch data."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from pmbot.pricing.calibration import kalshi_like_edges, realised_cells, score_events


def test_edges_are_kalshi_like() -> None:
    e = kalshi_like_edges(np.array([6000.0, 2000.0]))
    assert e.shape == (2, 25)
    assert np.allclose(np.diff(e[0]), 25.0) and np.allclose(np.diff(e[1]), 10.0)
    assert e[0][12] <= 6000.0 < e[0][13] and e[0][0] % 25 == 0


def test_scores_of_a_perfect_and_a_uniform_forecast() -> None:
    edges = np.array([[1.0, 2.0, 3.0]])
    cell = realised_cells(edges, np.array([2.5]))
    assert cell.tolist() == [2]
    sure = score_events("sure", np.array([[0.0, 0.0, 1.0]]), cell, np.array([0.5]))
    assert sure.log_loss == pytest.approx(0.0) and sure.pit_iqr_share == 1.0
    flat = score_events("flat", np.array([[0.25, 0.5, 0.75]]), cell, np.array([0.99]), n_near=2)
    assert flat.log_loss == pytest.approx(np.log(4)) and flat.pit_tail_share == 1.0
    wrong = score_events("wrong", np.array([[0.0, 1.0, 1.0]]), cell, np.array([0.5]))
    assert np.isfinite(wrong.log_loss) and wrong.log_loss > 20


def test_calibrate_beats_both_baselines_on_arch_data(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("arch")
    from pmbot.commands import calibrate

    p = argparse.ArgumentParser()
    calibrate.add_arguments(p)
    assert calibrate.main(p.parse_args(["--json"])) == 0
    rows = {r["model"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert set(rows) >= {"recommended", "climatology", "raw_vix"}
    rec = rows["recommended"]
    assert set(rec) == {
        "model",
        "log_loss",
        "brier",
        "pit_tail_share",
        "pit_iqr_share",
        "n_events",
        "first",
        "last",
    }
    assert rec["first"] >= "2014-01-06" and rec["last"] <= "2018-12-31"
    assert rec["n_events"] > 1200
    assert rec["log_loss"] <= 1.78
    assert rec["log_loss"] < rows["climatology"]["log_loss"] - 0.1
    assert rec["log_loss"] < rows["raw_vix"]["log_loss"] - 0.1
    assert abs(rec["pit_tail_share"] - 0.10) <= 0.02
    assert abs(rec["pit_iqr_share"] - 0.50) <= 0.04


def test_calibrate_prints_the_dates_it_scored_not_those_asked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`--end` past the data: the header names the last event scored (it echoed the flag)."""
    pytest.importorskip("arch")
    from pmbot.commands import calibrate

    p = argparse.ArgumentParser()
    calibrate.add_arguments(p)
    assert calibrate.main(p.parse_args(["--start", "2018-06-01", "--end", "2031-01-01"])) == 0
    head = capsys.readouterr().out.splitlines()[0]
    first, last = head.rsplit(" ", 1)[1].split("..")
    assert first >= "2018-06-01" and last <= "2018-12-31" and "2031" not in head, head
