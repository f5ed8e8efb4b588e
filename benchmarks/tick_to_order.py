"""Tick to order: market-data event -> signed order request on the socket, and writes per change.

The real bot (`BotApp`: feed, venue stream, TradingState, fair value, strategy, risk gate,
OrderManager, ledger, signing, aiohttp) runs in this process against `pmbot sim` started as a
separate process on loopback (so the simulator's work does not share our event loop). Both
timestamps are taken in this process with `time.perf_counter_ns`:

* arrival: the event reaches the app's sink (an index tick parsed from the feed's poll, or a
  book delta/snapshot decoded from the WebSocket) - via the app's recorder hook - and the
  sink wakes the quote loop for it: not a delta our own order caused (the venue tags it
  with our client_order_id) nor one that leaves the book's best bid and ask as they were,
  which the sink applies without a decision;
* written: the first `transport.write` of the first signed write request (POST/PUT/DELETE
  on /portfolio/...) of the quote sync that follows, i.e. after planning, the ledger commit
  and RSA-PSS signing, when the request's bytes are handed to the socket. (aiohttp's
  `on_request_headers_sent` signal fires earlier: it buffers the headers and, on Python
  3.11, writes them with the body from a task of its own, after the sender yields. The
  probe wraps aiohttp's `StreamWriter._write/_writelines` for this, benchmark only.)

A sample is the time from the EARLIEST market-data event not yet seen by the strategy to the
first write of the next decision that writes. The quote loop decides, plans and commits the
plan to the ledger in one step, then sends it in a task of its own and goes on deciding (it
does not wait for the venue's answers; later plans leave orders with a call in flight alone).
Samples are split by whether an earlier decision's calls were still in flight when the event
arrived ("behind_sync") or not ("idle"). Decisions that write without a market-data event
since the previous one (a fill pause, min-rest expiring, an answer unfreezing a market, the
write budget refilling) are not samples; an event whose plan was refused (reconciliation
running, rate-limit pause) stays pending for the next one. Work the write budget cannot pay
for at once is deferred, not queued (no call waits for the client-side token bucket); the
count of deferred items is printed. Samples in the first `--warmup` seconds after the first
decision (the start-up ladder, events that queued up during the start-up reconciliation)
are reported apart as `warmup_tick_to_order_max`.

Writes per quote change: a quote change is a (market, side) the sync acted on; write calls
are the signed write HTTP requests of that sync, write ops its order items (a batch counts
once per order, which is what the venue's write budget charges). Baselines computed from the same syncs:
cancel/replace (each changed side: cancel every resting order there + create each desired
level, one call each) and batched cancel/replace (one batch cancel + batch creates per sync).

Speed 1 (real time, as the latency is real time). The simulated start defaults to now when
the NYSE session has more than an hour left, else the next session's open (+5 min): the app
stamps order updates with the market clock, so a simulated clock away from the wall clock
is fine.

The strategy's debounce is set to 0 (`--debounce`) so the figure is the pipeline's, not a
deliberate coalescing delay. Targets (issue 7): p99 <= 2 ms, <= 1.2 writes per quote change.
"""

from __future__ import annotations

import asyncio
import contextvars
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, NamedTuple

sys.path.insert(0, str(Path(__file__).parent))

import aiohttp

from _bench import Reporter, median_ns_per_op, parse_args
from pmbot.core import events as ev

WRITE_METHODS = {"POST", "PUT", "DELETE"}


