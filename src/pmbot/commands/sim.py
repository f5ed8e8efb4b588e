"""`pmbot sim`: run the Kalshi exchange simulator on loopback.

Contract (scripts rely on it): `pmbot sim --host H --port P --seed N --speed X --keys DIR`
writes DIR/key_id and DIR/private_key.pem (mode 600), prints `ready rest=URL ws=URL` once
listening, and exits 0 on SIGTERM/SIGINT after closing every connection.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from pmbot.errors import ConfigError

HELP = "run the Kalshi exchange simulator (REST + WebSocket) on loopback"

__all__ = ["HELP", "add_arguments", "main"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second")
    p.add_argument("--keys", metavar="DIR", help="write key_id and private_key.pem here")
    p.add_argument(
        "--start",
        help="simulated start time, ISO 8601 (default: now in an NYSE session, else the "
        "next session's open + 5 min)",
    )
    p.add_argument("--balance", default="10000.0000", help="member balance in dollars")
    p.add_argument(
        "--tier", default="basic", help="rate-limit tier (basic, advanced, ..., prestige)"
    )
    p.add_argument("--no-rate-limits", action="store_true")
    p.add_argument(
        "--no-flow", action="store_true", help="no background makers/noise/informed traders"
    )
    p.add_argument(
        "--index-csv", help="replay the index from a ts_ms,level CSV instead of synthesizing it"
    )
    p.add_argument("--index-level", type=float, default=7650.0)
    p.add_argument(
        "--faults", help='initial fault switches as JSON, e.g. \'{"http_429": 3, "skip_seq": 1}\''
    )


async def _run(args: argparse.Namespace) -> int:
    from datetime import datetime

    from pmbot.sim.flow import FlowConfig
    from pmbot.sim.kalshi_auth import TIERS, write_key
    from pmbot.sim.kalshi_server import KalshiSim, SimConfig

    if args.speed <= 0:
        raise ConfigError("speed", "must be positive")
    if args.tier not in TIERS:
        raise ConfigError("tier", f"one of {sorted(TIERS)}")
    start_ns = None
    if args.start:
        try:
            start_ns = int(datetime.fromisoformat(args.start).timestamp() * 1e9)
        except ValueError as e:
            raise ConfigError("start", str(e)) from None
    if start_ns is None:
        # as the embedded simulator: now in an NYSE session, else the next one's open (+5 min),
        # so a bot pointed at it finds open markets to quote at any hour
        from pmbot.app import _sim_start_ns

        start_ns = _sim_start_ns(None) or int(datetime.now().timestamp() * 1e9)
    faults = None
    if args.faults:
        import json

        from pmbot.sim.faults import Faults

        try:
            faults = Faults(**json.loads(args.faults))
        except (ValueError, TypeError) as e:
            raise ConfigError("faults", str(e)) from None
    cfg = SimConfig(
        seed=args.seed,
        speed=args.speed,
        start_ns=start_ns,
        balance=args.balance,
        tier=args.tier,
        rate_limits=not args.no_rate_limits,
        flow=None if args.no_flow else FlowConfig(),
        index_level=args.index_level,
        index_csv=args.index_csv,
        faults=faults,
    )
    sim = KalshiSim(cfg)
    if args.keys:
        write_key(sim.key, args.keys)
    try:
        rest, ws = await sim.start(args.host, args.port)
    except OSError as e:
        print(f"cannot listen on {args.host}:{args.port}: {e}", file=sys.stderr)
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"ready rest={rest} ws={ws}", flush=True)
    if args.keys:
        print(f"keys dir={args.keys} key_id={sim.key_id}", flush=True)
    try:
        await stop.wait()
    finally:
        await sim.stop()
    return 0


def main(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    return asyncio.run(_run(args))
