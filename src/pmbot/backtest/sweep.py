"""Parameter sweeps: the same tape, a grid of strategy parameters and risk limits (the keys
of [params] and [limits]), one result row each.

Embarrassingly parallel: `concurrent.futures.ProcessPoolExecutor` on one machine by
default, Ray tasks when a cluster address is given (`ray` is imported only then, from the
optional extra `pip install 'pmbot[ray]'`; the tape file must be readable by every worker,
e.g. on a shared disk). `--ray local` starts a private Ray instance on this machine for the
sweep and stops it afterwards; `--ray auto` or `ray://head:10001` join a running cluster.
No scheduler of our own. Rows come back ranked by one summary field (descending), ties by
grid order; a row is the same bytes whichever way it was computed (tested).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from pmbot.backtest.config import param_keys
from pmbot.backtest.metrics import summarize
from pmbot.backtest.quoting import strategy_quoter
from pmbot.backtest.recorder import load_tape
from pmbot.backtest.runner import RunConfig, Runner
from pmbot.errors import ConfigError

__all__ = ["grid", "rank", "run_one", "sweep"]


def grid(axes: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    keys = sorted(axes)
    return [
        dict(zip(keys, vals, strict=True)) for vals in itertools.product(*(axes[k] for k in keys))
    ]


def run_one(tape_path: str, strategy: str, params: dict[str, Any], limits: dict[str, Any],
            cfg: RunConfig) -> dict[str, Any]:  # fmt: skip
    """One backtest from a tape file (a top-level function so workers can pickle it)."""
    tape = load_tape(tape_path)
    j = Runner(tape, strategy_quoter(strategy, params, limits), cfg).run()
    return summarize(j, strategy)


def _get(d: Any, path: str) -> Any:
    for k in path.split("."):
        d = d.get(k) if isinstance(d, dict) else None
    return d


def rank(rows: list[dict[str, Any]], rank_by: str) -> list[dict[str, Any]]:
    def key(ir: tuple[int, dict[str, Any]]) -> tuple[int, float, int]:
        v = _get(ir[1]["summary"], rank_by)
        return (0, -float(v), ir[0]) if isinstance(v, int | float) else (1, 0.0, ir[0])

    return [r for _, r in sorted(enumerate(rows), key=key)]


def sweep(tape_path: str, strategy: str, base_params: dict[str, Any], axes: Mapping[str, Sequence[Any]],
          limits: dict[str, Any], cfg: RunConfig, *, workers: int = 0, ray_address: str = "",
          rank_by: str = "pnl.total", on_done: Callable[[int, int], None] | None = None) -> list[dict[str, Any]]:  # fmt: skip
    points = grid(axes)
    qp_keys, rl_keys = param_keys()  # a point's keys go to QuoteParams, RiskLimits or both
    runs = [
        (
            {**base_params, **{k: v for k, v in p.items() if k in qp_keys}},
            {**limits, **{k: v for k, v in p.items() if k in rl_keys}},
        )
        for p in points
    ]
    results: list[dict[str, Any] | None] = [None] * len(points)
    if ray_address:
        try:
            import ray  # optional dependency: pip install 'pmbot[ray]'
        except ImportError:
            raise ConfigError(
                "--ray", "Ray is not installed: pip install 'pmbot[ray]' (or sweep without --ray)"
            ) from None

        started = not ray.is_initialized()  # leave a connection the caller made alone
        ray.init(address=ray_address, ignore_reinit_error=True)
        try:
            remote = ray.remote(run_one)
            refs = [remote.remote(tape_path, strategy, p, lim, cfg) for p, lim in runs]
            for i, ref in enumerate(refs):
                results[i] = ray.get(ref)
                if on_done:
                    on_done(i + 1, len(points))
        finally:
            if started:
                ray.shutdown()  # with "local", this stops the instance ray.init started
    else:
        n = workers or max(1, os.cpu_count() or 1)
        with ProcessPoolExecutor(max_workers=min(n, len(points))) as ex:
            futs = [ex.submit(run_one, tape_path, strategy, p, lim, cfg) for p, lim in runs]
            for i, fu in enumerate(futs):
                results[i] = fu.result()
                if on_done:
                    on_done(i + 1, len(points))
    rows = [{"params": points[i], "summary": results[i]} for i in range(len(points))]
    return rank(rows, rank_by)
