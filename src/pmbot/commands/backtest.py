"""`pmbot backtest CONFIG`: replay a tape through pmbot's strategy and the baseline."""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path
from typing import Any

HELP = "backtest the strategy (and the baseline) on a recorded or synthetic tape; sweeps"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="backtest TOML file (see pmbot.backtest.config)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    p.add_argument("--html", help="write the HTML report here (overrides [report] html)")
    p.add_argument("--sweep", action="store_true", help="run the [sweep] grid instead")
    p.add_argument("--workers", type=int, help="sweep processes (default: [sweep] workers or CPUs)")
    p.add_argument(
        "--ray",
        dest="ray_address",
        help="run the sweep on Ray: local (a private instance), auto or ray://head:10001",
    )
    p.add_argument("--save-tape", help="also write the input tape as .npz here")
    p.add_argument("--no-progress", action="store_true")


def _tape(cfg: Any, progress: bool) -> Any:
    from pmbot.backtest.recorder import load_tape
    from pmbot.backtest.sources import sim_day, synthetic_day
    from pmbot.backtest.tape import replace_index

    if cfg.data["kind"] == "recording":
        tape = load_tape(Path(cfg.base_dir) / cfg.data["path"])
    elif cfg.data["kind"] == "sim":
        sc = cfg.synth()
        tape = sim_day(sc.seed, sc.day, sc.start_s, sc.end_s, level=sc.level, vol=sc.vol)
    else:
        tape = synthetic_day(cfg.synth())
    if cfg.data.get("index_csv"):
        tape = replace_index(tape, str(Path(cfg.base_dir) / cfg.data["index_csv"]))
    return tape


def main(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from pmbot.backtest.config import load_config
    from pmbot.backtest.metrics import summarize
    from pmbot.backtest.quoting import settings_quoter, strategy_quoter
    from pmbot.backtest.recorder import save_npz
    from pmbot.backtest.report import html_report, ranked_table, summary_table, to_json
    from pmbot.backtest.runner import Runner

    logging.getLogger("pmbot.risk").setLevel(logging.ERROR)  # transitions are in the report
    cfg = load_config(args.config)
    err = Console(stderr=True)
    out = Console()
    show = not args.no_progress and not args.json
    tape = _tape(cfg, show)
    if args.save_tape:
        save_npz(tape, args.save_tape)
    err.print(
        f"tape: {len(tape):,} events {tape.counts()} markets={len(tape.markets)} source={tape.source}"
    )
    if args.sweep:
        from pmbot.backtest.sweep import sweep

        if not cfg.sweep:
            err.print("[red]config has no [sweep] grid[/red]")
            return 2
        if cfg.settings:  # the grid varies [params]; a settings run ignores them
            err.print("[red][run] settings: a sweep varies [params] and [limits] keys, which a "
                      "run from the bot's settings ignores; remove `settings` to sweep[/red]")  # fmt: skip
            return 2
        with tempfile.TemporaryDirectory() as d:
            path = str(Path(d) / "tape.npz")
            save_npz(tape, path)
            with Progress(TextColumn("sweep"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                          TimeElapsedColumn(), console=err, disable=not show) as prog:  # fmt: skip
                task = prog.add_task("sweep", total=1)

                def done(i: int, n: int) -> None:
                    prog.update(task, completed=i, total=n)

                rows = sweep(path, cfg.sweep_strategy, cfg.params, cfg.sweep, cfg.limits, cfg.run,
                             workers=args.workers or cfg.workers, ray_address=args.ray_address or cfg.ray_address,
                             rank_by=cfg.rank_by, on_done=done)  # fmt: skip
        if args.json:
            print(to_json([{"params": r["params"], "summary": r["summary"]} for r in rows]))
        else:
            out.print(ranked_table(rows, cfg.rank_by))
        return 0
    run_cfg = cfg.run
    if cfg.settings:  # the bot's own settings: pricing as `pmbot run` (app_parts.fair_model)
        import dataclasses
        import os

        from pmbot.settings import load_settings

        st = load_settings(cfg.settings, os.environ)
        pr = st.pricing
        run_cfg = dataclasses.replace(run_cfg, shape=pr.shape, k=pr.k, vix=pr.vix,
                                      realised_blend=pr.realised_blend,
                                      select_band=st.markets.band_points,
                                      select_max=st.markets.max_markets)  # fmt: skip
    runs = []
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeElapsedColumn(), console=err, disable=not show) as prog:  # fmt: skip
        for name in cfg.strategies:
            task = prog.add_task(name, total=len(tape))

            def tick(i: int, n: int, task: Any = task) -> None:
                prog.update(task, completed=i)

            q = (settings_quoter(name, cfg.settings) if cfg.settings
                 else strategy_quoter(name, cfg.params, cfg.limits))  # fmt: skip
            j = Runner(tape, q, run_cfg).run(tick)
            runs.append((summarize(j, name), j))
    sums = [s for s, _ in runs]
    if args.json:
        print(to_json(sums if len(sums) > 1 else sums[0]))
    else:
        out.print(summary_table(sums))
    html_path = args.html or cfg.report.get("html")
    if html_path:
        Path(html_path).write_text(html_report(runs), encoding="utf-8")
        err.print(f"report: {html_path}")
    if cfg.report.get("json"):
        Path(cfg.report["json"]).write_text(to_json(sums), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(argparse.Namespace()))
