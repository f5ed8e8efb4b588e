"""Prometheus metrics for a bot run (optional: `[metrics] enabled = true`, host, port).

Pull model: almost every figure is read from the running app at scrape time (one collector
over TradingState, the OrderManager's counters, the accounting and the HTTP client's token
buckets), so the hot path pays nothing. The one exception is order latency, which must be
observed when it happens: `wrap_port` puts a timing shim around the venue port (the
OrderManager sees the same `VenuePort`).

The endpoint is served by aiohttp on the app's own loop (no thread, no global registry):
GET http://HOST:PORT/metrics. Port 0 picks a free port (`url` tells which).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

__all__ = ["BotMetrics", "MeteredPort"]

log = logging.getLogger("pmbot.metrics")

_LATENCY_BUCKETS = (
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0,
)  # fmt: skip


class BotMetrics:
    """One run's registry and endpoint. Constructor does no I/O; `attach(app)` starts serving."""

    def __init__(self, host: str = "127.0.0.1", port: int = 9108) -> None:
        self.host, self.port = host, port
        self.registry = CollectorRegistry(auto_describe=True)
        self.latency = Histogram(
            "pmbot_order_latency_seconds",
            "Round trip of order write calls (request sent -> venue answer), by call",
            ["call"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.call_errors = Counter(
            "pmbot_order_call_errors",
            "Order write calls that raised, by call and error class",
            ["call", "error"],
            registry=self.registry,
        )
        self._runner: web.AppRunner | None = None
        self.url = ""

    def wrap_port(self, port: Any) -> MeteredPort:
        return MeteredPort(port, self)

    async def attach(self, app: Any) -> None:
        """Collect from `app` (a BotApp) and start the HTTP endpoint."""
        self.registry.register(AppCollector(app))
        await self.start()

    async def start(self) -> None:
        web_app = web.Application()
        web_app.router.add_get("/metrics", self._handle)
        self._runner = web.AppRunner(web_app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        sock = site._server.sockets[0]  # type: ignore[union-attr]
        self.port = sock.getsockname()[1]
        self.url = f"http://{self.host}:{self.port}/metrics"
        log.info("metrics url=%s", self.url)  # with port 0, the only place it is told

    async def aclose(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.Response:
        body = generate_latest(self.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


class MeteredPort:
    """A VenuePort that times every order write call (reads pass straight through)."""

    _TIMED = ("create_order", "batch_create", "cancel", "batch_cancel", "amend", "decrease")

    def __init__(self, port: Any, metrics: BotMetrics) -> None:
        self._port = port
        self._m = metrics
        for name in self._TIMED:
            setattr(self, name, self._timed(name, getattr(port, name)))

    def _timed(self, name: str, fn: Any) -> Any:
        hist = self._m.latency.labels(name)

        async def call(*a: Any, **kw: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return await fn(*a, **kw)
            except Exception as e:
                self._m.call_errors.labels(name, type(e).__name__).inc()
                raise
            finally:
                hist.observe(time.perf_counter() - t0)

        return call

    def __getattr__(self, name: str) -> Any:
        return getattr(self._port, name)

    @property
    def max_batch_create(self) -> int:
        return int(self._port.max_batch_create)

    @property
    def max_batch_cancel(self) -> int:
        return int(self._port.max_batch_cancel)


def _gauge(name: str, doc: str, value: float, labels: Sequence[str] = ()) -> GaugeMetricFamily:
    g = GaugeMetricFamily(name, doc, labels=list(labels) or None)
    if not labels:
        g.add_metric([], value)
    return g


class AppCollector(Collector):
    """Reads the app's state at scrape time."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        app = self.app
        st = app.state
        om = app.om
        live = st.live_orders()
        g = GaugeMetricFamily("pmbot_live_orders", "Our orders live or pending", labels=["side"])
        for side in ("bid", "ask"):
            g.add_metric([side], sum(1 for o in live if o.side.value == side))
        yield g
        yield _gauge("pmbot_quoted_markets", "Markets selected for quoting", len(app.quotable))
        if om is not None:
            stats = om.stats
            yield _counter("pmbot_syncs", "Quote syncs (desired vs live)", stats.syncs)
            yield _counter(
                "pmbot_quote_updates", "Syncs that sent at least one order call", stats.plans
            )
            c = CounterMetricFamily("pmbot_order_writes", "Venue write calls", labels=["kind"])
            for k, v in sorted(stats.writes.items()):
                c.add_metric([k], v)
            yield c
            c = CounterMetricFamily("pmbot_order_rejects", "Rejected order calls", labels=["code"])
            for k, v in sorted(stats.rejects.items()):
                c.add_metric([k], v)
            yield c
            c = CounterMetricFamily("pmbot_sync_refused", "Syncs refused", labels=["reason"])
            for k, v in sorted(stats.refused.items()):
                c.add_metric([k], v)
            yield c
            yield _gauge("pmbot_reconciled", "Last reconciliation clean (1) or not", om.reconciled)
            yield _gauge("pmbot_halted", "Quoting halted (kill switch / shutdown)", om.halted)
        acct = app.acct
        yield _counter("pmbot_fills", "Our fills", acct.fills)
        yield _counter("pmbot_filled_contracts", "Contracts filled", acct.volume / 100)
        g = GaugeMetricFamily("pmbot_pnl_dollars", "PnL split, dollars", labels=["component"])
        for k, v in acct.split(st, app.fair).items():
            g.add_metric([k], v / 1e6)
        yield g
        g = GaugeMetricFamily("pmbot_position_contracts", "Net YES position", labels=["ticker"])
        for t, p in sorted(st.positions.items()):
            if p.qty:
                g.add_metric([t], p.qty / 100)
        yield g
        venue = app.venue
        if venue is not None:
            http = venue.http
            now = http.clock.monotonic()
            lvl = GaugeMetricFamily(
                "pmbot_api_tokens",
                "Token bucket level (negative: calls waiting)",
                labels=["bucket"],
            )
            cap = GaugeMetricFamily("pmbot_api_tokens_capacity", "Bucket size", labels=["bucket"])
            for name, b in (("read", http.read_bucket), ("write", http.write_bucket)):
                level = min(b.capacity, b.level + max(0.0, now - b.t) * b.rate)
                lvl.add_metric([name], level)
                cap.add_metric([name], b.capacity)
            yield lvl
            yield cap
            yield _counter("pmbot_api_calls", "REST calls sent", http.calls)
            yield _counter("pmbot_api_429", "REST 429 answers retried", http.retries_429)
        g = GaugeMetricFamily("pmbot_connection_up", "Stream connection state", labels=["name"])
        for k, up in sorted(st.connections.items()):
            g.add_metric([k], 1.0 if up else 0.0)
        yield g
        if st.index_level is not None:
            yield _gauge("pmbot_index_level", "Last index level", st.index_level)
            age = (app.clock.now_ns() - st.index_ts_ns) / 1e9
            yield _gauge("pmbot_index_age_seconds", "Age of the last index tick", age)


def _counter(name: str, doc: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, doc, value=value)
