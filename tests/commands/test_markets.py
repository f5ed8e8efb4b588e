from __future__ import annotations

from typing import Any

from pmbot.commands import markets
from pmbot.core.orders import Side

from .conftest import last_json

ENV: dict[str, str] = {}


async def test_markets_json_lists_next_ladders_with_fair_value(
    sim: Any, cmd_args: Any, venue: Any, capsys: Any
) -> None:
    specs = await venue.load_markets("KXINX")
    first = min(specs, key=lambda m: (m.close_ts_ns, m.ticker))
    await venue.place(first.ticker, Side.BID, 1200, 300)
    rc = await markets.amain(cmd_args("markets", "--json"), ENV)
    assert rc == 0
    out = last_json(capsys.readouterr().out)
    level = sim.index.level_at(sim.clock.now_ns() // 10**9 * 10**9) / 1e4
    assert abs(out["index"] - level) < 50
    series = {e["event_ticker"].split("-")[0] for e in out["events"]}
    assert series == {"KXINX", "KXINXU"}
    for e in out["events"]:
        fairs = [m["fair"] for m in e["markets"] if m["fair"] is not None]
        assert fairs and all(0.0 <= f <= 1.0 for f in fairs)
    inx = next(e for e in out["events"] if e["event_ticker"].startswith("KXINX-"))
    # the KXINX ladder partitions the outcomes: its fair values sum to one
    assert abs(sum(m["fair"] for m in inx["markets"]) - 1.0) < 2e-3
    ours = next(m for e in out["events"] for m in e["markets"] if m["ticker"] == first.ticker)
    assert ours["yes_bid"] == "0.1200"


async def test_markets_table_and_band(sim: Any, cmd_args: Any, capsys: Any) -> None:
    rc = await markets.amain(cmd_args("markets", "--series", "KXINX", "--band", "60"), ENV)
    assert rc == 0
    text = capsys.readouterr().out
    assert "KXINX-" in text and "fair" in text


async def test_an_unknown_event_is_said_not_silent(sim: Any, cmd_args: Any, capsys: Any) -> None:
    rc = await markets.amain(cmd_args("markets", "--event", "KXINX-NOPE"), ENV)
    assert rc == 1 and "no open event KXINX-NOPE" in capsys.readouterr().out


async def test_a_market_we_cannot_price_is_skipped_not_fatal(
    sim: Any, cmd_args: Any, capsys: Any, monkeypatch: Any
) -> None:
    """A market of a strike type pmbot does not price (`structured`) is named on stderr and
    left out; the command used to end on the first one with a ProtocolViolation."""
    import pmbot.sim.kalshi_rest as rest

    odd = min(t for t, m in sim.exchange.markets.items() if m.series_ticker == "KXINX")
    real = rest.market_json

    def market_json(m: Any, book: Any) -> dict[str, Any]:
        d = real(m, book)
        return {**d, "strike_type": "structured"} if m.ticker == odd else d

    monkeypatch.setattr(rest, "market_json", market_json)
    rc = await markets.amain(cmd_args("markets", "--series", "KXINX", "--json"), ENV)
    cap = capsys.readouterr()
    assert rc == 0 and f"skipped {odd}" in cap.err
    listed = {m["ticker"] for e in last_json(cap.out)["events"] for m in e["markets"]}
    assert listed and odd not in listed
