"""The backtest config file (TOML): data, run model, strategies, sweep grid, report.

Unknown keys are rejected and every error names its field (`ConfigError`). Example:

    [data]
    kind = "synthetic"        # synthetic | sim (the simulator's flow) | recording (dir or .npz)
    seed = 1
    end_s = 23400             # seconds after the 09:30 open (synthetic)
    # path = "rec/2026-06-09" # kind = "recording"
    # index_csv = "spx.csv"   # optional: replace the tape's index with a CSV of ts_ms,level

    [run]
    entry_latency_ms = 25     # or rtt_file = "rtts.txt" (measured round trips, ms per line)
    md_latency_ms = 10
    cancel_model = "prorata"  # prorata | back | front
    requote_min_ms = 100
    # rate_limit = [100, 100]  # write tokens/s and bucket size (Kalshi basic); calls wait
    vol = 0.16
    vol = 0.16                # the index's vol: VIX = 100 vol, k = 1; or set vix and k
    shape = "t6"              # normal | t4 | t6 ...
    # settings = "bot.toml"   # build strategy, risk gate, guards and fair model from the
    #                         # bot's own settings, as `pmbot run` does ([params]/[limits] ignored)
    seed = 0

    strategies = ["pmbot", "baseline"]   # top level

    [params]                  # strategy.params.QuoteParams overrides
    edge = 100
    [limits]                  # risk.limits.RiskLimits overrides
    max_position = 10000

    [sweep]                   # a grid over [params] and [limits] keys, on the same tape
    edge = [50, 100, 200]
    risk_aversion = [0.001, 0.002]
    # rank_by = "pnl.total"; workers = 2; ray_address = "ray://head:10001"

    [report]
    html = "backtest.html"
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from pmbot.backtest.runner import RunConfig
from pmbot.backtest.sources import SynthConfig
from pmbot.errors import ConfigError

__all__ = ["BacktestConfig", "load_config", "parse_config"]

_DATA = {"kind", "path", "seed", "start_s", "end_s", "index_csv", "n_buckets", "level", "vol",
         "churn_per_s", "noise_per_s", "refresh_s", "half_spread", "day"}  # fmt: skip
_RUN = {"entry_latency_ms", "md_latency_ms", "rtt_file", "md_rtt_file", "cancel_model",
        "requote_min_ms", "requote_on_book", "sample_s", "vol", "vix", "k", "shape",
        "realised_blend", "seed", "horizons_s", "settings", "rate_limit"}  # fmt: skip
_SWEEP_META = {"rank_by", "workers", "ray_address", "strategy"}
_TOP = {"data", "run", "strategies", "params", "limits", "sweep", "report"}


@dataclass
class BacktestConfig:
    data: dict[str, Any] = field(default_factory=lambda: {"kind": "synthetic"})
    run: RunConfig = field(default_factory=RunConfig)
    strategies: list[str] = field(default_factory=lambda: ["pmbot", "baseline"])
    params: dict[str, Any] = field(default_factory=dict)
    limits: dict[str, Any] = field(default_factory=dict)
    sweep: dict[str, list[Any]] = field(default_factory=dict)
    rank_by: str = "pnl.total"
    workers: int = 0  # 0: one per CPU
    ray_address: str = ""
    sweep_strategy: str = "pmbot"
    report: dict[str, str] = field(default_factory=dict)
    base_dir: str = "."
    settings: str = (
        ""  # a bot TOML: strategy/risk/guards/pricing exactly as `pmbot run` builds them
    )

    def synth(self) -> SynthConfig:
        from datetime import date

        d = self.data
        kw: dict[str, Any] = {k: d[k] for k in ("seed", "start_s", "end_s", "n_buckets", "level", "vol",
                                                "churn_per_s", "noise_per_s", "refresh_s", "half_spread") if k in d}  # fmt: skip
        if "day" in d:
            kw["day"] = date.fromisoformat(str(d["day"]))
        return SynthConfig(**kw)


def _check(section: str, got: dict[str, Any], allowed: set[str]) -> None:
    for k in got:
        if k not in allowed:
            raise ConfigError(
                f"{section}.{k}" if section else k,
                f"unknown key (allowed: {', '.join(sorted(allowed))})",
            )


def parse_config(raw: dict[str, Any], base_dir: str = ".") -> BacktestConfig:
    _check("", raw, _TOP)
    c = BacktestConfig(base_dir=base_dir)
    data = dict(raw.get("data", {}))
    _check("data", data, _DATA)
    data.setdefault("kind", "synthetic")
    if data["kind"] not in ("synthetic", "sim", "recording"):
        raise ConfigError("data.kind", "must be synthetic, sim or recording")
    if data["kind"] == "recording" and "path" not in data:
        raise ConfigError("data.path", "required when data.kind = recording")
    start, end = data.get("start_s", 0), data.get("end_s", 23_400)
    if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= 23_400):
        raise ConfigError(
            "data.end_s" if "end_s" in data else "data.start_s",
            "seconds after the 09:30 open: 0 <= start_s < end_s <= 23400",
        )
    c.data = data
    r = dict(raw.get("run", {}))
    _check("run", r, _RUN)
    entry: Any = (
        {"rtt_file": str(Path(base_dir) / r["rtt_file"])}
        if "rtt_file" in r
        else float(r.get("entry_latency_ms", 25))
    )
    md: Any = (
        {"rtt_file": str(Path(base_dir) / r["md_rtt_file"])}
        if "md_rtt_file" in r
        else float(r.get("md_latency_ms", 10))
    )
    if r.get("cancel_model", "prorata") not in ("prorata", "back", "front"):
        raise ConfigError("run.cancel_model", "must be prorata, back or front")
    try:
        c.run = RunConfig(
            entry_latency=entry, md_latency=md, cancel_model=str(r.get("cancel_model", "prorata")),
            requote_min_ns=int(float(r.get("requote_min_ms", 100)) * 1e6),
            requote_on_book=bool(r.get("requote_on_book", True)),
            sample_ns=int(float(r.get("sample_s", 10)) * 1e9), vol=float(r.get("vol", 0.16)),
            shape=str(r.get("shape", "t6")), seed=int(r.get("seed", 0)),
            vix=None if "vix" not in r else float(r["vix"]), k=None if "k" not in r else float(r["k"]),
            realised_blend=bool(r.get("realised_blend", True)),
            rate_limit=None if "rate_limit" not in r else (float(r["rate_limit"][0]), float(r["rate_limit"][1])),
            horizons_s=tuple(int(x) for x in r.get("horizons_s", (1, 10, 60, 300))),
        )  # fmt: skip
    except (TypeError, ValueError) as e:
        raise ConfigError("run", str(e)) from e
    if "settings" in r:
        c.settings = str(Path(base_dir) / str(r["settings"]))
    strategies = raw.get("strategies", ["pmbot", "baseline"])
    if (
        not isinstance(strategies, list)
        or not strategies
        or any(s not in ("pmbot", "baseline") for s in strategies)
    ):
        raise ConfigError("strategies", "a non-empty list of pmbot / baseline")
    c.strategies = [str(s) for s in strategies]
    c.params = dict(raw.get("params", {}))
    c.limits = dict(raw.get("limits", {}))
    qp_keys, rl_keys = param_keys()
    _check("params", c.params, qp_keys)
    _check("limits", c.limits, rl_keys)
    sw = dict(raw.get("sweep", {}))
    c.rank_by = str(sw.pop("rank_by", "pnl.total"))
    c.workers = int(sw.pop("workers", 0))
    c.ray_address = str(sw.pop("ray_address", ""))
    c.sweep_strategy = str(sw.pop("strategy", "pmbot"))
    _check("sweep", sw, qp_keys | rl_keys)
    for k, v in sw.items():
        if not isinstance(v, list) or not v:
            raise ConfigError(f"sweep.{k}", "must be a non-empty list of values")
    c.sweep = sw
    rep = dict(raw.get("report", {}))
    _check("report", rep, {"html", "json"})
    c.report = {k: str(v) for k, v in rep.items()}
    return c


def param_keys() -> tuple[set[str], set[str]]:
    """The keys [params] (QuoteParams) and [limits] (RiskLimits) take; a sweep takes both."""
    from pmbot.risk.limits import RiskLimits
    from pmbot.strategy.params import QuoteParams

    return {f.name for f in fields(QuoteParams)}, {f.name for f in fields(RiskLimits)}


def load_config(path: str) -> BacktestConfig:
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("config", f"no such file: {path}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError("config", f"{path}: {e}") from None
    return parse_config(raw, str(p.parent))
