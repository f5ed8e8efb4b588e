"""Same seed + same inputs -> byte-identical results; recordings round-trip exactly."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from pmbot.backtest.config import parse_config
from pmbot.backtest.metrics import summarize
from pmbot.backtest.quoting import strategy_quoter
from pmbot.backtest.recorder import Recorder, load_tape, save_npz, spec_to_json
from pmbot.backtest.report import html_report, to_json
from pmbot.backtest.runner import RunConfig, Runner
from pmbot.backtest.sources import SynthConfig, synthetic_day
from pmbot.backtest.sweep import grid, rank
from pmbot.backtest.tape import Tape
from pmbot.core import events as ev
from pmbot.errors import ConfigError

# the last 10 minutes of a synthetic session: 30 books, the close and the settlement
SYN = SynthConfig(seed=3, start_s=22_800, end_s=23_400)


@pytest.fixture(scope="module")
def tape() -> Tape:
    return synthetic_day(SYN)


def _run(tape: Tape, kind: str, cfg: RunConfig) -> tuple[str, str]:
    j = Runner(tape, strategy_quoter(kind), cfg).run()
    s = summarize(j, kind)
    return to_json(s), html_report([(s, j)])


def test_same_seed_same_bytes(tape: Tape) -> None:
    rtts = {"rtts_ms": [20.0, 31.0, 45.0, 80.0, 120.0]}
    cfg = RunConfig(entry_latency=rtts, md_latency=rtts, seed=7)
    a = _run(tape, "pmbot", cfg)
    b = _run(synthetic_day(SYN), "pmbot", cfg)  # regenerated inputs, fresh strategy objects
    assert a == b
    s = __import__("json").loads(a[0])
    assert s["fills"] > 0 and s["settlements"], "the scenario must trade and settle"
    c = _run(tape, "pmbot", RunConfig(entry_latency=rtts, md_latency=rtts, seed=8))
    assert c[0] != a[0]  # the seed matters where latency is sampled


def test_synthetic_tape_is_seeded(tape: Tape) -> None:
    again = synthetic_day(SYN)
    for col in ("ts", "kind", "mkt", "side", "price", "qty"):
        assert np.array_equal(getattr(tape, col), getattr(again, col))
    assert len(tape.markets) == 30


def test_recorder_round_trip(tmp_path: Path, tape: Tape) -> None:
    d = tmp_path / "rec"
    with Recorder(d, source="test", flush_every=1000) as rec:
        for m in tape.markets:
            rec.market(m)
        k, mk, sd, pr, q, ts = (tape.kind.tolist(), tape.mkt.tolist(), tape.side.tolist(),
                                tape.price.tolist(), tape.qty.tolist(), tape.ts.tolist())  # fmt: skip
        for i in range(len(ts)):
            if k[i] == 0:
                rec.record(ev.IndexTick(ts[i], q[i] / 10_000))
            elif k[i] == 3:
                rec.record(
                    ev.BookDelta(tape.markets[mk[i]].ticker, ts[i], bool(sd[i]), pr[i], q[i])
                )
            elif k[i] == 2:
                rec.trade(ts[i], tape.markets[mk[i]].ticker, pr[i], q[i], bool(sd[i]))
    back = load_tape(d)
    for col in ("ts", "kind", "mkt", "side", "price", "qty"):
        assert np.array_equal(getattr(tape, col), getattr(back, col)), col
    assert [spec_to_json(m) for m in back.markets] == [spec_to_json(m) for m in tape.markets]
    assert back.source == "test"
    # a torn tail (crash mid-write) loses only the partial record
    with open(d / "events.bin", "ab") as f:
        f.write(b"\x01\x02\x03")
    assert len(load_tape(d)) == len(tape)
    save_npz(back, tmp_path / "t.npz")
    z = load_tape(tmp_path / "t.npz")
    assert np.array_equal(z.qty, tape.qty) and len(z.markets) == len(tape.markets)


def test_config_errors_name_the_field() -> None:
    with pytest.raises(ConfigError) as e:
        parse_config({"run": {"entry_latency": 3}})
    assert e.value.field == "run.entry_latency"
    with pytest.raises(ConfigError) as e:
        parse_config({"data": {"kind": "recording"}})
    assert e.value.field == "data.path"
    c = parse_config(
        {"strategies": ["pmbot"], "sweep": {"edge": [1, 2], "size": [100], "workers": 1}}
    )
    assert c.sweep == {"edge": [1, 2], "size": [100]} and c.workers == 1


def test_sweep_grid_and_rank() -> None:
    pts = grid({"b": [1, 2], "a": ["x"]})
    assert pts == [{"a": "x", "b": 1}, {"a": "x", "b": 2}]
    rows = [
        {"params": {"i": i}, "summary": {"pnl": {"total": v}}}
        for i, v in enumerate([1.0, None, 3.0, 1.0])
    ]
    assert [r["params"]["i"] for r in rank(rows, "pnl.total")] == [2, 0, 3, 1]


def test_empirical_latency_is_half_rtt() -> None:
    from pmbot.backtest.latency import Empirical, latency_from_config

    e = Empirical([10.0, 20.0], random.Random(1))
    assert {e.sample_ns() for _ in range(50)} == {5_000_000, 10_000_000}
    assert latency_from_config(25, random.Random(0)).sample_ns() == 25_000_000


def test_sweep_in_processes_equals_serial_runs(tmp_path: Path) -> None:
    from pmbot.backtest.sweep import run_one, sweep

    tape = synthetic_day(SynthConfig(seed=5, start_s=23_100, end_s=23_400))
    path = str(tmp_path / "t.npz")
    save_npz(tape, path)
    cfg = RunConfig()
    rows = sweep(path, "pmbot", {}, {"edge": [100, 300]}, {}, cfg, workers=2)
    assert sorted(r["params"]["edge"] for r in rows) == [100, 300]
    totals = [r["summary"]["pnl"]["total"] for r in rows]
    assert totals == sorted(totals, reverse=True)
    for r in rows:  # a worker process gives the same bytes as a run here
        assert to_json(r["summary"]) == to_json(run_one(path, "pmbot", dict(r["params"]), {}, cfg))


def test_a_sweep_varies_risk_limits_too_and_unknown_keys_are_refused(tmp_path: Path) -> None:
    """Regression (review): a [sweep] over a [limits] key (the CLI says a sweep varies both)
    died with a TypeError traceback, as did an unknown [params] key; limits now go to
    RiskLimits, and unknown keys are refused at load, naming the key."""
    from pmbot.backtest.config import parse_config
    from pmbot.backtest.sweep import run_one, sweep
    from pmbot.errors import ConfigError

    tape = synthetic_day(SynthConfig(seed=5, start_s=23_100, end_s=23_400))
    path = str(tmp_path / "t.npz")
    save_npz(tape, path)
    cfg = RunConfig()
    rows = sweep(path, "pmbot", {}, {"max_position": [100, 2000]}, {}, cfg, workers=1)
    by = {r["params"]["max_position"]: r["summary"] for r in rows}
    assert to_json(by[100]) == to_json(run_one(path, "pmbot", {}, {"max_position": 100}, cfg))
    assert by[100]["inventory"]["max_abs_total"] <= 1.0
    for section, key in (("params", "bogus"), ("limits", "edge"), ("sweep", "bogus")):
        raw = {section: {key: [1] if section == "sweep" else 1}}
        with pytest.raises(ConfigError, match=rf"{section}\.{key}"):
            parse_config(raw, str(tmp_path))


def test_sim_flow_day_is_seeded_and_replays() -> None:
    from pmbot.backtest.sources import sim_day

    a, b = sim_day(2, start_s=23_280, end_s=23_400), sim_day(2, start_s=23_280, end_s=23_400)
    assert len(a) > 121 and np.array_equal(a.qty, b.qty) and np.array_equal(a.ts, b.ts)
    assert _run(a, "baseline", RunConfig()) == _run(b, "baseline", RunConfig())


def test_recorder_drops_our_own_book_changes(tmp_path: Path) -> None:
    tape = synthetic_day(SynthConfig(seed=3, start_s=23_390, end_s=23_400))
    m = tape.markets[0]
    with Recorder(tmp_path / "r") as rec:
        rec.market(m)
        rec.snapshot(1, m.ticker, [(4000, 500)], [(5000, 300)], own_yes={4000: 200})
        rec.record(ev.BookDelta(m.ticker, 2, True, 4100, 100, client_order_id="ours"))
        rec.record(ev.BookDelta(m.ticker, 3, True, 4100, 700))
    t = load_tape(tmp_path / "r")
    assert [(int(a), int(b), int(c)) for a, b, c in zip(t.kind, t.price, t.qty, strict=True)] == [
        (1, 0, 0), (3, 4000, 300), (3, 5000, 300), (3, 4100, 700)]  # fmt: skip


def test_index_csv_replaces_the_tape_index(tmp_path: Path) -> None:
    from pmbot.backtest.tape import INDEX, replace_index

    tape = synthetic_day(SynthConfig(seed=3, start_s=23_390, end_s=23_400))
    t0 = int(tape.ts[0]) // 1_000_000
    csv = tmp_path / "spx.csv"
    csv.write_text("ts_ms,level\n" + "".join(f"{t0 + 1000 * i},{6100 + i}.25\n" for i in range(11)))
    t = replace_index(tape, str(csv))
    idx = t.kind == INDEX
    assert int(idx.sum()) == 11 and t.qty[idx][0] == 61_002_500
    assert int((t.kind != INDEX).sum()) == int((tape.kind != INDEX).sum())
    assert t.index_level_at(int(tape.ts[0]) + 3 * 1_000_000_000) == 6103.25


def test_two_days_settle_each_and_give_a_daily_sharpe() -> None:
    from datetime import date

    from pmbot.backtest.tape import concat

    days = [synthetic_day(SynthConfig(seed=s, day=d, start_s=23_100, end_s=23_400))
            for s, d in ((1, date(2026, 6, 9)), (2, date(2026, 6, 10)))]  # fmt: skip
    tape = concat(*days)
    assert len(tape.markets) == 60 and len(tape) == sum(len(d) for d in days)
    s = summarize(Runner(tape, strategy_quoter("pmbot"), RunConfig()).run(), "pmbot")
    assert [x["event"] for x in s["settlements"]] == ["KXINX-26JUN09SYN", "KXINX-26JUN10SYN"]
    assert sorted(s["daily"]["pnl"]) == ["2026-06-09", "2026-06-10"]
    assert "sharpe_annualised" in s["daily"]


def test_a_sweep_refuses_a_config_that_runs_from_the_bots_settings(tmp_path: Path, capsys) -> None:
    """The grid varies [params] keys, which a run from `[run] settings` ignores: its ranked
    rows would describe another bot than the one `pmbot backtest` reports on."""
    from pmbot.cli import main

    (tmp_path / "bot.toml").write_text("")
    cfg = tmp_path / "bt.toml"
    cfg.write_text(
        'strategies = ["pmbot"]\n[data]\nkind = "synthetic"\nend_s = 60\n'
        '[run]\nsettings = "bot.toml"\n[sweep]\nedge = [50, 100]\n'
    )
    assert main(["backtest", str(cfg), "--sweep", "--no-progress"]) == 2
    assert "remove `settings` to sweep" in capsys.readouterr().err
