"""The Polymarket run's glue: embedded exchange, dashboard view, summary (as app_parts.py).

`pmbot run --venue polymarket` with no URL starts `PolySim` in-process on an ephemeral
loopback port with two demo markets, a house that keeps a resting ladder around a
random-walking price and sends seeded taker flow (so the bot's quotes get filled), a trade
lifecycle slow enough to watch (MATCHED -> MINED -> CONFIRMED over `sim_confirm_s`), and
every `sim_fail_every_s` one of the bot's trades that FAILS (its transfers reversed by the
venue, its fill rolled back by the bot).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Coroutine
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pmbot.core.money import ONE, fmt_fixed, fmt_money
from pmbot.core.orders import OrderStatus
from pmbot.dashboard import DashboardView, MarketRow
from pmbot.errors import ConfigError, VenueError
from pmbot.settings import PolymarketSettings, Secrets, Settings
from pmbot.venues.polymarket.http import PolyHttp
from pmbot.venues.polymarket.signing import ApiCreds, OrderSigner, SignatureType

if TYPE_CHECKING:
    from pmbot.app_polymarket import PolyBotApp
    from pmbot.sim.polymarket_house import House
    from pmbot.sim.polymarket_server import PolySim

__all__ = [
    "dashboard_loop",
    "dashboard_view",
    "demo_markets",
    "house_tasks",
    "market_ids",
    "start_embedded_sim",
    "summary",
    "wallet",
]


def demo_markets() -> list[Any]:
    from pmbot.sim.polymarket_views import SimMarket

    return [
        SimMarket(
            "0x" + "5a" * 32,
            "7001",
            "7002",
            question="Will the simulated event happen?",
            slug="sim-event-a",
            fee_rate_bps=400,
        ),
        SimMarket(
            "0x" + "5b" * 32,
            "7003",
            "7004",
            question="Will the other simulated event happen?",
            slug="sim-event-b",
            gamma_id="2",
        ),
    ]


async def start_embedded_sim(
    s: Settings, stack: contextlib.AsyncExitStack, **kw: Any
) -> tuple[PolySim, House]:
    """Start the simulator (closed by `stack`) and its house account."""
    from pmbot.sim.polymarket_house import House
    from pmbot.sim.polymarket_server import PolySim

    half = s.polymarket.sim_confirm_s / 2
    kw.setdefault("mined_delay", half)
    kw.setdefault("confirmed_delay", half)
    markets = kw.pop("markets", None) or demo_markets()
    sim = PolySim(markets, **kw)
    await sim.start(s.sim.host, s.sim.port)
    stack.push_async_callback(sim.aclose)
    house = House(sim)
    for cid in sim.markets:
        await house.requote(cid, 5000)
    return sim, house


def house_tasks(app: PolyBotApp) -> list[Coroutine[Any, Any, None]]:
    """The embedded sim's background flow, run in the app's TaskGroup."""
    ps, seed = app.ps, app.s.sim.seed
    house = app.house
    out = [
        house.run_maker(random.Random(seed), every=2.0),
        house.run_flow(random.Random(seed + 1), rate_hz=ps.sim_flow_hz, max_shares=12),
    ]
    if ps.sim_fail_every_s > 0:
        out.append(_fail_trades(app, ps.sim_fail_every_s))
    return out


async def _fail_trades(app: PolyBotApp, every: float) -> None:
    """Make one of the bot's own trades FAIL every `every` seconds (the next one it makes)."""
    creds = app.venue.http.creds if app.venue is not None else None
    app.sim.faults.fail_owner = creds.api_key if creds is not None else None
    while True:
        await app.sim.clock.sleep(every)
        app.sim.faults.fail_trades = 1