def _args() -> Any:
    def extra(p: Any) -> None:
        p.add_argument("--duration", type=float, default=60.0, help="seconds of quoting")
        p.add_argument("--seed", type=int, default=3)
        p.add_argument("--debounce", type=float, default=0.0, help="strategy.debounce_s")
        p.add_argument(
            "--start", help="simulated start, ISO UTC (default: now when the NYSE session is open)"
        )
        p.add_argument("--no-rate-limits", action="store_true", help="simulator without limits")
        p.add_argument("--speed", type=float, default=1.0, help="simulator speed (more events)")
        p.add_argument("--requote-tolerance", type=int, help="strategy.requote_tolerance_ticks")
        p.add_argument("--min-rest", type=float, help="strategy.min_rest_s")
        p.add_argument(
            "--burst-wait-ms",
            type=float,
            default=0.25,
            help="bot.burst_wait_ms (a large value: read every burst whole before deciding)",
        )
        p.add_argument(
            "--no-order-lane",
            action="store_true",
            help="send order writes through aiohttp (kalshi.order_lane = false)",
        )
        p.add_argument("--no-presign", action="store_true",
                       help="sign every write on the spot (kalshi.presign = false)")  # fmt: skip
        p.add_argument("--warmup", type=float, default=5.0,
                       help="seconds after the first quote whose samples are reported apart")  # fmt: skip

    return parse_args(__doc__.splitlines()[0], extra)


class _Snap(NamedTuple):
    ticker: str
    side: str
    remaining: int


class _Sync:
    """One sync's sample: the market-data event it answers, and whether it has written yet."""

    __slots__ = ("desired", "done", "event", "plan", "t0", "t_planned", "t_send", "writes")

    def __init__(self, event: tuple[int, str, bool] | None, t0: int) -> None:
        self.event, self.t0, self.writes = event, t0, 0
        self.t_planned = self.t_send = 0
        self.plan: Any = None
        self.desired: Any = ()
        self.done = event is None


_CUR: contextvars.ContextVar[_Sync | None] = contextvars.ContextVar("t2o_sync", default=None)
# the request whose bytes the next transport write carries: set when aiohttp has built its
# headers, seen by aiohttp's body-writer task (created right after, with a copy of the context)
_REQ: contextvars.ContextVar[list[Any] | None] = contextvars.ContextVar("t2o_req", default=None)


