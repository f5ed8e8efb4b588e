"""The Polymarket run against an external simulator URL: the heartbeat kill switch clears
our orders when the bot is killed (`pmbot run` in a subprocess, SIGKILL), and a restart on
the same ledger settles the dead run's orders (by their hashes) before it quotes again."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from eth_account import Account
from test_app_polymarket import until

from pmbot.app import RunOptions
from pmbot.app_polymarket import PolyBotApp
from pmbot.app_polymarket_parts import demo_markets
from pmbot.core.orders import OrderStatus
from pmbot.settings import Secrets, load_settings
from pmbot.sim.polymarket_house import House
from pmbot.sim.polymarket_server import PolySim
from pmbot.store.ledger import Ledger


async def test_heartbeat_cancels_after_a_crash_and_restart_reconciles(tmp_path: Path):
    sim = PolySim(demo_markets(), heartbeat_timeout=1.0)
    await sim.start()
    house = House(sim)
    for cid in sim.markets:
        await house.requote(cid, 5000)
    key = Account.create().key.hex()
    ledger = tmp_path / "pm.sqlite3"
    cfg = {
        "bot": {"venue": "polymarket", "dashboard": False},
        "polymarket": {"clob_url": sim.url, "markets": list(sim.markets), "heartbeat_s": 0.3},
        "ledger": {"path": str(ledger)},
        "logging": {"file": None},
    }
    s = load_settings(None, environ={}, overrides=cfg)
    secrets = Secrets({"PMBOT_POLY_PRIVATE_KEY": key})
    opts = RunOptions(duration_s=30, dashboard=False, install_signal_handlers=False)
    env = {
        **os.environ,
        "PMBOT_POLY_PRIVATE_KEY": key,
        "PMBOT__POLYMARKET__MARKETS": "[" + ",".join(f'"{m}"' for m in sim.markets) + "]",
        "PMBOT__POLYMARKET__HEARTBEAT_S": "0.3",
        "PMBOT__LOGGING__FILE": "",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from pmbot.cli import main; raise SystemExit(main())",
        "run",
        "--venue",
        "polymarket",
        "--rest-url",
        sim.url,
        "--no-dashboard",
        "--ledger",
        str(ledger),
        env=env,
        cwd=str(tmp_path),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=(tmp_path / "run.err").open("wb"),
    )
    try:
        try:
            await until(lambda: any(len(sim.engine.live(k)) == 4 for k in sim.keys), timeout=30)
        except AssertionError:
            raise AssertionError((tmp_path / "run.err").read_text()[-3000:]) from None
        (me,) = [k for k in sim.keys if sim.engine.live(k)]
        first = {o.id for o in sim.engine.live(me)}
        proc.kill()  # kill -9: no shutdown, no cancel, the heartbeat just stops
        await proc.wait()
        assert {o.id for o in sim.engine.live(me)} == first
        await until(lambda: sim.engine.live(me) == [], timeout=5)  # the venue's kill switch

        again = PolyBotApp(s, secrets, opts)
        run2 = asyncio.create_task(again.run())
        # quoting resumes once every order the dead run left is settled; a create it had in
        # flight when killed (no hash in the ledger) is settled after the reconcile grace
        await until(lambda: len(sim.engine.live(me)) == 4, timeout=20)
        assert not first & {o.id for o in sim.engine.live(me)}
        rep = again.om.last_report
        assert rep is not None and rep.ok
        again.request_stop("test done")
        result = await asyncio.wait_for(run2, 10)  # a stop is prompt (no lost cancellation)
        assert result.clean_shutdown and sim.engine.live(me) == []
        assert again.ledger_path == str(ledger)  # `--ledger` as given (it gained a suffix)
        with Ledger(again.ledger_path) as led:
            assert led.live_orders() == []
            for oid in first:  # the dead run's orders, settled by their hashes
                (st,) = led.db.execute(
                    "SELECT status FROM orders WHERE order_id=?", (oid,)
                ).fetchone()
                assert st == OrderStatus.CANCELED.value
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await sim.aclose()