async def market_ids(ps: PolymarketSettings, http: PolyHttp, sim: Any) -> list[str]:
    """Configured condition ids (slugs resolved through Gamma), else the simulator's
    (embedded, or an external one's open markets as its Gamma lists them)."""
    want = list(ps.markets)
    if not want:
        if sim is not None:
            return list(sim.markets)
        if ps.env == "sim":
            listed = await http.gamma_markets(active="true", closed="false")
            if listed:
                return [g.conditionId for g in listed if g.enableOrderBook]
        raise ConfigError("polymarket.markets", "name at least one market to quote")
    out = []
    for w in want:
        if w.startswith("0x"):
            out.append(w)
            continue
        found = await http.gamma_markets(slug=w)
        if not found:
            raise ConfigError("polymarket.markets", f"no market with slug {w!r}")
        out.append(found[0].conditionId)
    return out


def wallet(sec: Secrets, env: str) -> tuple[OrderSigner, ApiCreds | None]:
    """The order signer (and API creds if given) from the environment; on the simulator a
    fresh paper-trading key when none is set (the simulator funds every new wallet)."""
    try:
        return _wallet(sec, env)
    except ConfigError:
        raise
    except (ValueError, TypeError, OSError) as e:  # a bad key, type or secret: no key material
        raise ConfigError(
            "credentials", f"Polymarket credentials refused: {type(e).__name__}"
        ) from None


def _wallet(sec: Secrets, env: str) -> tuple[OrderSigner, ApiCreds | None]:
    key = sec.poly_private_key()
    if key is None:
        if env != "sim":
            raise ConfigError(
                "credentials",
                "Polymarket private key not set (PMBOT_POLY_PRIVATE_KEY or "
                "PMBOT_POLY_PRIVATE_KEY_PATH)",
            )
        from eth_account import Account

        key = Account.create().key.hex()
    st = int(sec.get("PMBOT_POLY_SIGNATURE_TYPE") or 0)
    signer = OrderSigner(key, signature_type=SignatureType(st), funder=sec.get("PMBOT_POLY_FUNDER"))
    parts = [sec.get(f"PMBOT_POLY_API_{n}") for n in ("KEY", "SECRET", "PASSPHRASE")]
    creds = ApiCreds(*parts) if all(parts) else None  # type: ignore[arg-type]
    if creds is not None:
        import base64

        base64.urlsafe_b64decode(creds.secret)  # the HMAC key: refused now, not at first use
    return signer, creds


async def dashboard_loop(app: PolyBotApp) -> None:
    from rich.console import Console
    from rich.live import Live

    from pmbot.dashboard import render

    try:
        with Live(console=Console(), refresh_per_second=4, transient=False) as live:
            while True:
                live.update(render(dashboard_view(app)))
                await asyncio.sleep(0.25)
    except (BrokenPipeError, SystemExit):  # stdout's reader gone: never skip the shutdown
        logging.getLogger("pmbot.app").warning("dashboard: stdout closed, no more frames")


def dashboard_view(app: PolyBotApp) -> DashboardView:
    st = app.state
    now = app.clock.now_ns()
    live = st.live_orders()
    rows = []
    for m in app.markets:
        b = st.books.get(m.ticker)
        ours_b = [
            (o.price, o.remaining) for o in live if o.ticker == m.ticker and o.side.value == "bid"
        ]
        ours_a = [
            (o.price, o.remaining) for o in live if o.ticker == m.ticker and o.side.value == "ask"
        ]
        f = app.fairs.get(m.ticker)
        rows.append(
            MarketRow(
                m.ticker,
                f"tick {Decimal(m.grid.ranges[0].step) / ONE}",
                None if f is None else f.fair.get(m.ticker),
                None if b is None else b.yes_bid_price(),
                None if b is None else b.yes_ask_price(),
                max(ours_b) if ours_b else None,
                min(ours_a) if ours_a else None,
                st.position(m.ticker),
            )
        )
    ds = list(app.decisions.values())
    worst = max(ds, key=lambda d: d.risk.state) if ds else None
    return DashboardView(
        now_ns=now,
        venue=f"polymarket-{app.ps.env}",
        event_ticker=f"{len(app.markets)} markets, fair={app.ps.fair_value}",
        index_level=None,
        index_age_s=None,
        vol_label=f"voided {len(app.voided)} confirmed {app.confirmed}",
        risk_state=worst.risk.state.name if worst is not None else "STARTING",
        risk_reason=worst.risk.reason if worst is not None else "",
        guards=[
            f"{t[:8]}:{r}"
            for d in ds
            for t, (stt, r) in d.risk.market_states.items()
            if stt.name != "ACTIVE"
        ][:6],
        connections=dict(st.connections),
        rows=rows,
        pnl=app.acct.split(st, None),
        fills=app.acct.fills,
        volume=app.acct.volume,
        orders_live=len(live),
        index_label="",
    )