class Probe:
    """Plugs into BotApp's recorder slot: sees every event first; wraps the order manager's
    prepare (plan + ledger commit, in the decision's step) and send; traces writes.

    Sends run concurrently (the quote loop does not wait for the venue's answers), so each
    decision's sample travels in a ContextVar: aiohttp's trace callbacks run inside the task
    of the request, which inherits the context of the send task the decision created.
    """

    def __init__(self, warmup_s: float) -> None:
        self.lane: Any = None  # the order lane, when writes use it
        self.warmup_s = warmup_s
        self.t_quote = 0  # perf_counter_ns of the first sync (the quote loop started)
        self.first_write = 0
        self.pending: tuple[int, str, bool] | None = None  # (arrival, kind, sync in flight)
        self.refused_ids: set[int] = set()  # arrival stamps of events that met a refused sync
        self.after_refusal: list[int] = []
        self.idle: list[int] = []  # samples whose event arrived with no sync in flight
        self.busy: list[int] = []  # ... while an earlier sync was still waiting on the venue
        self.in_sync = 0  # syncs with calls in flight
        self.samples: dict[str, list[int]] = {"index": [], "book": []}
        self.warm: list[int] = []  # samples during the warm-up (the start-up ladder)
        self.to_sync: list[int] = []  # arrival -> plan (wake, fair value, strategy, risk)
        self.in_sync_ns: list[int] = []  # plan -> first write (plan, ledger, task, signing, send)
        self.write_kinds: Counter[str] = Counter()
        self.changes = 0
        self.writes = 0
        self.base_cr = 0
        self.base_cr_batched = 0
        self.ops = 0  # write items (a batch counts per order: what the write budget charges)
        self.amends = self.decreases = self.creates = self.cancels = 0
        self.syncs_writing = 0
        self.deferred = 0  # items the write budget / batch cap left for a later pass
        self.syncs_deferring = 0
        self.kept = self.frozen = self.plans = 0  # over every sync the OM planned
        self.rtt: list[int] = []
        # plan -> first write, in parts: prepare (plan + ledger commit), the send task starting,
        # the send (port, request build, token bucket, RSA-PSS signing, aiohttp)
        self.parts: dict[str, list[int]] = {
            "plan_commit": [],
            "task_start": [],
            "send_to_write": [],
        }

    # recorder slot
    def on_event(self, e: object) -> None:
        self.arrived = None
        if self.pending is None:
            if isinstance(e, ev.IndexTick):
                self.arrived = (time.perf_counter_ns(), "index", self.in_sync > 0)
            elif isinstance(e, (ev.BookSnapshot, ev.BookDelta)):
                self.arrived = (time.perf_counter_ns(), "book", self.in_sync > 0)

    arrived: tuple[int, str, bool] | None = None

    def _wrap_wake(self, app: Any) -> None:
        """An event is a sample's start only if the sink wakes the quote loop for it (not our
        own order's echo, not a change below a book's best prices): the sink sets the wake
        event right after the recorder slot has seen the same event."""
        wake = app._wake
        set_ = wake.set
        sink_code = type(app).sink.__code__

        def set_probe() -> None:
            if self.arrived is not None and sys._getframe(1).f_code is sink_code:
                if self.pending is None:
                    self.pending = self.arrived
                self.arrived = None
            set_()

        wake.set = set_probe  # benchmark-only: an instance attribute over the method

    async def attach(self, app: Any) -> None:
        self.app = app
        self._wrap_wake(app)
        http = app.venue.http
        self.lane = http.lane  # kept for its counts (the client drops it when it closes)
        if http.lane is None:  # --no-order-lane: writes go through aiohttp
            tc = aiohttp.TraceConfig()
            tc.on_request_headers_sent.append(self._sent)
            tc.freeze()
            session = http._session  # benchmark-only: add a trace to the live session
            session._trace_configs.append(tc)
            self._wrap_writer()
        else:
            self._wrap_lane(http.lane)
        send_once = http._send_once

        async def send_once_probe(req: Any) -> Any:  # a write's round trip
            t0 = time.perf_counter_ns()
            out = await send_once(req)
            if req.write:
                self.rtt.append(time.perf_counter_ns() - t0)
            return out

        http._send_once = send_once_probe
        om = app.om
        prepare, send = om.prepare, om.send

        def prepare_probe(desired: Any, *, tickers: Any = None) -> Any:
            rec = _Sync(self.pending, time.perf_counter_ns())
            self.pending = None
            if not self.t_quote:
                self.t_quote = rec.t0
            _CUR.set(rec)  # copied into the context of the send task created next
            p = prepare(desired, tickers=tickers)
            rec.t_planned = time.perf_counter_ns()
            if p is None and rec.event is not None:
                # refused (reconciling, rate-limit pause): the event still waits for an order
                if self.pending is None or rec.event[0] < self.pending[0]:
                    self.pending = rec.event
                self.refused_ids.add(rec.event[0])
            if p is not None:
                self.kept += p.kept
                self.frozen += len(p.frozen)
                self.plans += 1
                self.deferred += p.deferred
                self.syncs_deferring += p.deferred > 0
            if p:
                rec.plan, rec.desired = p, desired
            return p

        async def send_probe(p: Any) -> Any:
            rec = _CUR.get()
            if rec is not None:
                rec.t_send = time.perf_counter_ns()
            self.in_sync += 1
            try:
                return await send(p)
            finally:
                self.in_sync -= 1
                if rec is not None and rec.plan is p:
                    self._count(p, list(rec.desired), self._before(p))

        om.prepare, om.send = prepare_probe, send_probe

    async def aclose(self) -> None:
        pass

    def _before(self, p: Any) -> dict[str, _Snap]:
        """Our live orders as they were before plan `p`, rebuilt after its answers (nothing
        of the probe's runs between the decision and its calls): the ones live now minus
        the plan's creates, plus the ones the plan cancelled (they rested until then)."""
        new = {c.client_order_id for c in p.creates}
        gone = {c.client_order_id for c in p.cancels}
        out = {}
        for o in self.app.state.orders.values():
            cid = o.client_order_id
            if cid in gone or (o.is_live and cid not in new):
                out[cid] = _Snap(o.ticker, _sv(o.side), max(o.remaining, cid in gone))
        return out

    def _count(self, p: Any, desired: list[Any], live: dict[str, Any]) -> None:
        keys = {(a.ticker, _sv(a.side)) for a in p.amends}
        keys |= {(c.ticker, _sv(c.side)) for c in p.creates}
        for d in p.decreases:
            o = live.get(d.client_order_id)
            if o is not None:
                keys.add((o.ticker, o.side))
        for c in p.cancels:
            o = live.get(c.client_order_id)
            if o is not None:
                keys.add((o.ticker, o.side))
        if not keys:
            return
        cancels = creates = 0
        for t, s in keys:
            cancels += sum(
                1 for o in live.values() if o.ticker == t and o.side == s and o.remaining > 0
            )
            creates += len({d.price for d in desired if d.ticker == t and _sv(d.side) == s})
        self.syncs_writing += 1
        self.ops += len(p.amends) + len(p.decreases) + len(p.creates) + len(p.cancels)
        self.amends += len(p.amends)
        self.decreases += len(p.decreases)
        self.creates += len(p.creates)
        self.cancels += len(p.cancels)
        self.changes += len(keys)
        self.base_cr += cancels + creates
        self.base_cr_batched += (1 if cancels else 0) + math.ceil(creates / 20)

    def _wrap_lane(self, lane: Any) -> None:
        """Time each order-lane request's one transport write (taken before the call)."""
        put = lane._put

        def _put(conn: Any, data: bytes) -> None:
            now = time.perf_counter_ns()
            put(conn, data)
            method, target = data[: data.index(b" HTTP/1.1")].decode().split(" ", 1)
            self._written(now, method, target)

        lane._put = _put

    def _wrap_writer(self) -> None:
        """Time the first transport write of each request (aiohttp's StreamWriter)."""
        from aiohttp.http_writer import StreamWriter

        def first(req: list[Any] | None, now: int) -> None:
            if req is not None and not req[1]:
                req[1] = True
                self._written(now, req[0].method, req[0].url.path)

        write, writelines = StreamWriter._write, StreamWriter._writelines

        # the time the bytes are handed to the kernel (taken before the call: on loopback the
        # send syscall also runs the receiver's side and may let the simulator take the CPU)
        def _write(w: Any, chunk: Any) -> None:
            now = time.perf_counter_ns()
            write(w, chunk)
            first(_REQ.get(), now)

        def _writelines(w: Any, chunks: Any) -> None:
            now = time.perf_counter_ns()
            writelines(w, chunks)
            first(_REQ.get(), now)

        StreamWriter._write, StreamWriter._writelines = _write, _writelines  # type: ignore[method-assign]

    async def _sent(self, session: Any, ctx: Any, params: Any) -> None:
        # headers built, not yet written: the next transport write in this context is ours
        _REQ.set([params, False])

    def _written(self, now: int, method: str, path: str) -> None:
        rec = _CUR.get()
        if method not in WRITE_METHODS or "/portfolio/" not in path or rec is None:
            return
        rec.writes += 1
        self.writes += 1
        if not self.first_write:
            self.first_write = now
        parts = path.split("?", 1)[0].split("/portfolio/", 1)[-1].split("/")
        what = "/".join(p if len(p) < 30 else ":id" for p in parts)
        self.write_kinds[f"{method} {what}"] += 1
        if rec.done or rec.event is None:
            return
        rec.done = True
        arrival, kind, busy = rec.event
        lat = now - arrival
        if arrival < self.t_quote + self.warmup_s * 1e9:
            self.warm.append(lat)  # the start-up ladder: reported apart
            return
        self.samples[kind].append(lat)
        if arrival in self.refused_ids:
            self.after_refusal.append(lat)
        else:
            (self.busy if busy else self.idle).append(lat)
        self.to_sync.append(rec.t0 - arrival)
        self.in_sync_ns.append(now - rec.t0)
        if rec.t_send:
            self.parts["plan_commit"].append(rec.t_planned - rec.t0)
            self.parts["task_start"].append(rec.t_send - rec.t_planned)
            self.parts["send_to_write"].append(now - rec.t_send)


