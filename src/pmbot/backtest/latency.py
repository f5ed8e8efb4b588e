"""Latency models: how long an order takes to reach the exchange, and data to reach us.

`Constant(ms)` for sweeps and tests; `Empirical(rtts_ms)` draws one-way delays as half of a
measured round-trip time, sampled with the run's seeded `random.Random`, so a run stays
deterministic for its seed. RTTs can come from the bot's own logs or a benchmark file
(one number of milliseconds per line).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

__all__ = ["Constant", "Empirical", "LatencyModel", "latency_from_config"]

_MS = 1_000_000


class LatencyModel(Protocol):
    def sample_ns(self) -> int: ...


class Constant:
    def __init__(self, ms: float) -> None:
        if ms < 0:
            raise ValueError("latency must be >= 0")
        self.ns = round(ms * _MS)

    def sample_ns(self) -> int:
        return self.ns

    def __repr__(self) -> str:
        return f"Constant({self.ns / _MS:g} ms)"


class Empirical:
    """One-way delay = RTT / 2 for an RTT drawn uniformly from the measured samples."""

    def __init__(self, rtts_ms: Sequence[float], rng: random.Random) -> None:
        if not rtts_ms:
            raise ValueError("need at least one RTT sample")
        self.half_ns = [round(r * _MS / 2) for r in rtts_ms]
        self.rng = rng

    def sample_ns(self) -> int:
        h = self.half_ns
        return h[int(self.rng.random() * len(h))]

    def __repr__(self) -> str:
        s = sorted(self.half_ns)
        return f"Empirical(n={len(s)}, median one-way {s[len(s) // 2] / _MS:g} ms)"


def latency_from_config(
    cfg: float | Mapping[str, object] | None, rng: random.Random
) -> LatencyModel:
    """`25` or {"ms": 25} -> Constant; {"rtts_ms": [...]} or {"rtt_file": path} -> Empirical."""
    if cfg is None:
        return Constant(0)
    if isinstance(cfg, int | float):
        return Constant(float(cfg))
    if "ms" in cfg:
        return Constant(float(cfg["ms"]))  # type: ignore[arg-type]
    if "rtts_ms" in cfg:
        return Empirical([float(x) for x in cfg["rtts_ms"]], rng)  # type: ignore[attr-defined]
    if "rtt_file" in cfg:
        text = Path(str(cfg["rtt_file"])).read_text()
        vals = [float(x) for x in text.split() if x.strip()]
        return Empirical(vals, rng)
    raise ValueError(f"latency config {dict(cfg)!r}: use ms, rtts_ms or rtt_file")
