"""Shared benchmark helpers: median timing and the one output format every script uses.

Each figure is printed as a line of text, or with `--json` as one JSON object per line:
{"name", "value", "unit", "baseline", "baseline_value", "ratio"}; ratio = baseline/value for
times (higher is better for us) and value/baseline for rates.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

__all__ = ["Reporter", "median_ns_per_op", "parse_args"]


def parse_args(
    description: str, extra: Callable[[argparse.ArgumentParser], None] | None = None
) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--json", action="store_true", help="one JSON object per figure")
    p.add_argument("--repeat", type=int, default=7, help="timing repeats (median is reported)")
    if extra:
        extra(p)
    return p.parse_args()


def median_ns_per_op(
    fn: Callable[[], object], ops_per_call: int, repeat: int = 7, min_time: float = 0.2
) -> float:
    """Median over `repeat` runs of ns per op; each run loops `fn` for at least `min_time` s."""
    fn()  # warm up
    samples = []
    for _ in range(repeat):
        n = 0
        t0 = time.perf_counter_ns()
        while True:
            fn()
            n += 1
            el = time.perf_counter_ns() - t0
            if el >= min_time * 1e9:
                break
        samples.append(el / (n * ops_per_call))
    return statistics.median(samples)


class Reporter:
    """Prints figures as text or JSON lines."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    def figure(
        self,
        name: str,
        value: float,
        unit: str,
        baseline: str | None = None,
        baseline_value: float | None = None,
        *,
        higher_is_better: bool = False,
    ) -> None:
        ratio = None
        if baseline_value is not None and value:
            ratio = value / baseline_value if higher_is_better else baseline_value / value
        if self.as_json:
            print(
                json.dumps(
                    {
                        "name": name,
                        "value": round(value, 3),
                        "unit": unit,
                        "baseline": baseline,
                        "baseline_value": None
                        if baseline_value is None
                        else round(baseline_value, 3),
                        "ratio": None if ratio is None else round(ratio, 2),
                    }
                )
            )
        else:
            line = f"{name}: {_num(value)} {unit}"
            if baseline_value is not None:
                r = "n/a" if ratio is None else _num(ratio)
                line += f"  | baseline {baseline}: {_num(baseline_value)} {unit}  | ratio {r}x"
            print(line)


def _num(v: float) -> str:
    """One decimal, or three significant digits below 1 (0.033 must not print as 0.0)."""
    return f"{v:,.1f}" if abs(v) >= 1 or v == 0 else f"{v:.3g}"
