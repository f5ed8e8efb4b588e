"""The bot as a separate process, SIGKILLed at seeded random points and restarted, then
SIGTERMed; judged by the same invariants (tests/chaos/invariants.py)."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

from pmbot.settings import load_settings
from pmbot.sim.flow import FlowConfig
from pmbot.sim.kalshi_auth import write_key
from pmbot.sim.kalshi_server import KalshiSim, SimConfig

from .invariants import Probe, Run, check
from .report import TOTALS
from .runner import START, _until

__all__ = ["run_kills"]


def _bot(tmp: Path, sim: KalshiSim, keydir: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update(
        {
            "PMBOT_KALSHI_KEY_ID": sim.key_id,
            "PMBOT_KALSHI_PRIVATE_KEY_PATH": str(keydir / "private_key.pem"),
            "PMBOT__LOGGING__CONSOLE": "false",
            "PMBOT__LOGGING__FILE": str(tmp / "trading.log"),
            "PMBOT__BOT__RECONCILE_INTERVAL_S": "5",
        }
    )
    cmd = [sys.executable, "-m", "pmbot.cli", "run", "--rest-url", sim.rest_url]
    cmd += ["--ws-url", sim.ws_url, "--ledger", str(tmp / "ledger.sqlite3"), "--no-dashboard"]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def _wait_exit(p: subprocess.Popen[bytes], timeout: float) -> int:
    loop = asyncio.get_running_loop()
    return await asyncio.wait_for(loop.run_in_executor(None, p.wait), timeout)


async def run_kills(tmp: Path, *, seed: int, kills: int, speed: float = 10.0) -> Run:
    rng = random.Random(seed)
    sim = KalshiSim(
        SimConfig(seed=seed, speed=speed, start_ns=START, flow=FlowConfig(), tier="basic")
    )
    await sim.start()
    keydir = tmp / "keys"
    write_key(sim.key, keydir)
    user = sim.key.user
    name = f"sigkill_x{kills}_seed{seed}"
    run = Run(name, sim, user, tmp / "ledger.sqlite3", load_settings(None, environ={}))
    bot = None
    try:
        for i in range(kills + 1):
            n = len(sim.exchange.order_log)
            bot = _bot(tmp, sim, keydir)
            await _until(
                lambda n=n: (
                    any(e.op == "create" for e in list(sim.exchange.order_log)[n:])
                    and bool(sim.exchange.engine.resting(user))
                ),
                90,
                "quotes of the new process",
            )
            run.probes.append(Probe.take(run, f"run {i} quoting"))
            if i == kills:
                break
            # a seeded random point: mid-sync, mid-reconcile, between quotes
            await asyncio.sleep(rng.uniform(0.0, 4.0))
            bot.send_signal(signal.SIGKILL)
            assert await _wait_exit(bot, 10) == -signal.SIGKILL
            TOTALS.faults["sigkill"] += 1
            run.probes.append(Probe.take(run, f"killed {i}"))
        await asyncio.sleep(rng.uniform(1.0, 3.0))
        run.probes.append(Probe.take(run, "before SIGTERM"))
        assert bot is not None
        bot.send_signal(signal.SIGTERM)
        rc = await _wait_exit(bot, 60)
        run.clean_shutdown = rc == 0
        if rc != 0 and bot.stderr is not None:
            run.summary["stderr"] = bot.stderr.read().decode()[-2000:]
    finally:
        if bot is not None and bot.poll() is None:
            bot.kill()
        await sim.stop()
    check(run)
    TOTALS.scenarios.append(name)
    return run
