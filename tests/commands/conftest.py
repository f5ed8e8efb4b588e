"""Run operator commands in-process against the loopback simulator (no subprocess, no sleeps)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from pmbot.cli import build_parser


@pytest.fixture
def cmd_args(sim: Any, tmp_path: Any) -> Callable[..., Any]:
    """argv -> parsed args pointing at the `sim` fixture (endpoints, key dir, ledger path)."""

    def make(*argv: str, ledger: bool = False) -> Any:
        base = [
            "--rest-url",
            sim.rest_url,
            "--ws-url",
            sim.ws_url,
            "--key-dir",
            str(sim.private_key_path.parent),
        ]
        return build_parser().parse_args([argv[0], *base, *argv[1:]])

    return make


def last_json(out: str) -> Any:
    return json.loads(out[out.index("{") :])


@pytest.fixture
async def venue(sim: Any) -> Any:
    """A second client of the same account (places the orders the commands must find)."""
    from pmbot.venues.kalshi.signing import KalshiSigner
    from pmbot.venues.kalshi.urls import resolve_urls
    from pmbot.venues.kalshi.venue import KalshiVenue

    v = KalshiVenue(
        resolve_urls("sim", sim.rest_url, sim.ws_url),
        KalshiSigner.from_pem(sim.key_id, sim.private_key_pem),
        lambda e: None,
        configure_limits=False,
    )
    await v.start()
    yield v
    await v.aclose()


@pytest.fixture
async def bot_ledger(sim: Any, venue: Any, tmp_path: Any) -> Any:
    """An OrderManager on the simulator with a real ledger: two quotes, one of them filled.

    Returns (ledger_path, order_manager, taker_venue); the ledger agrees with the venue.
    """
    from pmbot.core.orders import Side
    from pmbot.core.state import TradingState
    from pmbot.execution.order_manager import OrderManager
    from pmbot.store.ledger import Ledger
    from pmbot.strategy.inputs import DesiredQuote
    from pmbot.venues.kalshi.port import KalshiPort
    from pmbot.venues.kalshi.signing import KalshiSigner
    from pmbot.venues.kalshi.urls import resolve_urls
    from pmbot.venues.kalshi.venue import KalshiVenue

    path = tmp_path / "ledger.sqlite3"
    ledger = Ledger(path).open()
    state = TradingState()
    om = OrderManager(KalshiPort(venue), state, ledger, sim.clock)
    assert (await om.start()).ok
    specs = sorted(await venue.load_markets("KXINX"), key=lambda m: m.ticker)
    a, b = specs[3].ticker, specs[4].ticker
    await om.sync([DesiredQuote(a, Side.BID, 4000, 500), DesiredQuote(b, Side.ASK, 6000, 300)])
    key = sim.add_key("taker")
    taker = KalshiVenue(
        resolve_urls("sim", sim.rest_url, sim.ws_url),
        KalshiSigner.from_pem(key.key_id, key.private_pem),
        lambda e: None,
        configure_limits=False,
    )
    await taker.start()
    await taker.place(a, Side.ASK, 4000, 200, post_only=False)  # fills 2 of our 5
    await sim.step(1)
    rep = await om.reconcile()  # backfills the fill (no WebSocket here)
    assert rep.ok and len(rep.backfill) == 1
    yield str(path), om, taker
    await taker.aclose()
    ledger.close()
