from __future__ import annotations

from rich.console import Console

from pmbot.dashboard import DashboardView, MarketRow, render


def test_render_shows_what_matters() -> None:
    v = DashboardView(
        now_ns=1_795_000_000_000_000_000,
        venue="kalshi-sim",
        event_ticker="KXINX-26NOV24H1600",
        index_level=6612.25,
        index_age_s=0.4,
        vol_label="VIX 15.2 (k 0.70)",
        risk_state="REDUCING",
        risk_reason="event loss near limit",
        guards=["book_stale:B6612"],
        connections={"kalshi.ws": True},
        api_budget="read 180/200 write 95/100",
        rows=[
            MarketRow(
                "KXINX-26NOV24H1600-B6612",
                "6600-6624.99",
                0.4123,
                4000,
                4300,
                (4000, 500),
                None,
                -300,
            )
        ],
        pnl={"spread": 1_250_000, "inventory": -300_000, "fees": -17_500, "total": 932_500},
        fills=3,
        volume=700,
    )
    c = Console(record=True, width=140)
    c.print(render(v))
    out = c.export_text()
    for s in (
        "6,612.25",
        "REDUCING",
        "B6612",
        "0.412",
        ".4000 x5.00",
        "-3.00",
        "+0.9325",
        "book_stale",
        "kalshi.ws:up",
    ):
        assert s in out, s
    assert "vol VIX" not in out  # the label names itself ("vol vol 16.0" before)


def test_no_index_label_for_venues_without_an_index() -> None:
    v = DashboardView(
        now_ns=1_795_000_000_000_000_000,
        venue="polymarket-sim",
        event_ticker="2 markets",
        index_level=None,
        index_age_s=None,
        vol_label="voided 1 confirmed 9",
        risk_state="ACTIVE",
        risk_reason="",
        index_label="",
    )
    c = Console(record=True, width=140)
    c.print(render(v))
    out = c.export_text()
    assert "S&P" not in out and "voided 1 confirmed 9" in out and "vol voided" not in out


def test_a_polymarket_condition_id_is_shortened() -> None:
    cid = "0x" + "1a2b" + "0" * 56 + "9f3e"
    v = DashboardView(
        now_ns=1_795_000_000_000_000_000,
        venue="polymarket-sim",
        event_ticker="1 market",
        index_level=None,
        index_age_s=None,
        vol_label="",
        risk_state="ACTIVE",
        risk_reason="",
        index_label="",
        rows=[MarketRow(cid, "tick 0.01", 0.5, 4900, 5100, None, None, 0)],
    )
    c = Console(record=True, width=100)
    c.print(render(v))
    out = c.export_text()
    assert "0x1a2b…9f3e" in out and cid not in out and "tick 0.01" in out
    assert ".4900" in out and ".5100" in out  # the prices still fit beside it
