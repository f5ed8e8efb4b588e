"""`pmbot run`: the bot. With no config it starts the embedded Kalshi simulator (paper trading)."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
from typing import Any

from pmbot.errors import ConfigError
from pmbot.logs import setup_logging
from pmbot.settings import Secrets, load_settings

HELP = "run the market maker (default: on the embedded Kalshi simulator)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", "-c", help="TOML config file (see config/example.toml)")
    p.add_argument("--venue", choices=["kalshi", "polymarket"], help="venue (default kalshi)")
    p.add_argument(
        "--env",
        choices=["sim", "demo", "prod"],
        help="venue environment (default sim; Polymarket: sim or prod)",
    )
    p.add_argument(
        "--rest-url", help="custom REST base URL, e.g. an external simulator (Polymarket: CLOB)"
    )
    p.add_argument("--ws-url", help="custom WebSocket URL")
    p.add_argument(
        "--live", action="store_true", help="confirm trading on a real venue (demo/prod)"
    )
    p.add_argument("--duration", type=_positive, help="stop after this many (simulated) seconds")
    p.add_argument(
        "--speed",
        type=_positive,
        help="embedded Kalshi simulator: simulated seconds per real second",
    )
    p.add_argument("--seed", type=int, help="embedded simulator seed")
    p.add_argument("--strategy", choices=["pmbot", "baseline"], help="strategy (default pmbot)")
    p.add_argument("--summary-json", help="write the end-of-run summary here as JSON")
    p.add_argument(
        "--record",
        help="record the WS stream and index feed into this directory for replay (Kalshi)",
    )
    p.add_argument(
        "--no-dashboard", action="store_true", help="plain log output instead of the dashboard"
    )
    p.add_argument("--ledger", help="ledger SQLite path (overrides ledger.path)")
    p.add_argument(
        "--compare",
        action="store_true",
        help="embedded Kalshi simulator: run pmbot's strategy then the baseline with the same "
        "seed (informed flow) and print PnL per contract, spread capture and markouts for both",
    )
    p.add_argument(
        "--metrics-port",
        type=int,
        help="serve Prometheus metrics on this port (enables [metrics]; 0 = any free port; Kalshi)",
    )


def overrides(args: argparse.Namespace) -> dict[str, Any]:
    o: dict[str, dict[str, Any]] = {}

    def put(section: str, key: str, value: Any) -> None:
        if value is not None:
            o.setdefault(section, {})[key] = value

    put("bot", "venue", args.venue)
    venue = "polymarket" if args.venue == "polymarket" else "kalshi"
    put(venue, "env", args.env)  # polymarket.env rejects "demo" (exit 2)
    put(venue, "rest_url" if venue == "kalshi" else "clob_url", args.rest_url)
    put(venue, "ws_url", args.ws_url)
    if args.rest_url and not args.env:
        put(venue, "env", "sim")
    if args.live:
        put("bot", "live", True)
    put("sim", "speed", args.speed)
    put("sim", "seed", args.seed)
    put("strategy", "kind", args.strategy)
    put("ledger", "path", args.ledger)
    if args.no_dashboard:
        put("bot", "dashboard", False)
    if getattr(args, "metrics_port", None) is not None:
        put("metrics", "enabled", True)
        put("metrics", "port", args.metrics_port)
    return o


def main(args: argparse.Namespace) -> int:
    settings = load_settings(args.config, os.environ, overrides(args))
    if args.summary_json and not os.path.isdir(os.path.dirname(os.path.abspath(args.summary_json))):
        # refused now, not after the run (its summary would be neither written nor printed)
        raise ConfigError("--summary-json", f"no such directory for {args.summary_json}")
    if settings.bot.venue == "polymarket":
        # flags the Polymarket run does not serve: refused rather than silently ignored
        if args.speed is not None:  # its embedded simulator runs on the wall clock
            raise ConfigError("--speed", "the Polymarket simulator runs in real time (Kalshi only)")
        for flag, given in (
            ("--record", bool(args.record)),
            ("--compare", bool(getattr(args, "compare", False))),
        ):
            if given:
                raise ConfigError(flag, "not served on Polymarket yet (Kalshi only)")
        if settings.metrics.enabled:  # from [metrics] enabled or --metrics-port
            flag = "--metrics-port" if args.metrics_port is not None else "metrics.enabled"
            raise ConfigError(flag, "not served on Polymarket yet (Kalshi only)")
    dashboard = settings.bot.dashboard and not args.no_dashboard
    setup_logging(
        settings.logging.file,
        settings.logging.level,
        console=settings.logging.console and not dashboard,
        secrets=Secrets(os.environ).values(),
        max_bytes=int(settings.logging.max_mb * 1_000_000),
        backups=settings.logging.backups,
    )
    if settings.bot.venue == "polymarket":
        from pmbot.app_polymarket import run_polymarket

        return run_polymarket(settings, args)
    if getattr(args, "compare", False):
        return _compare(settings, args)
    from pmbot.app import BotApp, RunOptions

    metrics = recorder = None
    if settings.metrics.enabled:
        from pmbot.metrics import BotMetrics

        metrics = BotMetrics(settings.metrics.host, settings.metrics.port)
    if args.record:
        from pmbot.record import LiveRecorder

        recorder = LiveRecorder(args.record)
    app = BotApp(
        settings,
        Secrets(os.environ),
        RunOptions(
            duration_s=args.duration,
            summary_json=args.summary_json,
            record=args.record,
            dashboard=dashboard,
        ),
        metrics=metrics,
        recorder=recorder,
    )
    result = asyncio.run(app.run())
    if dashboard:
        print()  # the dashboard's last frame ends without a newline
    print(json.dumps(result.summary, indent=2))
    return 0 if result.clean_shutdown else 1


def _compare(settings: Any, args: argparse.Namespace) -> int:
    import tempfile
    from pathlib import Path

    from pmbot.app import _sim_start_ns
    from pmbot.compare import compare, comparison_dict, print_comparison
    from pmbot.errors import ConfigError

    if settings.kalshi.env != "sim" or settings.kalshi.rest_url:
        raise ConfigError("compare", "--compare runs on the embedded simulator only")
    speed = args.speed if args.speed is not None else 20.0
    duration = args.duration if args.duration is not None else 600.0
    # the two runs' ledgers are scratch (each on its own fresh simulator): gone afterwards
    with tempfile.TemporaryDirectory(prefix="pmbot-compare-") as tmp:
        results = asyncio.run(
            compare(
                settings,
                duration_s=duration,
                speed=speed,
                seed=settings.sim.seed,
                start_ns=_sim_start_ns(settings.sim.start),
                workdir=Path(tmp),
            )
        )
    print_comparison(results)
    if args.summary_json:
        Path(args.summary_json).write_text(
            json.dumps(comparison_dict(results), indent=2, default=str), encoding="utf-8"
        )
    return 0


def _positive(text: str) -> float:
    """A finite number > 0 (argparse turns the ValueError into a usage error, exit 2)."""
    v = float(text)
    if not (math.isfinite(v) and v > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number > 0")
    return v