def _sv(side: Any) -> str:
    return str(getattr(side, "value", side))


def _pct(xs: list[int], q: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, math.ceil(q * len(s)) - 1))] / 1e3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def main() -> int:
    args = _args()
    from pmbot.app import BotApp, RunOptions
    from pmbot.settings import Secrets, load_settings

    tmp = Path(tempfile.mkdtemp(prefix="pmbot-t2o-"))
    if args.start is None:
        from datetime import UTC, datetime

        from pmbot.app import _sim_start_ns

        start_ns = _sim_start_ns(None) or time.time_ns()
        args.start = datetime.fromtimestamp(start_ns / 1e9, tz=UTC).isoformat()
    port = _free_port()
    cmd = [sys.executable, "-m", "pmbot.cli", "sim", "--port", str(port), "--keys",
           str(tmp / "keys"), "--seed", str(args.seed), "--start", args.start, "--speed", str(args.speed)]  # fmt: skip
    if args.no_rate_limits:
        cmd.append("--no-rate-limits")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        rest = ws = ""
        assert proc.stdout is not None
        for _ in range(20):
            line = proc.stdout.readline()
            if line.startswith("ready"):
                kv = dict(x.split("=", 1) for x in line.split()[1:])
                rest, ws = kv["rest"], kv["ws"]
                break
        if not rest:
            print("simulator did not start", file=sys.stderr)
            return 1
        s = load_settings(
            None,
            environ={},
            overrides={
                "kalshi": {"env": "sim", "rest_url": rest, "ws_url": ws,
                           "key_file_dir": str(tmp / "keys"), "presign": not args.no_presign,
                           "order_lane": not args.no_order_lane},
                "ledger": {"path": str(tmp / "ledger.sqlite3")},
                "logging": {"file": str(tmp / "trading.log"), "console": False},
                "bot": {"dashboard": False, "burst_wait_ms": args.burst_wait_ms},
                "strategy": {"debounce_s": args.debounce}
                | ({} if args.requote_tolerance is None
                   else {"requote_tolerance_ticks": args.requote_tolerance})
                | ({} if args.min_rest is None else {"min_rest_s": args.min_rest}),
            },
        )  # fmt: skip
        from pmbot.logs import setup_logging

        setup_logging(str(tmp / "trading.log"), "WARNING", console=False)
        probe = Probe(args.warmup)
        app = BotApp(
            s,
            Secrets(os.environ),
            RunOptions(duration_s=args.duration, dashboard=False, install_signal_handlers=False),
            recorder=probe,
        )
        res = await app.run()
    finally:
        proc.terminate()
        proc.wait(10)
    rep = Reporter(args.json)
    both = probe.samples["index"] + probe.samples["book"]
    for name, xs in (("all", both), ("index_tick", probe.samples["index"]),
                     ("book_delta", probe.samples["book"])):  # fmt: skip
        if not xs:
            continue
        rep.figure(f"tick_to_order_{name}_p50", _pct(xs, 0.5), "us", "target_p99", 2000.0)
        rep.figure(f"tick_to_order_{name}_p99", _pct(xs, 0.99), "us", "target_p99", 2000.0)
        if name == "all":
            for q in (0.9, 0.95, 1.0):
                rep.figure(f"tick_to_order_all_{'max' if q == 1.0 else f'p{round(q * 100)}'}",
                           _pct(xs, q), "us")  # fmt: skip
    for name, xs in (
        ("idle", probe.idle),
        ("behind_sync", probe.busy),
        ("after_refused_sync", probe.after_refusal),
    ):
        if xs:
            rep.figure(f"tick_to_order_{name}_p50", _pct(xs, 0.5), "us")
            rep.figure(f"tick_to_order_{name}_p99", _pct(xs, 0.99), "us")
    if probe.to_sync:
        rep.figure("event_to_sync_p50", _pct(probe.to_sync, 0.5), "us")
        rep.figure("event_to_sync_p99", _pct(probe.to_sync, 0.99), "us")
        rep.figure("sync_to_write_p50", _pct(probe.in_sync_ns, 0.5), "us")
        rep.figure("sync_to_write_p99", _pct(probe.in_sync_ns, 0.99), "us")
        for part, xs in probe.parts.items():
            if xs:
                rep.figure(f"{part}_p50", _pct(xs, 0.5), "us")
                rep.figure(f"{part}_p99", _pct(xs, 0.99), "us")
    ls = app.loop_stats
    if ls.count:
        rep.figure("decision_p50", ls.percentile_us(0.5) or 0.0, "us")
        rep.figure("decision_p99", ls.percentile_us(0.99) or 0.0, "us")
    if probe.warm:
        rep.figure("warmup_tick_to_order_max", max(probe.warm) / 1e3, "us")
    if probe.first_write and probe.t_quote:
        rep.figure("first_quote_to_first_write", (probe.first_write - probe.t_quote) / 1e3, "us")
    signer = app.venue.http.signer if app.venue is not None else None
    if signer is not None:
        sign_us = median_ns_per_op(
            lambda: signer.sign(1_700_000_000_000, "POST", "/trade-api/v2/portfolio/orders"), 1,
            3, 0.1,
        ) / 1e3  # fmt: skip
        rep.figure("rsa_pss_sign", sign_us, "us")
    if probe.rtt:
        rep.figure("order_write_round_trip_p50", _pct(probe.rtt, 0.5), "us")
    if probe.changes:
        n = probe.changes
        rep.figure("write_ops_per_quote_change", probe.ops / n, "ops", "cancel_replace",
                   probe.base_cr / n)  # fmt: skip
        rep.figure("write_calls_per_quote_change", probe.writes / n, "calls", "cancel_replace",
                   probe.base_cr / n)  # fmt: skip
        rep.figure("write_calls_per_quote_change", probe.writes / n, "calls",
                   "cancel_replace_batched", probe.base_cr_batched / n)  # fmt: skip
    if not args.json:
        print(
            f"samples: index={len(probe.samples['index'])} book={len(probe.samples['book'])} "
            f"idle={len(probe.idle)} behind_sync={len(probe.busy)} "
            f"after_refused_sync={len(probe.after_refusal)} "
            f"syncs_writing={probe.syncs_writing} quote_changes={probe.changes} "
            f"writes={probe.writes} fills={res.summary.get('fills')} "
            f"mean_all={statistics.fmean(both) / 1e3 if both else float('nan'):.0f}us"
        )
        print(f"write calls by kind: {dict(probe.write_kinds)}")
        print(
            f"plan items: amends={probe.amends} decreases={probe.decreases} "
            f"creates={probe.creates} cancels={probe.cancels}; over {probe.plans} planned syncs: "
            f"kept={probe.kept} frozen_groups={probe.frozen}; deferred items={probe.deferred} "
            f"in {probe.syncs_deferring} syncs (write budget / batch cap: planned again later)"
        )
        print(f"warm-up samples (first {args.warmup:g} s, not above): {len(probe.warm)}; "
              f"decisions: {ls.count}")  # fmt: skip
        print(f"order manager writes: {res.summary.get('orders')}")
        pool = app.venue.http.presign if app.venue is not None else None
        if pool is not None:
            print(
                f"presigned signatures: hits={pool.hits} misses={pool.misses} "
                f"expired={pool.expired} signed={pool.signed} (worker thread) on={pool.enabled}"
            )
        lane = probe.lane
        if lane is not None:
            print(f"order lane: requests={lane.requests} connections opened={lane.connects}")
        st = app.om.stats if app.om is not None else None
        if st is not None:
            print(f"rejects: {dict(st.rejects)} refused syncs: {dict(st.refused)}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