async def _wallet_view(self: PolyBotApp) -> dict[str, Any]:
    """What the wallet holds, beside Accounting's figures. `cash_paid` is the cash in the
    net positions (a short YES counted as the NO it holds); the wallet also paid $1 for
    each YES+NO pair it holds (`locked_pairs`: an ask that bought NO while YES was held, or
    the reverse), back only by a merge or at resolution, neither of which the bot does. So
    with no tokens at the start and every trade mined, pusd_spent = cash_paid + pairs."""
    port = self.port
    assert port is not None
    try:
        now = await port.get_balance()
        tokens = {}
        pairs = 0
        for cid, m in self.infos.items():
            yes = await port.http.balance("CONDITIONAL", m.yes_token)
            no = await port.http.balance("CONDITIONAL", m.no_token)
            tokens[cid] = {"yes": fmt_fixed(yes, 6), "no": fmt_fixed(no, 6)}
            pairs += min(yes, no)
    except VenueError as e:
        return {"error": str(e)}
    start = self.pusd_start
    feed = self.venue.user_feed if self.venue is not None else None
    # trades matched but not mined when the wallet was read: the balances do not show them
    unmined = 0 if feed is None else len(feed.stream.unsettled_keys())
    note = "pusd_spent = cash_paid + locked_pairs x $1 (no tokens at start, all mined)"
    if unmined:
        note += f"; does not hold here: {unmined} fill(s) not mined when the wallet was read"
    return {
        "pusd_start": None if start is None else fmt_money(start),
        "pusd_now": fmt_money(now),
        "pusd_spent": None if start is None else fmt_money(start - now),
        "tokens": tokens,
        "locked_pairs": fmt_fixed(pairs, 6),
        "unmined_fills": unmined,
        "note": note,
    }


async def summary(self: PolyBotApp, wall_s: float) -> dict[str, Any]:
    """Accounting's summary plus the Polymarket specifics: lifecycle, dust, what rests."""
    out = await self.acct.summary(self, wall_s)  # type: ignore[arg-type]
    out["venue"] = "polymarket"
    out["event"] = ""
    out["markets"] = [m.ticker for m in self.markets]
    out["fair_value"] = self.ps.fair_value
    out["fair"] = {t: round(f.fair[t], 4) for t, f in self.fairs.items()}
    led = self.ledger
    assert led is not None and self.om is not None and self.port is not None
    out["fill_lifecycle"] = {
        "fills_booked": led.fill_count(),
        "voided": len(self.voided),
        "confirmed": self.confirmed,
        "ledger_status": led.fill_status_counts(),
    }
    feed = self.venue.user_feed if self.venue is not None else None
    if feed is not None:
        out["unbooked_dust_shares"] = {
            t[:12]: {k: v / 1e6 for k, v in feed.stream.dust(t).items()} for t in self.infos
        }
    try:
        left = await self.port.list_orders(status=OrderStatus.RESTING)
        out["open_orders_after_shutdown"] = len(left)
    except VenueError as e:
        out["open_orders_after_shutdown"] = f"unknown: {e}"
    out["wallet"] = await _wallet_view(self)
    out["quote_passes"] = self.quote_passes
    out["rejects"] = dict(self.om.stats.rejects)
    if self.sim is not None:
        out["sim"] = {
            "trades": len(self.sim.trades),
            "failed_trades": sum(1 for t in self.sim.trades.values() if t.status == "FAILED"),
        }
    out["pnl_total"] = out["pnl"]["total"] if "pnl" in out else fmt_money(0)
    return out
