"""`pmbot markets`: the S&P ladders (KXINX / KXINXU) with our fair value next to the market.

The index level comes from the simulator's `/sim/index` endpoint when talking to a simulator,
else from Yahoo (^GSPC, ^VIX via yfinance), unless `--index`/`--vix` are given. Fair values
are `pricing.model.FairValueModel` (VIX x k on the NYSE variance clock, t shape); on the
simulator k = 1 because its synthetic index has no volatility risk premium.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pmbot.commands._common import (
    add_endpoint_arguments,
    console,
    emit_json,
    open_venue,
    settings_from_args,
)
from pmbot.errors import ProtocolViolation

__all__ = ["HELP", "add_arguments", "amain", "main"]

HELP = "list the S&P ladders (KXINX/KXINXU) with fair value next to the market's bid/ask"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_endpoint_arguments(p)
    p.add_argument(
        "--series", action="append", help="series ticker (repeatable; default KXINX and KXINXU)"
    )
    p.add_argument("--event", help="only this event ticker")
    p.add_argument("--all-events", action="store_true", help="every open event, not the next")
    p.add_argument("--band", type=float, help="only markets within this many index points")
    p.add_argument("--index", type=float, help="index level to price at (default: live)")
    p.add_argument("--vix", type=float, help="implied vol in VIX points (default: live/config)")


def main(args: argparse.Namespace) -> int:
    return asyncio.run(amain(args, os.environ))


async def _sim_index(rest_url: str) -> tuple[int, float]:
    import aiohttp

    from pmbot.feeds.sim import parse_sim_index

    base = rest_url.split("/trade-api")[0].rstrip("/")
    async with aiohttp.ClientSession() as s, s.get(base + "/sim/index") as r:
        r.raise_for_status()
        return parse_sim_index(await r.json())


def _yahoo() -> tuple[int, float, float | None]:
    from pmbot.clock import LiveClock
    from pmbot.feeds.yahoo import YahooFeed

    f = YahooFeed(LiveClock())
    ts, level = f._fetch_latest("^GSPC")
    try:
        vix: float | None = f._fetch_latest("^VIX")[1]
    except Exception:
        vix = None
    return ts, level, vix


async def amain(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from pmbot.core.money import fmt_price
    from pmbot.pricing.calendar import TradingCalendar
    from pmbot.pricing.ladder import Shape
    from pmbot.pricing.model import FairValueModel
    from pmbot.strategy.selection import distance_to_strike
    from pmbot.venues.kalshi import convert

    s = settings_from_args(args, environ)
    on_sim = s.kalshi.env == "sim"
    series_list = args.series or ["KXINX", "KXINXU"]
    async with open_venue(s, environ, args.max_retries) as venue:
        vix = args.vix
        if args.index is not None:
            now_ns, level = time.time_ns(), float(args.index)
        elif on_sim:
            now_ns, level = await _sim_index(venue.urls.rest)
        else:
            now_ns, level, live_vix = await asyncio.to_thread(_yahoo)
            vix = vix if vix is not None else live_vix
        if on_sim and args.index is not None:
            now_ns = (await _sim_index(venue.urls.rest))[0]
        vix = vix if vix is not None else s.pricing.vix
        rows: list[tuple[Any, Any]] = []  # (spec, wire market)
        for series in series_list:
            ms = [
                m
                for m in await venue.http.markets(series_ticker=series, status="open")
                if not args.event or m.event_ticker == args.event
            ]
            sr = await venue.http.series(series)
            fees = await venue.event_fees(sr, {m.event_ticker for m in ms})
            for m in ms:
                try:
                    rows.append((convert.market_spec(m, fees[m.event_ticker], series), m))
                except ProtocolViolation as err:  # a strike type we do not price: skip, say so
                    print(f"skipped {m.ticker}: {err}", file=sys.stderr)
    d = datetime.fromtimestamp(now_ns / 1e9, tz=UTC).date()
    cal = TradingCalendar.nyse(str(d - timedelta(days=10)), str(d + timedelta(days=20)))
    shape = (
        Shape.normal()
        if s.pricing.shape == "normal"
        else Shape.student_t(float(s.pricing.shape[1:]))
    )
    model = FairValueModel(cal, k=1.0 if on_sim else s.pricing.k, shape=shape, prior_strength=None)
    by_event: dict[str, list[tuple[Any, Any]]] = {}
    for spec, m in rows:
        if spec.close_ts_ns > now_ns:
            by_event.setdefault(spec.event_ticker, []).append((spec, m))
    events = sorted(by_event, key=lambda e: (min(sp.close_ts_ns for sp, _ in by_event[e]), e))
    if not args.all_events and not args.event:
        # the next event of each series
        seen: set[str] = set()
        keep = []
        for e in events:
            ser = by_event[e][0][0].series_ticker
            if ser not in seen:
                seen.add(ser)
                keep.append(e)
        events = keep
    out: dict[str, Any] = {
        "index": level,
        "index_ts_ns": now_ns,
        "vix": vix,
        "k": model.k,
        "events": [],
    }
    for e in events:
        lst = by_event[e]
        specs = [sp for sp, _ in lst]
        fv = model.fair_value(e, specs, now_ns, level, vix)
        mkts = []
        for sp, m in sorted(lst, key=lambda r: (r[0].floor_strike or -1e18, r[0].ticker)):
            dist = distance_to_strike(sp, level)
            if args.band is not None and dist > args.band:
                continue
            f = fv.fair.get(sp.ticker)
            bid = convert._price(m.yes_bid_dollars, "yes_bid") if m.yes_bid_dollars else 0
            ask = convert._price(m.yes_ask_dollars, "yes_ask") if m.yes_ask_dollars else 0
            mkts.append(
                {
                    "ticker": sp.ticker,
                    "strike": _label(sp),
                    "fair": None if f is None or not math.isfinite(f) else round(f, 4),
                    "yes_bid": fmt_price(bid) if bid else None,
                    "yes_ask": fmt_price(ask) if 0 < ask < 10_000 else None,
                    "edge_bid": None if f is None or not bid else round(f - bid / 1e4, 4),
                    "edge_ask": None
                    if f is None or not 0 < ask < 10_000
                    else round(ask / 1e4 - f, 4),
                    "volume": m.volume_fp,
                    "distance": round(dist, 2),
                }
            )
        out["events"].append(
            {
                "event_ticker": e,
                "close": datetime.fromtimestamp(specs[0].close_ts_ns / 1e9, tz=UTC).isoformat(),
                "sigma_points": round(fv.sigma, 2),
                "markets": mkts,
            }
        )
    if args.json:
        emit_json(out)
    else:
        _print(out)
        if not out["events"]:
            what = f"event {args.event}" if args.event else "event of these series"
            console().print(f"no open {what} (markets open at 03:10 ET for the 16:00 close)")
    return 1 if args.event and not out["events"] else 0


def _label(m: Any) -> str:
    from pmbot.app_parts import market_label

    return market_label(m)


def _print(out: dict[str, Any]) -> None:
    from rich.table import Table

    c = console()
    c.print(
        f"index [bold]{out['index']:,.2f}[/bold] vix {out['vix']:.1f} k {out['k']:.2f} "
        f"at {datetime.fromtimestamp(out['index_ts_ns'] / 1e9, tz=UTC):%Y-%m-%d %H:%M:%S} UTC"
    )
    for e in out["events"]:
        t = Table(title=f"{e['event_ticker']}  close {e['close']}  σ {e['sigma_points']} pts")
        for col in ("ticker", "strike", "fair", "bid", "ask", "fair-bid", "ask-fair", "volume"):
            t.add_column(col, justify="left" if col in ("ticker", "strike") else "right")
        for m in e["markets"]:
            t.add_row(
                m["ticker"].rsplit("-", 1)[-1],
                m["strike"],
                "-" if m["fair"] is None else f"{m['fair']:.4f}",
                m["yes_bid"] or "-",
                m["yes_ask"] or "-",
                "-" if m["edge_bid"] is None else f"{m['edge_bid']:+.4f}",
                "-" if m["edge_ask"] is None else f"{m['edge_ask']:+.4f}",
                m["volume"],
            )
        c.print(t)
