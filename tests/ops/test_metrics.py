"""Scrape the Prometheus endpoint of a running bot on loopback."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from pmbot.app import BotApp, RunOptions
from pmbot.metrics import BotMetrics
from pmbot.settings import Secrets
from pmbot.sim.flow import FlowConfig
from pmbot.sim.kalshi_server import KalshiSim, SimConfig

from .conftest import START, settings, until

pytestmark = pytest.mark.slow


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


async def test_metrics_endpoint_scraped_during_run(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.INFO, logger="pmbot.metrics")
    sim = KalshiSim(SimConfig(seed=5, speed=30.0, start_ns=START, flow=FlowConfig()))
    await sim.start()
    metrics = BotMetrics("127.0.0.1", 0)
    app = BotApp(
        settings(tmp_path),
        Secrets({}),
        RunOptions(duration_s=150, dashboard=False, install_signal_handlers=False),
        sim=sim,
        metrics=metrics,
    )
    try:
        task = asyncio.create_task(app.run())
        await until(lambda: app.acct.fills > 0 or task.done(), 20, "a fill")
        assert not task.done()
        # with port 0 the log is the only place that tells where to scrape
        assert f"metrics url={metrics.url}" in caplog.text and ":0/" not in metrics.url
        async with aiohttp.ClientSession() as s, s.get(metrics.url) as r:
            assert r.status == 200
            text = await r.text()
        res = await task
    finally:
        await sim.stop()
    m = _samples(text)
    names = {k[0] for k in m}
    for want in (
        "pmbot_fills_total",
        "pmbot_order_writes_total",
        "pmbot_order_latency_seconds_count",
        "pmbot_pnl_dollars",
        "pmbot_api_tokens",
        "pmbot_api_tokens_capacity",
        "pmbot_connection_up",
        "pmbot_live_orders",
        "pmbot_quote_updates_total",
        "pmbot_index_level",
    ):
        assert want in names, want
    assert m[("pmbot_fills_total", ())] >= 1
    creates = sum(v for (n, lab), v in m.items() if n == "pmbot_order_latency_seconds_count")
    assert creates >= 1
    # the level goes below zero while calls wait for tokens (the bucket lends, then sleeps)
    assert (
        m[("pmbot_api_tokens", (("bucket", "write"),))]
        <= m[("pmbot_api_tokens_capacity", (("bucket", "write"),))]
    )
    assert any(v == 1.0 for (n, _), v in m.items() if n == "pmbot_connection_up")
    assert set(k[1][0][1] for k in m if k[0] == "pmbot_pnl_dollars") == {
        "spread", "inventory", "fees", "total",
    }  # fmt: skip
    assert res.clean_shutdown
    assert metrics._runner is None  # the endpoint closed with the run
