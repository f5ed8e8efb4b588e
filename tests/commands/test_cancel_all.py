from __future__ import annotations

from typing import Any

from pmbot.commands import cancel_all
from pmbot.core.orders import Side

from .conftest import last_json

ENV: dict[str, str] = {}


async def _place(venue: Any, n: int) -> list[str]:
    specs = sorted(await venue.load_markets("KXINX"), key=lambda m: m.ticker)
    ids = []
    for i in range(n):
        m = specs[i % len(specs)]
        u = await venue.place(
            m.ticker, Side.BID if i % 2 else Side.ASK, 300 if i % 2 else 9700, 100
        )
        ids.append(u.order_id)
    return ids


async def test_cancel_all_cancels_and_verifies(
    sim: Any, venue: Any, cmd_args: Any, capsys: Any
) -> None:
    await _place(venue, 7)
    assert len(await venue.orders(status="resting")) == 7
    rc = await cancel_all.amain(cmd_args("cancel-all", "--json"), ENV)
    out = last_json(capsys.readouterr().out)
    assert rc == 0 and out["confirmed"] is True
    assert out["resting_before"] == 7 and out["canceled"] == 7
    assert await venue.orders(status="resting") == []


async def test_cancel_all_nothing_resting(sim: Any, cmd_args: Any, capsys: Any) -> None:
    rc = await cancel_all.amain(cmd_args("cancel-all"), ENV)
    assert rc == 0
    assert "confirmed" in capsys.readouterr().out


async def test_cancel_all_not_confirmed_exits_nonzero(
    sim: Any, venue: Any, cmd_args: Any, capsys: Any
) -> None:
    await _place(venue, 2)
    sim.faults.http_5xx = 10_000  # the venue cannot be reached after the key check
    try:
        rc = await cancel_all.amain(
            cmd_args("cancel-all", "--timeout", "0", "--retry", "0", "--max-retries", "0"), ENV
        )
    finally:
        sim.faults.http_5xx = 0
    assert rc == 1
    assert "NOT CONFIRMED" in capsys.readouterr().err
    assert len(await venue.orders(status="resting")) == 2
